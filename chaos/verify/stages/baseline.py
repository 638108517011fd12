"""The baseline: one probe (and the large response the write check needs) before any attack."""

from __future__ import annotations

from ..checks import write_timeout
from ..observe import said
from ..probes import probe_role, probe_views
from ..settings import MARGIN, VerifySettings
from ..stage import run_stage
from .base import RunState, Stage

__all__ = ["STAGE"]


def _slice(settings: VerifySettings) -> float:
    return settings.probe_timeout + MARGIN


async def run(state: RunState, limit: float) -> None:
    """Probe once, and fetch the large response; note why the write check can't run, if so."""
    settings = state.settings
    roles = [probe_role(settings)]
    can_ask = settings.profile.large(str(settings.target), settings.large_path) is not None
    wants_large = can_ask and "write-timeout" in settings.checks
    if wants_large:
        roles.append(probe_role(settings, "large", path=settings.large_path))
    stage = await run_stage(
        "baseline",
        roles,
        settings.target,
        limit=limit,
        until=[r.name for r in roles],
        seed=settings.seed,
    )
    state.stages.append(stage)
    views = probe_views(stage, settings)
    state.baseline = views[0] if views else None
    if state.baseline is not None and state.baseline.latency is not None:
        state.lag = state.baseline.latency
    seen = views[0].describe() if views else "did not run"
    if views and not views[0].available:
        # Why not, in the server's words, for a reader who must fix the setup (a database or
        # role the server does not have, say) rather than the server.
        words = said(stage.of(roles[0].name)[0])
        seen += f"; the server said: {words}" if words else ""
    state.notes.append(f"baseline probe: {seen}")
    state.say(f"  baseline probe: {seen}")
    large = stage.of("large") if wants_large else ()
    state.large_missing = write_timeout.large_enough(large[0] if large else None, settings)


STAGE = Stage(name="baseline", title="", checks=(), run=run, slice=_slice)
