"""``never_send``: connect and send nothing; hold until the server closes or ``hold`` runs out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..engine.exchange import exchange
from ..engine.slot import Slot
from ..params import HoldParams
from ..record import ClientRecord
from ..target import Target
from .base import Deadline, Fault, Traits, run_slot


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


async def never_send(
    target: Target | str, *, index: int = 0, seed: int = 0, **params: Any
) -> ClientRecord:
    """Connect and stay silent; see :class:`NeverSendParams` for ``params``."""
    (record,) = await run_slot(
        FAULT, NeverSendParams.from_dict(params), target, index=index, seed=seed
    )
    return record
