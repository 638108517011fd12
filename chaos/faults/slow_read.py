"""``slow_read``: request a large response through a tiny receive window, then read slowly or never.

Records when the server gives up. A client that never reads cannot see EOF through ``recv``, so
the kernel's TCP state is polled (Linux TCP_INFO) to stamp the server's FIN or RST; and a
server that closes with its answer unsent has its FIN stuck behind it, so its own socket is
asked for (a server on this host). Once that has closed, the client reads what the kernel
still holds, to learn whether the whole answer had been written (``got_response``).
"""

from __future__ import annotations

from dataclasses import dataclass

import trio

from ..engine.exchange import Pace, at_once, exchange
from ..engine.session import Session
from ..engine.slot import Slot
from ..params import HoldParams, option
from ..protocols.http_messages import ResponseReader, request
from .base import Deadline, Fault, Traits, one_client

__all__ = [
    "DEFAULT_POLL",
    "DEFAULT_RCVBUF",
    "DEFAULT_READ_INTERVAL",
    "DEFAULT_READ_SIZE",
    "FAULT",
    "SlowReadParams",
    "drive",
    "slow_read",
]

# Near Linux's floor for SO_RCVBUF (the kernel doubles it and enforces a minimum of ~2.3 KB).
DEFAULT_RCVBUF = 4096
# A few hundred bytes a tenth of a second: kilobytes per second, far below any sane server rate.
DEFAULT_READ_SIZE = 256
DEFAULT_READ_INTERVAL = 0.1
# How often the TCP state is checked: the precision of the "server gave up" stamp.
DEFAULT_POLL = 0.01
# Most seconds spent reading, after the server's socket closed, what its kernel still holds:
# at most its send buffer and our receive buffer (a few MiB on loopback), read in milliseconds.
DRAIN_TIME = 1.0


@dataclass(frozen=True, kw_only=True)
class SlowReadParams(HoldParams):
    """A client that asks for a lot and drinks it through a straw."""

    method: str = option("GET", "request method")
    path: str = option("/", "request target; point it at a large response")
    rcvbuf: int = option(DEFAULT_RCVBUF, "SO_RCVBUF set before connecting", above=0)
    read_size: int = option(DEFAULT_READ_SIZE, "bytes per read", above=0)
    read_interval: float = option(DEFAULT_READ_INTERVAL, "seconds between reads", above=0)
    never_read: bool = option(False, "never read at all")
    poll: float = option(DEFAULT_POLL, "seconds between TCP state checks", above=0)


async def drive(slot: Slot, params: SlowReadParams) -> None:
    """Send the request, then read slowly (or not) while watching the TCP state."""
    session = slot.session(rcvbuf=params.rcvbuf)
    if not await session.connect(params.connect_timeout):
        return
    reader = ResponseReader(method=params.method)
    write = at_once(session, [request(slot.host, method=params.method, path=params.path)])
    pace = None if params.never_read else Pace(size=params.read_size, interval=params.read_interval)
    await exchange(
        session, hold=params.hold, write=write, on_data=reader.feed, pace=pace, watch=params.poll
    )
    if session.server_closed is not None and session.reset is None:
        await _drain(session, reader)
    session.status = reader.status
    session.detail.update(reader.summary(), never_read=params.never_read)


async def _drain(session: Session, reader: ResponseReader) -> None:
    """Read the rest of an answer the server closed on, up to its FIN (or DRAIN_TIME)."""
    with trio.move_on_after(DRAIN_TIME):
        while True:
            data = await session.recv()
            if reader.feed(data) or not data:
                return


FAULT = Fault(
    kind="slow_read",
    params=SlowReadParams,
    drive=drive,
    summary=__doc__,
    traits=Traits(cut_by=Deadline.WRITE),
)


slow_read = one_client(FAULT)
