"""One trial of a hunt: a script run by k clients while probes ask for service; what it cost.

The trial is a plan like any other (the scripted clients, then a probe client repeating on a
fixed cadence), so the worst one is written out and replayed by ``chaos run``. It runs as a
verify stage does: the probes start once the scripted clients' connects have settled, and
the trial ends as soon as every scripted client has ended, or, given limits to cut it at,
as soon as its records so far show a measure past its limit: the search needs to know
*that* a script breaks a bound, which takes the bound's time, not the whole hold.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import trio

from ..faults import ProbeParams, ScriptedParams
from ..plan import ClientSpec, Plan
from ..record import ClientRecord
from ..script.steps import format_steps
from ..script.strategies import Script
from ..target import Target
from ..verify.stage import Live, Role, run_stage
from .measures import Measure, WorkerRecord, held, so_far, unserved, worker_held

__all__ = ["PROBE_LATENCY", "SMALL_RCVBUF", "WATCH_EVERY", "Cut", "Setup", "Trial", "run_trial"]

# A receive buffer near Linux's floor: a client that does not read blocks the server's
# write after a few kilobytes instead of a few megabytes.
SMALL_RCVBUF = 4096
# A probe waits this long for its answer: past a typical one-second queue timeout, so a
# queued then rejected probe is seen as rejected, not stalled.
PROBE_LATENCY = 2.0
# Time after the scripted clients' hold for the last probes to end on their own.
_SLACK = 0.5
# A trial with limits reads its records this often: a few dozen records each time, and a
# cut this late past its limit still leaves the trial clearly past its bound.
WATCH_EVERY = 0.02
SCRIPT = "script"
PROBE = "probe"

# Per measure, the value past which a trial is cut short (it has broken its bound).
Cut = Mapping[Measure, float]

# The server's records of its connections, read after a trial (in process only).
ServerLog = Callable[[], Sequence[WorkerRecord]]


@dataclass(frozen=True, kw_only=True)
class Setup:
    """What every trial of one hunt shares."""

    target: Target
    clients: int
    hold: float  # each scripted client gives up this long after connecting
    probe_every: float  # seconds between probe starts
    protocol: str = "http"
    seed: int = 0
    connect_timeout: float = 2.0
    server_log: ServerLog | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.clients, bool) or not isinstance(self.clients, int) or self.clients < 1:
            raise ValueError(f"clients: expected an integer >= 1, got {self.clients!r}")
        for name in ("hold", "probe_every", "connect_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: must be > 0 seconds, got {getattr(self, name)!r}")

    @property
    def probe_latency(self) -> float:
        return min(PROBE_LATENCY, self.hold)

    @property
    def horizon(self) -> float:
        """The longest a plan of a trial runs (``chaos run`` runs it so): the scripted
        clients' hold, then the last probe's wait."""
        return self.connect_timeout + self.hold + self.probe_latency + _SLACK

    def lasts(self, cut: Cut | None = None) -> float:
        """The longest a trial takes: it ends with its scripted clients (at their hold), or
        once a measure passes its ``cut`` limit."""
        hold = self.hold if not cut else min(self.hold, max(cut.values()) + WATCH_EVERY)
        return self.connect_timeout + hold + _SLACK

    def roles(self, script: Script) -> list[Role]:
        """The trial's clients: ``clients`` of the script, and the probe (HTTP only)."""
        params = ScriptedParams(
            steps=format_steps(script.steps),
            protocol=self.protocol,
            hold=self.hold,
            rcvbuf=None if script.reads_promptly else SMALL_RCVBUF,
            connect_timeout=self.connect_timeout,
        )
        roles = [Role(name=SCRIPT, spec=ClientSpec.of(params, count=self.clients))]
        if self.protocol == "http":
            probes = ProbeParams(
                repeat=math.ceil((self.hold + self.probe_latency) / self.probe_every) + 1,
                interval=self.probe_every,
                max_latency=self.probe_latency,
                connect_timeout=min(self.connect_timeout, self.probe_latency),
            )
            # A probe interval after the scripted clients' connects (the gate, in a trial)
            # or their start (a plan replayed without one): their first request goes first.
            spec = ClientSpec.of(probes, start=self.probe_every)
            roles.append(Role(name=PROBE, spec=spec))
        return roles

    def plan(self, script: Script) -> Plan:
        """The trial as a plan, aimed at the target: what ``chaos run`` replays."""
        return Plan(
            clients=tuple(role.spec for role in self.roles(script)),
            horizon=self.horizon,
            seed=self.seed,
            target=str(self.target),
        )


@dataclass(frozen=True, kw_only=True)
class Trial:
    """What one script cost: a value per measure taken (seconds), and the plan that ran."""

    script: Script
    plan: Plan
    values: dict[Measure, float]
    duration: float
    records: tuple[ClientRecord, ...] = ()
    cut: bool = False  # ended early, a measure past its limit: each value is a lower bound

    @property
    def steps(self) -> str:
        return format_steps(self.script.steps)


async def run_trial(setup: Setup, script: Script, cut: Cut | None = None) -> Trial:
    """Run ``script`` as ``setup`` says and measure it; with ``cut``, end it as soon as a
    measure passes its limit there (its values are then lower bounds, ``Trial.cut``)."""
    began = time.monotonic()
    cut_short = False

    async def watch(live: Live) -> None:
        nonlocal cut_short
        while not cut_short:
            await trio.sleep(WATCH_EVERY)
            values = so_far(live(SCRIPT), live(PROBE), time.monotonic())
            cut_short = any(values.get(m, 0.0) > limit for m, limit in (cut or {}).items())

    stage = await run_stage(
        "hunt",
        setup.roles(script),
        setup.target,
        limit=setup.horizon,
        until=[SCRIPT],
        gated=[PROBE],
        seed=setup.seed,
        watch=watch if cut else None,
    )
    scripts, probes = stage.of(SCRIPT), stage.of(PROBE)
    values: dict[Measure, float] = {}
    hold = held(scripts)
    if hold is not None:
        values[Measure.HOLD] = hold
    probe = unserved(probes, stage.result.ended)
    if probe is not None:
        values[Measure.PROBE] = probe
    if setup.server_log is not None:
        await _settled(scripts, setup.server_log)
        worker = worker_held(scripts, setup.server_log())
        if worker is not None:
            values[Measure.WORKER] = worker
    return Trial(
        script=script,
        plan=stage.result.plan,
        values=values,
        duration=time.monotonic() - began,
        records=stage.result.records,
        cut=cut_short,
    )


# How long a server in this process gets to log the close of connections we have closed.
_LOG_WAIT = 2.0


async def _settled(scripts: Sequence[ClientRecord], log: ServerLog) -> None:
    """Wait (bounded) until the server has logged the close of every scripted connection."""
    ports = {r.local_port for r in scripts if r.connected is not None}
    deadline = trio.current_time() + _LOG_WAIT
    while trio.current_time() < deadline:
        closed = {r.peer_port for r in log() if r.closed is not None}
        if ports <= closed:
            return
        await trio.sleep(0.01)
