"""A stage: chaos clients run together until the ones that matter are done, or a time limit.

Like :func:`chaos.run_plan`, with three differences verify needs: each spec has a *role* so
a check finds its own records; a stage can end as soon as its ``until`` roles are done (the
probe of a concurrency step, say), cancelling the clients that were only there as load; and
``gated`` roles wait until every other client's first connect has settled (opened or failed),
so a probe never races holders still retrying a dropped SYN.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import trio

from ..engine.fdlimit import ensure_capacity
from ..engine.payload import client_rng
from ..engine.slot import Slot
from ..faults.registry import get_fault
from ..plan import ClientSpec, Plan
from ..record import ClientRecord
from ..result import ChaosResult
from ..target import Target, resolve

__all__ = ["Role", "StageResult", "run_stage"]


@dataclass(frozen=True, kw_only=True)
class Role:
    """One spec of a stage and the name its check looks its records up by."""

    name: str
    spec: ClientSpec

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name: expected a role name, got {self.name!r}")
        if not isinstance(self.spec, ClientSpec):
            raise ValueError(f"spec: expected a ClientSpec, got {type(self.spec).__name__}")


@dataclass(frozen=True, kw_only=True)
class StageResult:
    """What a stage ran and saw: the chaos result plus its records grouped by role."""

    name: str
    result: ChaosResult
    roles: dict[str, tuple[ClientRecord, ...]] = field(default_factory=dict)

    def of(self, role: str) -> tuple[ClientRecord, ...]:
        """The records of ``role`` (empty if the stage had no such role)."""
        return self.roles.get(role, ())

    def to_json(self) -> dict[str, object]:
        """The stage name, which slots belong to which role, and the raw chaos result."""
        return {
            "name": self.name,
            "roles": {
                name: sorted({r.index for r in records}) for name, records in self.roles.items()
            },
            "chaos": self.result.to_json(),
        }


# How often a gated role checks whether the other clients' connects have settled.
GATE_POLL = 0.005


def _settled(slot: Slot) -> bool:
    """True once the slot's first connect finished: open, or failed (its socket closed)."""
    if not slot.sessions:
        return False
    first = slot.sessions[0]
    return first.connected is not None or first.sock is None


async def _client(
    slot: Slot,
    spec: ClientSpec,
    at: float,
    counted: bool,
    left: list[int],
    scope: trio.CancelScope,
    gate: list[Slot] | None = None,
) -> None:
    try:
        if gate is not None:
            while not all(_settled(s) for s in gate):
                await trio.sleep(GATE_POLL)
            at += trio.current_time()
        await trio.sleep_until(at)
        await get_fault(spec.kind).drive(slot, spec.parsed())
    finally:
        slot.close()
        if counted:
            left[0] -= 1
            if left[0] == 0:
                scope.cancel()


async def run_stage(
    name: str,
    roles: Sequence[Role],
    target: Target,
    *,
    limit: float,
    until: Iterable[str] = (),
    gated: Iterable[str] = (),
    seed: int = 0,
) -> StageResult:
    """Run every role's clients; stop at ``limit`` seconds or once all ``until`` roles ended.

    A ``gated`` role's ``start`` counts from the moment the other roles' connects settled.

    Raises :class:`~chaos.engine.fdlimit.FdLimitError` before connecting if the stage cannot fit in
    the open-file limit.
    """
    plan = Plan(clients=tuple(r.spec for r in roles), horizon=limit, seed=seed, target=str(target))
    wanted, waiting = set(until), set(gated)
    ensure_capacity(plan.total_clients)
    endpoint = await resolve(target)
    owners: list[tuple[str, Slot]] = []
    left = [sum(r.spec.count for r in roles if r.name in wanted)]
    started = time.monotonic()
    begin = trio.current_time()
    load: list[Slot] = []
    with trio.move_on_after(limit):
        async with trio.open_nursery() as nursery:
            for number, role in enumerate(roles):
                params = role.spec.parsed()
                gate = load if role.name in waiting else None
                for position in range(role.spec.count):
                    slot = Slot(
                        kind=role.spec.kind,
                        index=len(owners),
                        endpoint=endpoint,
                        rng=client_rng(seed, number, position),
                    )
                    owners.append((role.name, slot))
                    if gate is None:
                        load.append(slot)
                    delay = role.spec.start + params.stagger(position)
                    at = delay if gate is not None else begin + delay
                    counted = role.name in wanted
                    nursery.start_soon(
                        _client, slot, role.spec, at, counted, left, nursery.cancel_scope, gate
                    )
    grouped: dict[str, list[ClientRecord]] = {r.name: [] for r in roles}
    records: list[ClientRecord] = []
    for role_name, slot in owners:
        slot.close()
        mine = slot.records()
        grouped[role_name].extend(mine)
        records.extend(mine)
    result = ChaosResult(
        plan=plan,
        records=tuple(records),
        started=started,
        ended=time.monotonic(),
        target=str(target),
        not_started=sum(1 for _, slot in owners if not slot.sessions),
    )
    return StageResult(name=name, result=result, roles={k: tuple(v) for k, v in grouped.items()})
