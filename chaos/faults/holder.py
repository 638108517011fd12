"""``holder``: hold a connection the way a live client does: a message every interval, replies
read and discarded, until ``hold`` runs out or the server closes.

Silent (no ``message``), it is an idle connection; with the protocol's keep-alive message sent
more often than the server's idle timeout, it stays open however long it takes to open the
others, which is what measuring a connection limit needs. Its clients run in one epoll loop (a
swarm), so holding thousands costs little more than their sockets. The first reply bytes stay
on the record (``reply_head``), so a rejection reply is told from an idle close; ``detail`` has
the messages sent, how long after connecting the first was due (``kept_alive_after``), when
the last reply came (``last_reply``, as the kernel heard it), so a keep-alive timeout can be
timed from it, when the answer to the last message began (``last_answer``: an idle timeout
counts from it), and how the last reply began (``last_reply_head``).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..engine.swarm import Script
from ..jsondata import Scalar
from ..params import HoldParams, option
from ..protocols import escaped
from .base import Fault, Traits, one_client

__all__ = ["DEFAULT_INTERVAL", "FAULT", "HolderParams", "holder", "script"]

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
    at_once: bool = option(False, "send the first message at once, not an interval later")
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
        """Seconds after connecting that the first message is due."""
        return 0.0 if self.at_once else self.interval


def chunks(params: HolderParams) -> Iterator[bytes]:
    """What one connection sends, one chunk per interval from the connect: the hello (with the
    first message if it goes at once), then the messages."""
    hello, message = params.hello.encode("latin-1"), params.message.encode("latin-1")
    if not message:
        yield hello
        return
    count = params.messages
    if params.at_once:
        yield hello + message
        count = None if count is None else count - 1
    else:
        yield hello  # empty: nothing goes until the first message is due
    yield from itertools.repeat(message) if count is None else itertools.repeat(message, count)


# Bytes of the last reply a holder keeps: an HTTP status line and its headers.
LAST_HEAD = 256


class _Replies:
    """When the last reply bytes came (a keep-alive timeout counts from there), when the
    answer to the last message began (an idle timeout counts from it, not from what the
    server sends unasked: a 408 as it times the connection out), and how the last reply
    began (an HTTP server may answer a keep-alive saying it closes): its first bytes since
    that message went out, however many reads they took."""

    status: int | None = None

    def __init__(self, heard: Callable[[], float]) -> None:
        self._heard = heard  # when what is fed arrived
        self.last: float | None = None
        self.answered: float | None = None
        self.head = b""
        self._asked = False  # a message went out that nothing has answered yet

    def sent(self) -> None:
        self._asked = True

    def feed(self, data: bytes) -> None:
        if not data:
            return
        self.last = self._heard()
        if self._asked:  # the answer to the last message begins: its head starts here
            self.answered, self.head, self._asked = self.last, b"", False
        self.head += data[: LAST_HEAD - len(self.head)]

    def summary(self) -> dict[str, Scalar]:
        if self.last is None:
            return {}
        out: dict[str, Scalar] = {"last_reply": self.last}
        if self.answered is not None:
            out["last_answer"] = self.answered
        return {**out, "last_reply_head": self.head.decode("latin-1")}


def script(params: HolderParams) -> Script:
    """Connect, say hello, then read (and discard) while sending the message on its schedule."""
    opening = 1 if params.hello and not params.at_once else 0

    def tally(sent: int) -> dict[str, Scalar]:
        messages = max(0, sent - opening) if params.message else 0
        if not messages:
            return {}
        # On the swarm's grid from the connect: sent then, or a little later on a loaded loop.
        return {"messages": messages, "kept_alive_after": params.first_message}

    def each(rng: random.Random, host: str) -> Iterator[bytes]:
        return chunks(params)

    return Script(
        connect_timeout=params.connect_timeout,
        hold=params.hold,
        chunks=each,
        interval=params.interval,
        listen=_Replies,
        tally=tally,
    )


FAULT = Fault(
    kind="holder",
    params=HolderParams,
    script=script,
    summary=__doc__,
    traits=Traits(holds=True, pressure=True),
)


holder = one_client(FAULT)
