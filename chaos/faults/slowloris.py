"""``slowloris``: a valid request line, then header lines trickled until ``hold``, never ending."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..engine.exchange import trickle
from ..engine.payload import letters
from ..engine.slot import Slot
from ..params import HoldParams, option
from ..protocols.http_messages import request_head
from .base import Deadline, Fault, Traits, one_client
from .http_exchange import exchange_reading_http

__all__ = ["DEFAULT_INTERVAL", "FAULT", "HeaderLines", "SlowlorisParams", "drive", "slowloris"]

# Classic slowloris sends a header line every few seconds, under most per-read timeouts.
DEFAULT_INTERVAL = 1.0


@dataclass(frozen=True, kw_only=True)
class SlowlorisParams(HoldParams):
    """Headers that never finish: the blank line ending them is never sent."""

    method: str = option("GET", "request method")
    path: str = option("/", "request target")
    interval: float = option(DEFAULT_INTERVAL, "seconds between header lines", minimum=0)


class HeaderLines:
    """The head without its final CRLF, then endless non-empty ``X-..: ..`` lines."""

    def __init__(self, slot: Slot, head: bytes) -> None:
        self._slot = slot
        self._head = head
        self.count = 0  # header lines made so far, past the head

    def __iter__(self) -> Iterator[bytes]:
        rng = self._slot.rng
        yield self._head[:-2]
        while True:
            name = letters(rng, rng.randint(1, 8)).decode()
            self.count += 1
            yield f"X-{name}: {rng.randrange(10**9)}\r\n".encode()


async def drive(slot: Slot, params: SlowlorisParams) -> None:
    """Send the request line and headers, then one more header line per interval."""
    _, head = request_head(slot.host, method=params.method, path=params.path)
    session = slot.session()
    if not await session.connect(params.connect_timeout):
        return
    lines = HeaderLines(slot, head)
    writer = trickle(session, lines, params.interval)
    await exchange_reading_http(session, hold=params.hold, write=writer, method=params.method)
    session.detail["header_lines"] = lines.count


FAULT = Fault(
    kind="slowloris",
    params=SlowlorisParams,
    drive=drive,
    summary=__doc__,
    traits=Traits(cut_by=Deadline.REQUEST, holds=True),
)


slowloris = one_client(FAULT)
