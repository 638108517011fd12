"""The concurrency ramp: holders opened step by step in the background, a probe after each.

Each step adds holders (in a stage of their own, :func:`~chaos.verify.stage.in_background`) up
to the step's count, waits until every one of them has connected or failed, lets a rejection
sent at accept arrive (:data:`~chaos.verify.checks.holding.SETTLE`), then probes. The probe is
also the marker that the server's accept queue has drained: the queue is first in, first out, so
a probe answered means every holder before it was accepted (or turned away). Holders stay open
until the ramp ends, so the steps add up. A probe turned away, or answered at the top with the
holders silent, is asked again, each time once the server has let go of the last, to tell one
limit from a random drop (:mod:`~chaos.verify.checks.max_connections`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

import trio

from ..engine.fdlimit import FdLimitError
from ..engine.kernel import accept_queue, families_for, their_end
from ..record import ClientRecord
from ..target import Target
from .checks.holding import DRAIN_SHARE, SETTLE, HoldPlan
from .checks.max_connections import AGAIN, Fate, Step, answered, fate
from .observe import ProbeState, ProbeView
from .probes import probe_role, probe_views
from .settings import MARGIN, VerifySettings
from .stage import Background, Role, StageResult, in_background, run_stage

__all__ = ["SETTLE_POLL", "Ramp", "let_go", "run_ramp"]

# How often the ramp looks whether a step's holders have all connected, or a probe's
# connection has been let go of by the server.
SETTLE_POLL = 0.01
_ROLE = "hold"


@dataclass(kw_only=True)
class Ramp:
    """What a ramp did: its steps, every holder's record, its stages, and why it stopped short."""

    steps: list[Step] = field(default_factory=list)
    fated: list[tuple[ClientRecord, Fate]] = field(default_factory=list)
    stages: list[StageResult] = field(default_factory=list)
    cut: str | None = None


async def _settle(held: Background, deadline: float) -> bool:
    """Wait until every holder of ``held`` has connected or failed; False at ``deadline``."""
    while not held.settled():
        if time.monotonic() >= deadline:
            return False
        await trio.sleep(SETTLE_POLL)
    return True


@dataclass(frozen=True)
class _Probed:
    """One probe of the ramp: how it fared, when it ended, and our port (0: no connection)."""

    view: ProbeView | None
    ended: float
    port: int


async def _probe(done: Ramp, settings: VerifySettings, target: Target, name: str) -> _Probed:
    """One probe in a stage of its own (kept in ``done``)."""
    stage = await run_stage(
        name,
        [probe_role(settings)],
        target,
        limit=settings.probe_timeout + MARGIN,
        until=["probe"],
        seed=settings.seed,
    )
    done.stages.append(stage)
    views = probe_views(stage, settings)
    records = stage.of("probe")
    ended = max((r.ended_at or r.started for r in records), default=time.monotonic())
    port = next((r.local_port or 0 for r in records if r.connected is not None), 0)
    return _Probed(views[0] if views else None, ended, port)


async def let_go(ports: Iterable[int], target: Target, deadline: float) -> bool:
    """Wait until the server has let go of our closed connections from these local ports
    (a process that served one may hold a slot until it exits: sshd's child, a PostgreSQL
    backend), so what comes next meets only the connections it holds; False if it still
    held one at ``deadline``. Where the kernel cannot tell, nothing is waited for."""
    waiting = {port for port in ports if port}
    theirs = (target.host, target.port)
    while True:
        waiting = {
            port
            for port in waiting
            if (end := their_end((target.host, port), theirs)) is not None and end.held
        }
        if not waiting:
            return True
        if time.monotonic() >= deadline:
            return False
        await trio.sleep(SETTLE_POLL)


async def run_ramp(
    plan: HoldPlan,
    settings: VerifySettings,
    target: Target,
    *,
    counts: tuple[int, ...],
    deadline: float,
    idle: float | None,
    say: Callable[[str], None],
    name: str = "max-connections",
    ask_again: bool = True,
) -> Ramp:
    """Hold ``counts`` connections in turn, probing after each, until ``deadline``; ``idle``
    (the server's idle timeout, if known) tells a rejection from an idle close. With
    ``ask_again``, a probe turned away, or answered at the top with silent holders, is asked again
    (:data:`~chaos.verify.checks.max_connections.AGAIN` times), to tell a limit from a
    random drop."""
    done = Ramp()
    probe_need = settings.probe_timeout + SETTLE + MARGIN
    families = families_for(target.host)
    probes: list[
        tuple[int, float, float, ProbeView | None, int | None, int | None, list[ProbeView]]
    ] = []
    running: list[Background] = []
    # Silent holders last until the server's idle timeout: a probe asked again must end
    # before the first of them could be cut, or it meets fewer held than the step did.
    silent_until = None if plan.message or idle is None else time.monotonic() + idle
    async with AsyncExitStack() as stack:
        opened = 0
        for count in counts:
            more = count - opened
            left = deadline - time.monotonic()
            opening = 0.0 if plan.rate is None else more / plan.rate
            if opening + probe_need > left:
                done.cut = f"no time left to hold {count:,} (opening them takes {opening:.1f} s)"
                break
            spec = plan.holders(more, hold=left, connect_timeout=settings.connect_timeout)
            try:
                held = await stack.enter_async_context(
                    in_background(
                        f"{name}: hold {count}",
                        [Role(name=_ROLE, spec=spec)],
                        target,
                        limit=left,
                        seed=settings.seed + opened,
                    )
                )
            except FdLimitError as exc:
                done.cut = f"cannot hold {count:,}: {exc}"
                break
            running.append(held)
            opened = count
            if not await _settle(held, deadline - probe_need):
                done.cut = f"opening {count:,} took longer than the time left"
                break
            await trio.sleep(SETTLE)
            # The kernel's accept queue around the probe: holders not yet taken by the server
            # before it, and, once it gave up, whether it is still there (see `Step`).
            waiting = accept_queue(target.port, families)
            probed = await _probe(done, settings, target, f"{name}: probe at {count}")
            view, ended = probed.view, probed.ended
            queued = accept_queue(target.port, families)
            # Asked again where the limit shows: a probe turned away, or answered at the top.
            again: list[ProbeView] = []
            state = None if view is None else view.state
            # At the top only with silent holders: keep-alive ones would talk on through the
            # probes asked again, and a server that declines keep-alives (cheroot) may close
            # one unanswered meanwhile, read as an eviction.
            top = count == counts[-1] and state in (ProbeState.OK, ProbeState.QUEUED)
            top = top and not plan.message
            asking = ask_again and (top or state is ProbeState.REJECTED)
            while asking and len(again) < AGAIN:
                end_by = deadline if silent_until is None else min(deadline, silent_until)
                if not await let_go([probed.port], target, end_by - probe_need - MARGIN):
                    break
                if time.monotonic() + probe_need + MARGIN > end_by:
                    break
                probed = await _probe(done, settings, target, f"{name}: again at {count}")
                ended = probed.ended
                if probed.view is None:
                    break
                again.append(probed.view)
            # A probe left in the queue shows a full server only if the server was not merely
            # behind: it takes the step's holders well within the probe's time at its
            # calibrated rate, or it took none while the probe waited (the queue only grew).
            drained = plan.drains(more, settings.probe_timeout * DRAIN_SHARE)
            still = waiting is not None and queued is not None and queued > waiting
            queued = queued if drained or still else None
            probes.append(
                (count, view.started if view else ended, ended, view, waiting, queued, again)
            )
            asked = f", asked again {len(again)}: {answered(again)} answered" if again else ""
            say(
                f"  hold {count:,}: "
                + ("no probe" if view is None else f"probe {view.describe()}{asked}")
            )
    for number, held in enumerate(running):
        assert held.result is not None  # set when its block ended
        done.stages.append(held.result)
        refused_by = None
        if number < len(probes):
            _, _, ended, view, _, _, _ = probes[number]
            if view is None or view.state in (ProbeState.REJECTED, ProbeState.STALLED):
                refused_by = ended
        done.fated += [
            (
                r,
                fate(
                    r,
                    settings.profile,
                    idle=idle,
                    tolerance=settings.tolerance,
                    refused_by=refused_by,
                ),
            )
            for r in held.result.of(_ROLE)
        ]
    done.stages.sort(key=lambda s: s.result.started)
    done.steps = [Step.seen(done.fated, *probe) for probe in probes]
    return done
