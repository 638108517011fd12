"""Probes as verify sends them: one well-formed request per connection, in the server's protocol.

HTTP probes are chaos's ``probe`` (the whole response read through h11); any other protocol's
are ``ask`` clients of its profile (Redis ``PING``, memcached ``version``, a custom message).
:func:`recover` probes until the server answers again.
"""

from __future__ import annotations

import time

import trio

from ..faults import AskParams, ProbeParams
from ..faults.probe import DEFAULT_MAX_LATENCY
from ..params import FaultParams
from ..plan import ClientSpec
from ..protocols import HttpProfile
from ..target import Target
from .observe import ProbeView, view_probe
from .settings import VerifySettings
from .stage import Role, StageResult, run_stage

__all__ = ["RECOVERY_PAUSE", "probe_role", "probe_views", "recover", "recovered"]

# Between recovery probes: a server restarting its acceptor is not hammered.
RECOVERY_PAUSE = 0.1


def probe_role(
    settings: VerifySettings,
    name: str = "probe",
    *,
    start: float = 0.0,
    path: str = "/",
    count: int = 1,
    repeat: int = 1,
) -> Role:
    """``count`` probes starting ``start`` seconds into their stage, each giving up after
    probe_timeout and sending ``repeat`` requests back to back (one connection each)."""
    connect = min(settings.connect_timeout, settings.probe_timeout)
    params: FaultParams
    if isinstance(settings.profile, HttpProfile):
        params = ProbeParams(
            path=path,
            max_latency=settings.probe_timeout,
            connect_timeout=connect,
            repeat=repeat,
            interval=0.0,
        )
    else:
        params = AskParams(
            protocol=settings.protocol,
            send=settings.send,
            match=settings.match,
            reject=settings.reject,
            speaks_first=settings.speaks_first,
            max_latency=settings.probe_timeout,
            connect_timeout=connect,
            repeat=repeat,
            interval=0.0,
        )
    return Role(name=name, spec=ClientSpec.of(params, count=count, start=start))


def probe_views(
    stage: StageResult, settings: VerifySettings, role: str = "probe"
) -> list[ProbeView]:
    """The probes of ``role`` in ``stage``, classified, in start order."""
    views = [view_probe(r, limit=DEFAULT_MAX_LATENCY) for r in stage.of(role)]
    return sorted(views, key=lambda v: v.started)


async def recover(
    name: str, settings: VerifySettings, target: Target, *, limit: float
) -> list[StageResult]:
    """Probe one at a time until one is available or ``limit`` seconds pass (at least once)."""
    deadline = time.monotonic() + limit
    stages: list[StageResult] = []
    for attempt in range(1, 1000):  # bounded by the deadline long before the count
        left = deadline - time.monotonic()
        stage = await run_stage(
            f"{name}: probe after #{attempt}",
            [probe_role(settings)],
            target,
            limit=max(0.05, min(settings.probe_timeout + 0.5, left)),
            until=["probe"],
            seed=settings.seed,
        )
        stages.append(stage)
        views = probe_views(stage, settings)
        if any(v.available for v in views) or time.monotonic() + RECOVERY_PAUSE >= deadline:
            break
        await trio.sleep(RECOVERY_PAUSE)
    return stages


def recovered(stages: list[StageResult], settings: VerifySettings) -> tuple[bool, str]:
    """Whether a recovery probe was available, and how that reads: ``ok (2 ms)``, or the last."""
    views = [v for stage in stages for v in probe_views(stage, settings)]
    if not views:
        return False, "no probe ran"
    good = next((v for v in views if v.available), None)
    if good is not None:
        tries = "" if views[0] is good else f" on try {views.index(good) + 1}"
        return True, f"{good.describe()}{tries}"
    return False, f"{views[-1].describe()} after {len(views)} tries"
