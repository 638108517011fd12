"""``ask``: a probe in any protocol: send the profile's request, read until the reply is whole.

Available when the reply is the profile's good answer (Redis ``+PONG``, memcached ``VERSION``,
an SMTP banner, any byte for ``raw``) within ``max_latency``; a rejection reply, another answer,
a close or silence is not. HTTP has its own ``probe``, which reads the whole response.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..engine.exchange import at_once, exchange
from ..engine.slot import Slot
from ..params import option
from ..protocols import NAMES, Profile, Reply, chosen_profile, escaped
from ..record import REPLY_HEAD
from .base import Fault, Traits, one_client
from .probe import RepeatedParams, on_schedule

__all__ = ["FAULT", "AskParams", "ask", "ask_once", "drive"]

# A reply decided: no more bytes are needed to judge it.
_DECIDED = (Reply.GOOD, Reply.REJECTION, Reply.OTHER)


@dataclass(frozen=True, kw_only=True)
class AskParams(RepeatedParams):
    """A well-behaved client of a protocol profile, ``repeat`` times every ``interval`` s."""

    protocol: str = option("raw", "the protocol profile to speak", choices=NAMES)
    send: str = option(
        "", "custom protocol: what a probe sends (\\r\\n escapes read)", parse=escaped
    )
    match: str = option("", "custom protocol: a good answer starts with this regular expression")
    reject: str = option("", "custom protocol: a rejection starts with this regular expression")
    speaks_first: bool = option(
        False, "custom protocol: the server greets first; --match is its greeting"
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        self.profile()  # a custom protocol without its request, or a bad pattern: refused now

    def profile(self) -> Profile:
        """The profile these parameters speak; ValueError names what is wrong."""
        return chosen_profile(self)


async def ask_once(slot: Slot, params: AskParams, number: int) -> None:
    """One probe: connect, send the request, read until the reply is decided or time is up."""
    profile = params.profile()
    session = slot.session()
    head = b""
    answered: float | None = None
    decided = Reply.NONE

    def on_data(data: bytes) -> bool:
        nonlocal head, answered, decided
        head = (head + data)[:REPLY_HEAD]
        decided = profile.read(head, closed=not data)
        if decided in _DECIDED and answered is None:
            answered = time.monotonic()
        return decided in _DECIDED

    if await session.connect(min(params.connect_timeout, params.max_latency)):
        assert session.opened is not None
        left = session.started + params.max_latency - session.opened
        message = profile.probe(slot.host)
        write = at_once(session, [message]) if message else None
        await exchange(session, hold=left, write=write, on_data=on_data)
    session.close()
    latency = None if answered is None else answered - session.started
    good = decided is Reply.GOOD and latency is not None and latency <= params.max_latency
    session.detail.update(
        protocol=profile.name,
        reply=decided.value,
        probe=number,
        latency=latency,
        max_latency=params.max_latency,
        available=good,
    )


async def drive(slot: Slot, params: AskParams) -> None:
    """Send ``repeat`` probes on a fixed schedule."""
    await on_schedule(slot, params, ask_once)


FAULT = Fault(kind="ask", params=AskParams, drive=drive, summary=__doc__, traits=Traits(probe=True))


ask = one_client(FAULT)
