"""``slow_send``: send a payload N bytes at a time, one chunk every interval (generic trickle)."""

from __future__ import annotations

from dataclasses import dataclass

from ..engine.exchange import exchange, trickle
from ..engine.payload import random_bytes
from ..engine.slot import Slot
from ..params import HoldParams, option
from .base import Deadline, Fault, Traits, one_client

__all__ = [
    "DEFAULT_INTERVAL",
    "DEFAULT_SIZE",
    "FAULT",
    "SlowSendParams",
    "chunks_of",
    "drive",
    "slow_send",
]

# A kilobyte trickled a byte at a time takes minutes at the default interval: long enough to
# meet any read timeout.
DEFAULT_SIZE = 1024
# Ten chunks a second: slow for a server, cheap for us.
DEFAULT_INTERVAL = 0.1


@dataclass(frozen=True, kw_only=True)
class SlowSendParams(HoldParams):
    """A trickling client for any protocol; the payload is text or seeded random bytes."""

    payload: str = option("", "text to send (UTF-8); empty sends SIZE seeded random bytes")
    size: int = option(DEFAULT_SIZE, "random bytes to send when no payload is given", above=0)
    chunk: int = option(1, "bytes per send", above=0)
    interval: float = option(DEFAULT_INTERVAL, "seconds between sends", minimum=0)


def chunks_of(data: bytes, size: int) -> list[bytes]:
    """``data`` cut into pieces of ``size`` bytes (the last may be shorter)."""
    return [data[i : i + size] for i in range(0, len(data), size)]


async def drive(slot: Slot, params: SlowSendParams) -> None:
    """Trickle the payload while reading; keep reading after it is all sent."""
    data = params.payload.encode() if params.payload else random_bytes(slot.rng, params.size)
    session = slot.session()
    if not await session.connect(params.connect_timeout):
        return
    writer = trickle(session, chunks_of(data, params.chunk), params.interval)
    await exchange(session, hold=params.hold, write=writer)
    session.detail["payload_bytes"] = len(data)
    session.detail["sent_all"] = session.bytes_sent == len(data)


FAULT = Fault(
    kind="slow_send",
    params=SlowSendParams,
    drive=drive,
    summary=__doc__,
    traits=Traits(cut_by=Deadline.REQUEST),
)


slow_send = one_client(FAULT)
