"""``reset``: send N bytes (N may be 0), then abort with an RST (SO_LINGER 0) instead of a FIN."""

from __future__ import annotations

from dataclasses import dataclass

import trio

from ..engine.payload import random_bytes
from ..engine.slot import Slot
from ..params import FaultParams, option
from ..protocols.http_messages import request
from ..record import Outcome
from .base import Fault, Traits, one_client

__all__ = ["DATA", "FAULT", "ResetParams", "drive", "reset", "reset_bytes"]

DATA = ("http", "random")


@dataclass(frozen=True, kw_only=True)
class ResetParams(FaultParams):
    """An abortive client: the server sees a reset where it expected a request or a close."""

    size: int = option(0, "bytes to send before the reset", minimum=0)
    data: str = option(
        "http", "what to send: repeated HTTP requests, cut to SIZE, or random", choices=DATA
    )
    delay: float = option(0.0, "seconds to wait after sending, before the reset", minimum=0)

    def budget(self) -> float:
        """Connect, send, wait."""
        return self.connect_timeout + self.delay + 1.0


def reset_bytes(slot: Slot, params: ResetParams) -> bytes:
    """The ``size`` bytes sent before the reset."""
    if params.data == "random":
        return random_bytes(slot.rng, params.size)
    one = request(slot.host)
    return (one * (params.size // len(one) + 1))[: params.size]


async def drive(slot: Slot, params: ResetParams) -> None:
    """Connect, send, wait, abort; a completed run means our RST went out as planned."""
    session = slot.session()
    if not await session.connect(params.connect_timeout):
        return
    if not await session.send_all(reset_bytes(slot, params)):
        return
    if params.delay:
        await trio.sleep(params.delay)
    session.abort()
    session.decide(Outcome.COMPLETED)


FAULT = Fault(
    kind="reset",
    params=ResetParams,
    drive=drive,
    summary=__doc__,
    traits=Traits(hostile=True),
)


reset = one_client(FAULT)
