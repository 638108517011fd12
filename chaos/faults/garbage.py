"""``garbage``: seeded random bytes or Faker-made text where the server expects its protocol."""

from __future__ import annotations

from dataclasses import dataclass

from ..engine.exchange import at_once
from ..engine.payload import faker_text, random_bytes
from ..engine.slot import Slot
from ..params import HoldParams, option
from .base import Fault, Traits, one_client
from .http_exchange import exchange_reading_http

__all__ = ["DEFAULT_SIZE", "FAULT", "MODES", "GarbageParams", "drive", "garbage", "garbage_bytes"]

MODES = ("random", "faker")
# Half a typical 8 KiB header limit: garbage that a parser must reject, not a size test.
DEFAULT_SIZE = 4096


@dataclass(frozen=True, kw_only=True)
class GarbageParams(HoldParams):
    """Junk input; records the status if the server answers in HTTP (e.g. 400)."""

    size: int = option(DEFAULT_SIZE, "bytes of garbage", above=0)
    mode: str = option("random", "random bytes or plausible Faker text", choices=MODES)


def garbage_bytes(slot: Slot, params: GarbageParams) -> bytes:
    """The bytes this client sends."""
    if params.mode == "faker":
        return faker_text(slot.rng, params.size)
    return random_bytes(slot.rng, params.size)


async def drive(slot: Slot, params: GarbageParams) -> None:
    """Send the garbage at once and read until the server closes or ``hold`` runs out."""
    data = garbage_bytes(slot, params)
    session = slot.session()
    if not await session.connect(params.connect_timeout):
        return
    await exchange_reading_http(session, hold=params.hold, write=at_once(session, [data]))
    session.detail["mode"] = params.mode


FAULT = Fault(
    kind="garbage",
    params=GarbageParams,
    drive=drive,
    summary=__doc__,
    traits=Traits(hostile=True),
)


garbage = one_client(FAULT)
