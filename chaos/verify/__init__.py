"""``chaos verify``: does a server really enforce its timeouts and limits, and stay available?

Each check runs chaos clients against the target within a bounded slice of the run's budget
and is judged by a pure function over the records they leave; the results become a verdict
table, JSON and a self-contained HTML report.
"""

from __future__ import annotations

from .embedded import Embedded, EmbeddedError, embedded_server
from .expectations import KEYS, NONE, Expectations, parse_expectations
from .observe import ProbeState, ProbeView, view_probe
from .output.export import run_to_json
from .output.html import render_html
from .output.timeline import Timeline, build_timeline
from .run import Span, VerifyRun, run_verify, verify
from .settings import CHECKS, PROTOCOLS, Schedule, VerifySettings
from .stage import Role, StageResult, run_stage
from .verdict import CheckResult, Verdict, format_table, summary_line

__all__ = [
    "CHECKS",
    "KEYS",
    "NONE",
    "PROTOCOLS",
    "CheckResult",
    "Embedded",
    "EmbeddedError",
    "Expectations",
    "ProbeState",
    "ProbeView",
    "Role",
    "Schedule",
    "Span",
    "StageResult",
    "Timeline",
    "Verdict",
    "VerifyRun",
    "VerifySettings",
    "build_timeline",
    "embedded_server",
    "format_table",
    "parse_expectations",
    "render_html",
    "run_stage",
    "run_to_json",
    "run_verify",
    "summary_line",
    "verify",
    "view_probe",
]
