"""The attack stages: a burst of hostile clients, then recovery probes (flood, resets).

One function runs both: the attack inside its slice less the recovery time, the kernel's
accept-queue overflow counter read around it, then probes until the server answers again.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable

from ...engine.kernel import listen_overflows
from ..checks import flood, resets
from ..checks.base import Aftermath, AttackCheck
from ..probes import recover, recovered
from ..settings import FLOOD_HOLD, MARGIN, VerifySettings
from ..stage import run_stage
from .base import RunState, Stage

__all__ = ["FLOOD", "RESETS"]


async def attack(state: RunState, limit: float, check: AttackCheck) -> None:
    """Run ``check``'s clients, then recovery probes; judge what both saw."""
    settings = state.settings
    deadline = time.monotonic() + limit
    before = listen_overflows()
    stage = await run_stage(
        check.CHECK,
        check.roles(settings),
        settings.target,
        limit=limit - settings.recovery,
        seed=settings.seed,
        processes=settings.processes,
    )
    after = listen_overflows()
    state.stages.append(stage)
    left = max(0.1, deadline - time.monotonic())
    probes = await recover(
        check.CHECK, settings, settings.target, limit=min(settings.recovery, left)
    )
    state.stages += probes
    survived, seen = recovered(probes, settings)
    evidence = Aftermath(
        records=stage.of(check.ROLE),
        survived=survived,
        after=seen,
        overflows=None if before is None or after is None else after - before,
    )
    state.decide(functools.partial(check.judge, evidence))


def _runs(check: AttackCheck) -> Callable[[RunState, float], Awaitable[None]]:
    async def run(state: RunState, limit: float) -> None:
        await attack(state, limit, check)

    return run


def _flood_slice(settings: VerifySettings) -> float:
    return settings.connect_timeout + FLOOD_HOLD + settings.recovery + 2 * MARGIN


def _resets_slice(settings: VerifySettings) -> float:
    return settings.connect_timeout + settings.recovery + 2 * MARGIN


FLOOD = Stage(
    name="flood",
    title="flood past the backlog, then probe",
    checks=(flood.CHECK,),
    run=_runs(flood),
    slice=_flood_slice,
)
RESETS = Stage(
    name="resets",
    title="a burst of RST clients, then probe",
    checks=(resets.CHECK,),
    run=_runs(resets),
    slice=_resets_slice,
)
