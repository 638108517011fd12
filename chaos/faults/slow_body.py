"""``slow_body``: complete headers announcing a large Content-Length, then the body trickled."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import h11

from ..engine.exchange import trickle
from ..engine.payload import letters
from ..engine.slot import Slot
from ..params import HoldParams, option
from ..protocols.http_messages import request_head
from .base import Deadline, Fault, Traits, one_client
from .http_exchange import exchange_reading_http

__all__ = [
    "DEFAULT_CONTENT_LENGTH",
    "DEFAULT_INTERVAL",
    "FAULT",
    "SlowBodyParams",
    "body_pieces",
    "drive",
    "slow_body",
]

# A megabyte announced: larger than any body a trickle finishes within a server's timeout.
DEFAULT_CONTENT_LENGTH = 1_000_000
# Ten chunks a second, as for slow_send.
DEFAULT_INTERVAL = 0.1


@dataclass(frozen=True, kw_only=True)
class SlowBodyParams(HoldParams):
    """An upload that crawls: tests body read timeouts rather than header timeouts."""

    method: str = option("POST", "request method")
    path: str = option("/", "request target")
    content_length: int = option(DEFAULT_CONTENT_LENGTH, "announced body size", above=0)
    chunk: int = option(1, "body bytes per send", above=0)
    interval: float = option(DEFAULT_INTERVAL, "seconds between body sends", minimum=0)


def body_pieces(slot: Slot, params: SlowBodyParams) -> Iterator[bytes]:
    """The head at once, then the body framed by h11 in ``chunk``-byte pieces."""
    conn, head = request_head(
        slot.host, method=params.method, path=params.path, content_length=params.content_length
    )
    yield head
    for offset in range(0, params.content_length, params.chunk):
        size = min(params.chunk, params.content_length - offset)
        yield conn.send(h11.Data(data=letters(slot.rng, size)))
    conn.send(h11.EndOfMessage())


async def drive(slot: Slot, params: SlowBodyParams) -> None:
    """Send the head, trickle the body, and read any response meanwhile."""
    session = slot.session()
    if not await session.connect(params.connect_timeout):
        return
    writer = trickle(session, body_pieces(slot, params), params.interval)
    await exchange_reading_http(session, hold=params.hold, write=writer, method=params.method)


FAULT = Fault(
    kind="slow_body",
    params=SlowBodyParams,
    drive=drive,
    summary=__doc__,
    traits=Traits(cut_by=Deadline.REQUEST),
)


slow_body = one_client(FAULT)
