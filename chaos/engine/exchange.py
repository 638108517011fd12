"""The shape every fault shares: write on a schedule while reading, until one side ends it.

Reading runs the whole time, so a server that closes or resets mid-trickle is noticed at once
and the writer is cancelled, rather than discovered at the next send. A slow reader reads on a
:class:`Pace` (or not at all) and has the kernel's TCP state watched for the server's FIN or
RST, which a client that does not read cannot see through ``recv``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import trio

from ..record import Outcome
from .session import RECV_SIZE, Session

__all__ = ["AT_ONCE", "OnData", "Pace", "Writer", "at_once", "exchange", "listen_only", "trickle"]

Writer = Callable[[], Awaitable[bool]]
OnData = Callable[[bytes], bool]


@dataclass(frozen=True, kw_only=True)
class Pace:
    """How a reader reads: ``size`` bytes at a time, waiting ``interval`` s before each read."""

    size: int = RECV_SIZE
    interval: float = 0.0


# Read as fast as the server sends.
AT_ONCE = Pace()


async def _read(
    session: Session, on_data: OnData | None, pace: Pace, scope: trio.CancelScope
) -> None:
    while True:
        if pace.interval:
            await trio.sleep(pace.interval)
        data = await session.recv(pace.size)
        if on_data is not None and session.reset is None and on_data(data):
            session.decide(Outcome.COMPLETED)
            break
        if not data:
            break
    scope.cancel()


async def _watch(session: Session, every: float, reading: bool, scope: trio.CancelScope) -> None:
    """Poll the TCP state until the server resets, or (not reading) closes: its FIN, or its
    socket seen closed behind the bytes we have not read."""
    while True:
        session.check_peer()
        if session.reset is not None:
            break
        if not reading and (session.server_eof is not None or session.server_closed is not None):
            break
        await trio.sleep(every)
    scope.cancel()


async def exchange(
    session: Session,
    *,
    hold: float,
    write: Writer | None = None,
    on_data: OnData | None = None,
    pace: Pace | None = AT_ONCE,
    watch: float | None = None,
) -> None:
    """Run ``write`` while reading until the server ends, ``on_data`` says done, or ``hold``.

    ``hold`` counts from the moment this client saw the connection open. ``on_data`` gets
    every chunk and ``b""`` at EOF; returning True ends the exchange as ``completed``. ``pace``
    None never reads; ``watch`` polls the TCP state every so many seconds (see
    :meth:`Session.check_peer`).
    """
    assert session.opened is not None, "exchange needs a connected session"
    remaining = max(0.0, session.opened + hold - time.monotonic())
    with trio.move_on_after(remaining) as scope:
        async with trio.open_nursery() as nursery:
            if pace is not None:
                nursery.start_soon(_read, session, on_data, pace, nursery.cancel_scope)
            if watch is not None:
                nursery.start_soon(_watch, session, watch, pace is not None, nursery.cancel_scope)
            if write is not None and not await write():
                nursery.cancel_scope.cancel()
    if scope.cancelled_caught:
        session.decide(Outcome.HELD_TO_END)


def trickle(session: Session, chunks: Iterable[bytes], interval: float) -> Writer:
    """A writer sending one chunk every ``interval`` seconds (first at once), on a fixed grid."""

    async def write() -> bool:
        begin = trio.current_time()
        for step, chunk in enumerate(chunks):
            if step:
                await trio.sleep_until(begin + step * interval)
            if not await session.send_all(chunk):
                return False
        return True

    return write


def at_once(session: Session, chunks: Iterable[bytes]) -> Writer:
    """A writer sending every chunk, in order, as fast as the server takes them."""

    async def write() -> bool:
        for chunk in chunks:
            if chunk and not await session.send_all(chunk):
                return False
        return True

    return write


def listen_only(feed: Callable[[bytes], object]) -> OnData:
    """An ``on_data`` that observes bytes (e.g. parses a response) but never ends the exchange."""

    def on_data(data: bytes) -> bool:
        feed(data)
        return False

    return on_data
