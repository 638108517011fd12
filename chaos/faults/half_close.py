"""``half_close``: send our FIN (SHUT_WR) before or right after a request, and keep reading.

The request is HTTP unless ``send`` gives another protocol's.

Records whether a response still arrives after the half-close and when the server closes.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..engine.slot import Slot
from ..params import HoldParams, option
from ..protocols import escaped
from ..protocols.http_messages import request
from .base import Fault, Traits, one_client
from .http_exchange import exchange_reading_http

__all__ = ["FAULT", "WHEN", "HalfCloseParams", "drive", "half_close"]

WHEN = ("before", "after")


@dataclass(frozen=True, kw_only=True)
class HalfCloseParams(HoldParams):
    """``before``: FIN with no request at all; ``after``: a complete request, then FIN."""

    when: str = option("after", "half-close before the request or after it", choices=WHEN)
    method: str = option("GET", "request method")
    path: str = option("/", "request target")
    send: str = option(
        "", "send this instead of an HTTP request (latin-1; \\r\\n escapes read)", parse=escaped
    )


async def drive(slot: Slot, params: HalfCloseParams) -> None:
    """Half-close, then read until the server closes or ``hold`` runs out."""
    session = slot.session()
    if not await session.connect(params.connect_timeout):
        return

    async def write() -> bool:
        if params.when == "after":
            data = params.send.encode("latin-1") if params.send else b""
            data = data or request(slot.host, method=params.method, path=params.path)
            if not await session.send_all(data):
                return False
        return session.shutdown_write()

    await exchange_reading_http(session, hold=params.hold, write=write, method=params.method)
    session.detail["when"] = params.when


FAULT = Fault(
    kind="half_close",
    params=HalfCloseParams,
    drive=drive,
    summary=__doc__,
    traits=Traits(holds=True, hostile=True, half_closes=True),
)


half_close = one_client(FAULT)
