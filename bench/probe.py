"""A probe: one fresh connection, one `GET /`, the time until the whole 2xx answer arrived."""

from __future__ import annotations

import math
import socket
import time
from collections.abc import Sequence

from .raw_http import REQUEST_CLOSE, response_end, status_of

__all__ = ["probe", "probes"]


def probe(address: tuple[str, int], timeout: float) -> float:
    """Seconds for a full 2xx response on a new connection; `inf` if refused, late or not 2xx."""
    began = time.monotonic()
    deadline = began + timeout
    try:
        with socket.create_connection(address, timeout=timeout) as sock:
            sock.sendall(REQUEST_CLOSE)
            data = b""
            while response_end(data) is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return math.inf
                sock.settimeout(left)
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
    except OSError:
        return math.inf
    status = status_of(data)
    if status is None or not 200 <= status < 300 or response_end(data) is None:
        return math.inf
    return time.monotonic() - began


def probes(
    addresses: Sequence[tuple[str, int]], count: int, timeout: float, budget: float
) -> list[list[float]]:
    """Up to `count` rounds of one probe to each of `addresses` in turn, stopping once `budget`
    seconds are spent; one list of results per address. Servers probed in turn meet the same
    moments of a shared machine, so one's tail can be read against the other's."""
    deadline = time.monotonic() + budget
    results: list[list[float]] = [[] for _ in addresses]
    while len(results[0]) < count and time.monotonic() < deadline:
        for address, mine in zip(addresses, results, strict=True):
            mine.append(probe(address, min(timeout, max(0.05, deadline - time.monotonic()))))
            time.sleep(0.005)
    return results
