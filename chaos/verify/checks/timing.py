"""Judging a measured timeout against a promise: the rule the three timeout checks share.

A sample is the seconds until the server ended a connection, or None when it had not by the
cap. "none within cap" is reported as exactly that, never as a number.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from ..expectations import Expectations
from ..settings import VerifySettings
from ..verdict import CheckResult, Verdict, judged

__all__ = ["judge_seconds", "judge_timeout", "not_measured"]


def _fmt(value: float) -> str:
    return f"{value:.2f} s"


def not_measured(check: str, expectations: Expectations, why: str) -> CheckResult:
    """A check that could not run here: skipped, or failed if something was expected of it."""
    expected = expectations.display(check)
    verdict = Verdict.SKIPPED if expected is None else Verdict.FAIL
    reason = "" if expected is None else f"expected {expected}, but {why}"
    return CheckResult(
        check=check,
        expected=expected,
        measured=f"not measured: {why}",
        verdict=verdict,
        reason=reason,
    )


def judge_timeout(
    check: str,
    settings: VerifySettings,
    samples: Sequence[float | None],
    *,
    notes: Sequence[str] = (),
    detail: dict[str, object] | None = None,
) -> CheckResult:
    """:func:`judge_seconds` with the cap and the tolerance ``settings`` give timeout ``check``;
    ``notes`` (how each connection ended, say) follow the measurement in brackets."""
    return judge_seconds(
        check,
        settings.expectations,
        samples,
        cap=settings.timeout_cap(check),
        tolerance=settings.tolerance,
        note=f"({', '.join(notes)})" if notes else "",
        detail=detail,
    )


def judge_seconds(
    check: str,
    expectations: Expectations,
    samples: Sequence[float | None],
    *,
    cap: float,
    tolerance: float,
    note: str = "",
    detail: dict[str, object] | None = None,
) -> CheckResult:
    """Compare ``samples`` (seconds, or None = still open at ``cap``) with the expectation."""
    shown = expectations.display(check)
    detail = {"samples": list(samples), "cap": cap, "tolerance": tolerance, **(detail or {})}
    closed = [s for s in samples if s is not None]
    suffix = f" {note}" if note else ""
    if not samples:
        return not_measured(check, expectations, "no connection could be made")
    if not closed:
        measured, value = f"none within {cap:g} s", None
    elif len(closed) < len(samples):
        measured = f"inconsistent: {len(closed)} of {len(samples)} closed, at {_fmt(max(closed))}"
        value = statistics.median(closed)
    else:
        value = statistics.median(closed)
        spread = f" ({len(closed)}: {_fmt(min(closed))}-{_fmt(max(closed))})"
        measured = _fmt(value) + (spread if max(closed) - min(closed) >= 0.005 else "")
    measured += suffix
    promised = expectations.seconds(check)
    if promised is None:  # nothing promised (measured only), or no timeout at all
        holds = not closed
        failure = f"expected no timeout, but the server closed after {_fmt(max(closed or [0.0]))}"
    elif len(closed) < len(samples):
        holds = False
        failure = f"expected {shown} ± {tolerance:g} s, but a connection was still open at "
        failure += f"{cap:g} s"
    else:
        worst = max(closed, key=lambda s: abs(s - promised))
        holds = abs(worst - promised) <= tolerance
        failure = f"expected {shown} ± {tolerance:g} s, measured {_fmt(worst)}"
    return judged(
        check,
        expectations,
        measured=measured,
        value=value,
        holds=holds,
        failure=failure,
        detail=detail,
    )
