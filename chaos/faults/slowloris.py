"""``slowloris``: a valid request line, then header lines trickled until ``hold``, never ending.

Its clients run in one epoll loop (a swarm): the head at once, then a seeded line per
interval, while what the server answers is read as HTTP.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from ..engine.payload import letters
from ..engine.swarm import Script
from ..jsondata import Scalar
from ..params import HoldParams, option
from ..protocols.http_messages import ResponseReader, request_head
from .base import Deadline, Fault, Traits, one_client

__all__ = ["DEFAULT_INTERVAL", "FAULT", "SlowlorisParams", "header_lines", "script", "slowloris"]

# Classic slowloris sends a header line every few seconds, under most per-read timeouts.
DEFAULT_INTERVAL = 1.0


@dataclass(frozen=True, kw_only=True)
class SlowlorisParams(HoldParams):
    """Headers that never finish: the blank line ending them is never sent."""

    method: str = option("GET", "request method")
    path: str = option("/", "request target")
    interval: float = option(DEFAULT_INTERVAL, "seconds between header lines", minimum=0)


def header_lines(rng: random.Random, host: str, params: SlowlorisParams) -> Iterator[bytes]:
    """The head without its final CRLF, then endless non-empty ``X-..: ..`` lines."""
    _, head = request_head(host, method=params.method, path=params.path)
    yield head[:-2]
    while True:
        name = letters(rng, rng.randint(1, 8)).decode()
        yield f"X-{name}: {rng.randrange(10**9)}\r\n".encode()


class _Answer(ResponseReader):
    """The one response a trickled head may get (an error, a timeout's 408): each line sent
    after the head is more of the same request, not a new one to answer."""

    def sent(self) -> None:
        pass


def _lines_sent(chunks: int) -> dict[str, Scalar]:
    """Header lines sent after the head."""
    return {"header_lines": max(0, chunks - 1)}


def script(params: SlowlorisParams) -> Script:
    """Send the request line and headers, then one more header line per interval."""
    return Script(
        connect_timeout=params.connect_timeout,
        hold=params.hold,
        chunks=lambda rng, host: header_lines(rng, host, params),
        interval=params.interval,
        listen=lambda _heard: _Answer(method=params.method),
        tally=_lines_sent,
    )


FAULT = Fault(
    kind="slowloris",
    params=SlowlorisParams,
    script=script,
    summary=__doc__,
    traits=Traits(cut_by=Deadline.REQUEST, holds=True),
)


slowloris = one_client(FAULT)
