"""``oversized``: a well-formed HTTP request with one part past a size limit.

The oversized part is the request line, one header, many headers, or the body.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import h11

from ..engine.exchange import at_once
from ..engine.payload import letters
from ..engine.slot import Slot
from ..params import HoldParams, option
from ..protocols.http_messages import request_head
from .base import Fault, Traits, one_client
from .http_exchange import exchange_reading_http

__all__ = [
    "BODY_CHUNK",
    "DEFAULT_SIZE",
    "FAULT",
    "HEADER_LINE",
    "PARTS",
    "OversizedParams",
    "drive",
    "oversized",
    "request_pieces",
]

PARTS = ("line", "header", "headers", "body")
# Eight times the 8 KiB header limit common to nginx, Apache and most Python servers.
DEFAULT_SIZE = 65536
# Body bytes per send: one loopback segment.
BODY_CHUNK = 65536
# Bytes one generated header takes on the wire: "X-Chaos-00000: abcdef\r\n" is 23.
HEADER_LINE = 23


@dataclass(frozen=True, kw_only=True)
class OversizedParams(HoldParams):
    """A request the server should refuse with 413/414/431 (or close), not buffer."""

    part: str = option("header", "which part is oversized", choices=PARTS)
    size: int = option(DEFAULT_SIZE, "approximate size of the oversized part in bytes", above=0)
    method: str = option("GET", "request method (the body part sends one regardless)")
    path: str = option("/", "request target")


def request_pieces(slot: Slot, params: OversizedParams) -> Iterator[bytes]:
    """The oversized request, built by h11, in sendable pieces."""
    path, headers, length = params.path, [], None
    if params.part == "line":
        path = f"{params.path}?{letters(slot.rng, params.size).decode()}"
    elif params.part == "header":
        headers = [("X-Oversized", letters(slot.rng, params.size).decode())]
    elif params.part == "headers":
        count = max(1, params.size // HEADER_LINE)
        headers = [(f"X-Chaos-{i:05d}", letters(slot.rng, 6).decode()) for i in range(count)]
    else:
        length = params.size
    conn, head = request_head(
        slot.host, method=params.method, path=path, headers=headers, content_length=length
    )
    yield head
    for offset in range(0, length or 0, BODY_CHUNK):
        size = min(BODY_CHUNK, params.size - offset)
        yield conn.send(h11.Data(data=letters(slot.rng, size)))
    if length is None:
        yield conn.send(h11.EndOfMessage())


async def drive(slot: Slot, params: OversizedParams) -> None:
    """Send the request as fast as the server takes it and read its answer."""
    session = slot.session()
    if not await session.connect(params.connect_timeout):
        return
    writer = at_once(session, request_pieces(slot, params))
    await exchange_reading_http(session, hold=params.hold, write=writer, method=params.method)
    session.detail["part"] = params.part


FAULT = Fault(
    kind="oversized",
    params=OversizedParams,
    drive=drive,
    summary=__doc__,
    traits=Traits(hostile=True),
)


oversized = one_client(FAULT)
