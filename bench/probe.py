"""A probe: one fresh connection, one `GET /`, the time until the whole 2xx answer arrived."""

from __future__ import annotations

import math
import socket
import time

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


def probes(address: tuple[str, int], count: int, timeout: float, budget: float) -> list[float]:
    """Up to `count` probes one after another, stopping once `budget` seconds are spent."""
    deadline = time.monotonic() + budget
    results: list[float] = []
    while len(results) < count and time.monotonic() < deadline:
        results.append(probe(address, min(timeout, max(0.05, deadline - time.monotonic()))))
        time.sleep(0.005)
    return results
