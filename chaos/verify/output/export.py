"""A run as JSON data: the verdict rows, the settings, the timeline and the raw chaos results.

The HTML report is drawn from this same dict, so the two cannot disagree.
"""

from __future__ import annotations

import datetime

from ...jsondata import JSONObject
from ..observe import ProbeView
from ..probes import probe_views
from ..run import VerifyRun
from ..verdict import Verdict
from .text import summary_line
from .timeline import build_timeline

__all__ = ["FORMAT_VERSION", "run_to_json", "span_verdict"]

# Bumped when a field changes meaning; readers can refuse what they do not understand.
# 2: the inconclusive verdict and exit status 3, the calibration, the protocol profile.
FORMAT_VERSION = 2
_SEVERITY = (Verdict.FAIL, Verdict.INCONCLUSIVE, Verdict.PASS, Verdict.INFO, Verdict.SKIPPED)


def span_verdict(verdicts: list[str]) -> str:
    """The verdict a band of the timeline shows: the most severe of its checks'."""
    for verdict in _SEVERITY:
        if verdict.value in verdicts:
            return verdict.value
    return Verdict.INFO.value


def _probes(run: VerifyRun) -> list[ProbeView]:
    return [v for stage in run.stages for v in probe_views(stage, run.settings)]


def run_to_json(run: VerifyRun, *, raw: bool = True) -> JSONObject:
    """Everything about ``run``; ``raw=False`` leaves out the per-connection chaos records."""
    settings = run.settings
    verdicts = {r.check: r.verdict.value for r in run.results}
    records = [r for stage in run.stages for r in stage.result.records]
    timeline = build_timeline(
        records,
        _probes(run),
        started=run.started,
        ended=run.ended,
        connect_timeout=settings.connect_timeout,
    )
    started_at = datetime.datetime.fromtimestamp(run.wall_started, tz=datetime.UTC)
    data: JSONObject = {
        "version": FORMAT_VERSION,
        "target": str(settings.target),
        "source": run.source,
        "protocol": settings.protocol,
        "profile": settings.profile.describe(),
        "calibration": None if run.calibration is None else run.calibration.to_json(),
        "started_at": started_at.isoformat(timespec="seconds"),
        "duration": run.duration,
        "exit_code": run.exit_code,
        "summary": summary_line(run.results, run.duration),
        "settings": settings.to_json(),
        "expectations": settings.expectations.given(),
        "config": run.config,
        "notes": list(run.notes),
        "checks": [r.to_json() for r in run.results],
        "spans": [
            {
                "name": span.name,
                "start": span.started - run.started,
                "end": span.ended - run.started,
                "checks": list(span.checks),
                "verdict": span_verdict([verdicts[c] for c in span.checks if c in verdicts]),
            }
            for span in run.spans
        ],
        "timeline": timeline.to_json(),
    }
    if raw:
        data["stages"] = [stage.to_json() for stage in run.stages]
    return data
