"""The shape most faults share: write on a schedule while reading, until one side ends it.

Reading runs the whole time, so a server that closes or resets mid-trickle is noticed at once
and the writer is cancelled, rather than discovered at the next send.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable

import trio

from ..record import Outcome
from .session import Session

Writer = Callable[[], Awaitable[bool]]
OnData = Callable[[bytes], bool]


async def _read(session: Session, on_data: OnData | None, scope: trio.CancelScope) -> None:
    while True:
        data = await session.recv()
        if on_data is not None and session.reset is None and on_data(data):
            session.decide(Outcome.COMPLETED)
            break
        if not data:
            break
    scope.cancel()


async def exchange(
    session: Session,
    *,
    hold: float,
    write: Writer | None = None,
    on_data: OnData | None = None,
) -> None:
    """Run ``write`` while reading until the server ends, ``on_data`` says done, or ``hold``.

    ``hold`` counts from the moment the connection opened. ``on_data`` gets every chunk and
    ``b""`` at EOF; returning True ends the exchange as ``completed``.
    """
    assert session.connected is not None, "exchange needs a connected session"
    remaining = max(0.0, session.connected + hold - time.monotonic())
    with trio.move_on_after(remaining) as scope:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_read, session, on_data, nursery.cancel_scope)
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


def listen_only(feed: Callable[[bytes], object]) -> OnData:
    """An ``on_data`` that observes bytes (e.g. parses a response) but never ends the exchange."""

    def on_data(data: bytes) -> bool:
        feed(data)
        return False

    return on_data
