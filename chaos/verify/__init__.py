"""``chaos verify``: does a server really enforce its timeouts and limits, and stay available?

Each check runs chaos clients against the target within a bounded slice of the run's budget
and is judged by a pure function over the records they leave; the results become a verdict
table, JSON, JUnit XML and a self-contained HTML report. A short calibration first measures
what this machine can drive (:class:`Calibration`), and the checks that need volume are
planned inside it: what the machine cannot drive is ``inconclusive`` with its numbers, never
a failure. :class:`VerifySettings` says what to run (in which protocol) and
:class:`Expectations` what the server promises; :func:`verify` (or :func:`run_verify` under
trio) runs the stage table (:mod:`chaos.verify.stages`) of checks (:mod:`chaos.verify.checks`);
:mod:`chaos.verify.output` turns the :class:`VerifyRun` into JSON, text, HTML and JUnit.
"""

from __future__ import annotations

from .calibration import Calibration
from .embedded import Embedded, EmbeddedError, embedded_server
from .expectations import CHECKS, NO_LIMIT, Expectations, NoLimit, parse_expectations
from .observe import ProbeState, ProbeView, view_probe
from .output.export import run_to_json
from .output.html import render_html
from .output.junit import render_junit
from .output.text import format_table, summary_line
from .output.timeline import Timeline, build_timeline
from .run import VerifyRun, run_verify, verify
from .settings import PROTOCOLS, Schedule, VerifySettings
from .stage import Role, StageResult, run_stage
from .stages import STAGES, Span, Stage
from .verdict import EXIT_FAIL, EXIT_INCONCLUSIVE, EXIT_PASS, CheckResult, Verdict

__all__ = [
    "CHECKS",
    "EXIT_FAIL",
    "EXIT_INCONCLUSIVE",
    "EXIT_PASS",
    "NO_LIMIT",
    "PROTOCOLS",
    "STAGES",
    "Calibration",
    "CheckResult",
    "Embedded",
    "EmbeddedError",
    "Expectations",
    "NoLimit",
    "ProbeState",
    "ProbeView",
    "Role",
    "Schedule",
    "Span",
    "Stage",
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
    "render_junit",
    "run_stage",
    "run_to_json",
    "run_verify",
    "summary_line",
    "verify",
    "view_probe",
]
