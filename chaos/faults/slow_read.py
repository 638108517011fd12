"""``slow_read``: request a large response through a tiny receive window, then read slowly or never.

Records when the server gives up. A client that never reads cannot see EOF through ``recv``, so
the kernel's TCP state is polled (Linux TCP_INFO) to stamp the server's FIN or RST.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import trio

from ..engine.slot import Slot
from ..params import HoldParams, option
from ..record import ClientRecord, Outcome
from ..target import Target
from .base import Deadline, Fault, Traits, run_slot
from .http_messages import ResponseReader, request

# Near Linux's floor for SO_RCVBUF (the kernel doubles it and enforces a minimum of ~2.3 KB).
DEFAULT_RCVBUF = 4096
# A few hundred bytes a tenth of a second: kilobytes per second, far below any sane server rate.
DEFAULT_READ_SIZE = 256
DEFAULT_READ_INTERVAL = 0.1
# How often the TCP state is checked: the precision of the "server gave up" stamp.
DEFAULT_POLL = 0.01


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
    if not await session.send_all(request(slot.host, method=params.method, path=params.path)):
        return
    reader = ResponseReader(method=params.method)

    async def watch(scope: trio.CancelScope) -> None:
        while True:
            session.check_peer()
            if session.reset is not None or (params.never_read and session.server_eof):
                break
            await trio.sleep(params.poll)
        scope.cancel()

    async def read_slowly(scope: trio.CancelScope) -> None:
        while True:
            await trio.sleep(params.read_interval)
            data = await session.recv(params.read_size)
            if session.reset is None and reader.feed(data):
                session.decide(Outcome.COMPLETED)
                break
            if not data:
                break
        scope.cancel()

    remaining = max(0.0, session.connected + params.hold - time.monotonic())
    with trio.move_on_after(remaining) as hold_scope:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(watch, nursery.cancel_scope)
            if not params.never_read:
                nursery.start_soon(read_slowly, nursery.cancel_scope)
    if hold_scope.cancelled_caught:
        session.decide(Outcome.HELD_TO_END)
    session.status = reader.status
    session.detail.update(reader.summary(), never_read=params.never_read)


FAULT = Fault(
    kind="slow_read",
    params=SlowReadParams,
    drive=drive,
    summary=__doc__,
    traits=Traits(cut_by=Deadline.WRITE),
)


async def slow_read(
    target: Target | str, *, index: int = 0, seed: int = 0, **params: Any
) -> ClientRecord:
    """Read a large response slowly; see :class:`SlowReadParams` for ``params``."""
    (record,) = await run_slot(
        FAULT, SlowReadParams.from_dict(params), target, index=index, seed=seed
    )
    return record
