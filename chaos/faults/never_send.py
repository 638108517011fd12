"""``never_send``: connect and send nothing; hold until the server closes or ``hold`` runs out."""

from __future__ import annotations

from dataclasses import dataclass

from ..engine.exchange import exchange
from ..engine.slot import Slot
from ..params import HoldParams
from .base import Deadline, Fault, Traits, one_client

__all__ = ["FAULT", "NeverSendParams", "drive", "never_send"]


@dataclass(frozen=True, kw_only=True)
class NeverSendParams(HoldParams):
    """A silent client: measures how long a server tolerates a connection that never speaks."""


async def drive(slot: Slot, params: NeverSendParams) -> None:
    """Connect, then only read."""
    session = slot.session()
    if await session.connect(params.connect_timeout):
        await exchange(session, hold=params.hold)


FAULT = Fault(
    kind="never_send",
    params=NeverSendParams,
    drive=drive,
    summary=__doc__,
    traits=Traits(cut_by=Deadline.IDLE, sends=False, holds=True),
)


never_send = one_client(FAULT)
