"""The calibration stage: a burst of connections with a probe behind it, and back-to-back
probes, timed (see :mod:`chaos.verify.calibration`), before any check that needs volume."""

from __future__ import annotations

from ...faults import FloodParams
from ...plan import ClientSpec
from ..calibration import measure
from ..expectations import LIMIT_KEYS
from ..probes import probe_role, probe_views
from ..settings import MARGIN, VerifySettings
from ..stage import Role, run_stage
from .base import RunState, Stage

__all__ = ["ANSWERING", "BURST", "STAGE"]

# Connections in the burst: enough to time (tens of milliseconds here), few enough that no
# server's limit or backlog is worth worrying about for long.
BURST = 200
# Probes in flight at once, each sending its requests back to back, for ANSWER_TIME seconds.
ANSWERING = 8
ANSWER_TIME = 0.25
# Requests each back-to-back probe may send: more than any server answers in ANSWER_TIME here.
ANSWER_REPEAT = 200
# The burst's own bound: a server dropping handshakes costs this, not a connect timeout.
BURST_TIME = 0.5
# How long after that the probe behind the burst may take: a server that has not taken 200
# connections by then accepts under 270/s, slower than any plan here needs to know exactly.
AFTER_TIME = 0.25


def _slice(settings: VerifySettings) -> float:
    return BURST_TIME + AFTER_TIME + ANSWER_TIME + MARGIN


async def run(state: RunState, limit: float) -> None:
    """Time the burst, then the probes; keep the calibration for the plans that follow."""
    settings = state.settings
    burst = FloodParams(
        rate=settings.connect_rate,
        hold=0.0,
        connect_timeout=min(settings.connect_timeout, BURST_TIME),
    )
    opening = await run_stage(
        "calibrate: connect",
        [Role(name="burst", spec=ClientSpec.of(burst, count=BURST)), probe_role(settings, "after")],
        settings.target,
        limit=min(BURST_TIME + AFTER_TIME, limit / 2),
        until=["after"],
        gated=["after"],
        seed=settings.seed,
    )
    after = probe_views(opening, settings, "after")
    answering = await run_stage(
        "calibrate: answer",
        [probe_role(settings, "answer", count=ANSWERING, repeat=ANSWER_REPEAT)],
        settings.target,
        limit=min(ANSWER_TIME, limit / 2),
        seed=settings.seed,
    )
    state.stages += [opening, answering]
    calibration = measure(
        opening.of("burst"),
        [v for v in probe_views(answering, settings, "answer") if v.latency is not None],
        capped=settings.connect_rate,
        after=after[0] if after else None,
    )
    state.calibration = calibration
    state.notes.append(f"calibration: {calibration.describe()}")
    state.say(f"  calibration: {calibration.describe()}")


STAGE = Stage(name="calibrate", title="", checks=(), run=run, slice=_slice, serves=LIMIT_KEYS)
