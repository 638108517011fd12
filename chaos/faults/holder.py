"""``holder``: hold a connection the way a live client does: a message every interval, replies
read and discarded, until ``hold`` runs out or the server closes.

Silent (no ``message``), it is an idle connection; with the protocol's keep-alive message sent
more often than the server's idle timeout, it stays open however long it takes to open the
others, which is what measuring a connection limit needs. The first reply bytes stay on the
record (``reply_head``), so a rejection reply is told from an idle close; ``detail`` has the
messages sent, when the first went (``kept_alive_at``) and when the last reply came
(``last_reply``), so an idle timeout can be timed from it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import trio

from ..engine.session import Session
from ..engine.slot import Slot
from ..params import HoldParams, option
from ..protocols import escaped
from ..record import Outcome
from .base import Fault, Traits, one_client

__all__ = ["DEFAULT_INTERVAL", "FAULT", "HolderParams", "drive", "holder"]

# One message a second: within the idle timeouts of most servers (toolkit 5 s, nginx 60 s).
DEFAULT_INTERVAL = 1.0


@dataclass(frozen=True, kw_only=True)
class HolderParams(HoldParams):
    """A held connection; messages are latin-1 text, one character per byte."""

    rate: float | None = option(
        None, "connections opened per second (default: all at once)", above=0
    )
    hello: str = option("", "sent once right after connecting (\\r\\n escapes read)", parse=escaped)
    message: str = option(
        "", "sent every interval; empty holds silently (\\r\\n escapes read)", parse=escaped
    )
    interval: float = option(DEFAULT_INTERVAL, "seconds between messages", above=0)
    first: float | None = option(
        None, "seconds after connecting before the first message (default: interval)", minimum=0
    )
    messages: int | None = option(None, "most messages per connection (default: no limit)", above=0)

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("hello", "message"):
            try:
                getattr(self, name).encode("latin-1")
            except UnicodeEncodeError:
                raise ValueError(f"{name}: expected latin-1 text, one character a byte") from None

    def stagger(self, position: int) -> float:
        """Client ``position`` starts ``position / rate`` seconds after the spec's start."""
        return position / self.rate if self.rate else 0.0

    @property
    def first_message(self) -> float:
        """Seconds after connecting that the first message goes."""
        return self.interval if self.first is None else self.first


async def drive(slot: Slot, params: HolderParams) -> None:
    """Connect, say hello, then read (and discard) while sending the message on its schedule.

    One task and one cancel scope at a time per connection: the read waits until the next
    message is due, so holding thousands costs little more than their sockets.
    """
    session = slot.session()
    if not await session.connect(params.connect_timeout):
        return
    assert session.connected is not None
    end = session.connected + params.hold
    message = params.message.encode("latin-1")
    # The schedule counts from before the handshake: the server's idle clock cannot start
    # earlier, and a loaded client may stamp the connect long after the server accepted it.
    due = session.started + params.first_message if message else end
    hello = params.hello.encode("latin-1")
    if hello and not await _send(session, hello, end):
        return
    sent = 0
    while (now := time.monotonic()) < end:
        with trio.move_on_after(max(0.0, min(due, end) - now)) as wait:
            data = await session.recv()
        if not wait.cancelled_caught:
            if not data:
                return  # the server ended it (or it broke): the record says how
            session.detail["last_reply"] = time.monotonic()
            continue  # a reply, discarded
        if time.monotonic() >= end:
            break
        if not await _send(session, message, end):
            return
        sent += 1
        session.detail["messages"] = sent
        if sent == 1:
            session.detail["kept_alive_at"] = session.last_sent
        if params.messages is not None and sent >= params.messages:
            due = end
        else:  # on a fixed grid; one that fell behind sends at once, never in a burst
            due = max(due + params.interval, time.monotonic())
    session.decide(Outcome.HELD_TO_END)


async def _send(session: Session, data: bytes, end: float) -> bool:
    """Send ``data`` unless ``end`` passes first (a server that stopped reading); False if
    the connection broke or time ran out."""
    with trio.move_on_after(max(0.0, end - time.monotonic())):
        return await session.send_all(data)
    return False


FAULT = Fault(
    kind="holder",
    params=HolderParams,
    drive=drive,
    summary=__doc__,
    traits=Traits(holds=True, pressure=True),
)


holder = one_client(FAULT)
