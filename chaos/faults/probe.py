"""``probe``: a well-formed request judged by a success predicate, to measure availability.

By default a probe is available when a complete response arrives, its status is below 500 and
it took no longer than ``max_latency``: a 503 is *not* available.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

import trio

from ..engine.exchange import at_once, exchange
from ..engine.slot import Slot
from ..jsondata import Scalar
from ..params import FaultParams, option
from ..protocols.http_messages import ResponseReader, request
from ..record import ClientRecord, Outcome
from ..target import Target
from .base import Fault, Traits

__all__ = [
    "CLOSE",
    "DEFAULT_INTERVAL",
    "DEFAULT_MAX_LATENCY",
    "FAULT",
    "Predicate",
    "ProbeParams",
    "RepeatedParams",
    "drive",
    "is_available",
    "judge",
    "on_schedule",
    "probe",
    "probe_once",
]

CLOSE = (("Connection", "close"),)
# A human notices a second of delay; slower than that is not "available".
DEFAULT_MAX_LATENCY = 1.0
# Two probes a second resolve an outage to half a second.
DEFAULT_INTERVAL = 0.5

Predicate = Callable[[ClientRecord], bool]


@dataclass(frozen=True, kw_only=True)
class RepeatedParams(FaultParams):
    """A well-behaved client, repeated ``repeat`` times every ``interval`` seconds, each
    answer wanted within ``max_latency`` of its connect (the probes of every protocol)."""

    max_latency: float = option(
        DEFAULT_MAX_LATENCY, "seconds from connect to the whole answer", above=0
    )
    repeat: int = option(1, "probes this client sends, one connection each", above=0)
    interval: float = option(DEFAULT_INTERVAL, "seconds between probe starts", minimum=0)

    def budget(self) -> float:
        """Every probe at its latency limit, on its schedule."""
        return (self.repeat - 1) * self.interval + self.max_latency


R = TypeVar("R", bound=RepeatedParams)


async def on_schedule(
    slot: Slot, params: R, once: Callable[[Slot, R, int], Awaitable[None]]
) -> None:
    """Run ``once(slot, params, number)`` ``repeat`` times on a fixed schedule."""
    begin = trio.current_time()
    for number in range(params.repeat):
        await trio.sleep_until(begin + number * params.interval)
        await once(slot, params, number)


@dataclass(frozen=True, kw_only=True)
class ProbeParams(RepeatedParams):
    """An HTTP request, judged by the whole response."""

    method: str = option("GET", "request method")
    path: str = option("/", "request target")


def is_available(record: ClientRecord) -> bool:
    """The default predicate: complete response, status < 500, within its latency limit."""
    latency = record.number("latency")
    limit = record.number("max_latency")
    return (
        record.outcome is Outcome.COMPLETED
        and record.status is not None
        and record.status < 500
        and latency is not None
        and (limit is None or latency <= limit)
    )


def judge(records: Iterable[ClientRecord], predicate: Predicate) -> list[ClientRecord]:
    """Re-decide ``detail["available"]`` of every probe record with ``predicate``."""
    out = []
    for record in records:
        if record.kind == FAULT.kind:
            detail = {**record.detail, "available": bool(predicate(record))}
            record = dataclasses.replace(record, detail=detail)
        out.append(record)
    return out


async def probe_once(slot: Slot, params: ProbeParams, number: int) -> None:
    """One probe: connect, request, read the whole response, all within ``max_latency``."""
    session = slot.session()
    reader = ResponseReader(method=params.method)
    # One-shot: the server closes first, so the probe holds no worker or slot once answered
    # (a keep-alive probe lingered until the server noticed our close, skewing the next step).
    data = request(slot.host, method=params.method, path=params.path, headers=CLOSE)
    write = at_once(session, [data])
    if await session.connect(min(params.connect_timeout, params.max_latency)):
        # The latency limit counts from before the connect; the exchange's hold from after it.
        assert session.opened is not None
        left = session.started + params.max_latency - session.opened
        await exchange(session, hold=left, write=write, on_data=reader.feed)
    session.close()
    session.status = reader.status
    latency = None if reader.completed_at is None else reader.completed_at - session.started
    session.detail.update(
        reader.summary(), probe=number, latency=latency, max_latency=params.max_latency
    )
    session.detail["available"] = is_available(session.record())


async def drive(slot: Slot, params: ProbeParams) -> None:
    """Send ``repeat`` probes on a fixed schedule."""
    await on_schedule(slot, params, probe_once)


FAULT = Fault(
    kind="probe",
    params=ProbeParams,
    drive=drive,
    summary=__doc__,
    traits=Traits(probe=True),
)


async def probe(
    target: Target | str,
    params: ProbeParams | None = None,
    /,
    *,
    predicate: Predicate | None = None,
    index: int = 0,
    seed: int = 0,
    **fields: Scalar,
) -> ClientRecord:
    """One probe (``repeat`` must be 1; use a plan for a series) judged by ``predicate``."""
    chosen = FAULT.parse(params, fields)
    if chosen.repeat != 1:
        raise ValueError("repeat: probe() sends one probe; use a plan for a series")
    records = await FAULT.alone(chosen, target, positions=range(index, index + 1), seed=seed)
    if predicate is not None:
        records = judge(records, predicate)
    return records[0]
