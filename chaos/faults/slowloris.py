"""``slowloris``: a valid request line, then header lines trickled until ``hold``, never ending."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..engine.exchange import exchange, listen_only, trickle
from ..engine.payload import letters
from ..engine.slot import Slot
from ..params import HoldParams, option
from ..record import ClientRecord
from ..target import Target
from .base import Deadline, Fault, Traits, run_slot
from .http_messages import ResponseReader, request_head

# Classic slowloris sends a header line every few seconds, under most per-read timeouts.
DEFAULT_INTERVAL = 1.0


@dataclass(frozen=True, kw_only=True)
class SlowlorisParams(HoldParams):
    """Headers that never finish: the blank line ending them is never sent."""

    method: str = option("GET", "request method")
    path: str = option("/", "request target")
    interval: float = option(DEFAULT_INTERVAL, "seconds between header lines", minimum=0)


def header_lines(slot: Slot, head: bytes, counter: list[int]) -> Iterator[bytes]:
    """The head without its final CRLF, then endless non-empty ``X-..: ..`` lines."""
    yield head[:-2]
    while True:
        name = letters(slot.rng, slot.rng.randint(1, 8)).decode()
        counter[0] += 1
        yield f"X-{name}: {slot.rng.randrange(10**9)}\r\n".encode()


async def drive(slot: Slot, params: SlowlorisParams) -> None:
    """Send the request line and headers, then one more header line per interval."""
    _, head = request_head(slot.host, method=params.method, path=params.path)
    session = slot.session()
    if not await session.connect(params.connect_timeout):
        return
    reader = ResponseReader(method=params.method)
    counter = [0]
    writer = trickle(session, header_lines(slot, head, counter), params.interval)
    await exchange(session, hold=params.hold, write=writer, on_data=listen_only(reader.feed))
    session.status = reader.status
    session.detail.update(reader.summary(), header_lines=counter[0])


FAULT = Fault(
    kind="slowloris",
    params=SlowlorisParams,
    drive=drive,
    summary=__doc__,
    traits=Traits(cut_by=Deadline.REQUEST, holds=True),
)


async def slowloris(
    target: Target | str, *, index: int = 0, seed: int = 0, **params: Any
) -> ClientRecord:
    """Trickle headers forever; see :class:`SlowlorisParams` for ``params``."""
    (record,) = await run_slot(
        FAULT, SlowlorisParams.from_dict(params), target, index=index, seed=seed
    )
    return record
