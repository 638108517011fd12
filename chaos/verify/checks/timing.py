"""Judging a measured timeout against a promise: the rule the timeout checks share.

A sample is the seconds until the server ended a connection, or None when it had not by the
cap. "none within cap" is reported as exactly that, never as a number. A server whose idle
timeout fires late by design (the profile's timer granularity: Redis and memcached check now
and then, in whole seconds) closes between N and N + that for a timeout of N, judged so.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from ..expectations import Expectations
from ..settings import VerifySettings
from ..verdict import CheckResult, Verdict, judged, undecided

__all__ = ["excuse_lag", "judge_seconds", "judge_timeout"]


def _fmt(value: float) -> str:
    return f"{value:.2f} s"


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
        granularity=settings.profile.timer_granularity,
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
    granularity: float = 0.0,
    note: str = "",
    detail: dict[str, object] | None = None,
) -> CheckResult:
    """Compare ``samples`` (seconds, or None = still open at ``cap``) with the expectation:
    a promise E holds for samples within [E - tolerance, E + granularity + tolerance]."""
    shown = expectations.display(check)
    detail = {
        "samples": list(samples),
        "cap": cap,
        "tolerance": tolerance,
        "granularity": granularity,
        **(detail or {}),
    }
    closed = [s for s in samples if s is not None]
    suffix = f" {note}" if note else ""
    if not samples:
        return undecided(check, expectations, "no connection could be made")
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
        centre = promised + granularity / 2
        worst = max(closed, key=lambda s: abs(s - centre))
        holds = promised - tolerance <= worst <= promised + granularity + tolerance
        failure = f"expected {shown} ± {tolerance:g} s, measured {_fmt(worst)}"
        if granularity:
            failure = (
                f"expected {shown} (to {promised + granularity:g} s: this server's idle timeout "
                f"fires up to {granularity:g} s late) ± {tolerance:g} s, measured {_fmt(worst)}"
            )
    return judged(
        check,
        expectations,
        measured=measured,
        value=value,
        holds=holds,
        failure=failure,
        detail=detail,
    )


def excuse_lag(result: CheckResult, expectations: Expectations, lag: float) -> CheckResult:
    """``result`` undecided, not FAIL, when every connection closed late by no more than
    ``lag`` past the tolerance: ``lag`` is how slow this machine was (a probe with nothing
    held answered, this process woken while the check ran), so a lateness that small may be
    the machine's, in the server's timer or in our seeing the close, not the server's."""
    promised = expectations.seconds(result.check)
    samples = result.detail.get("samples")
    tolerance = result.detail.get("tolerance")
    granularity = result.detail.get("granularity", 0.0)
    if (
        result.verdict is not Verdict.FAIL
        or promised is None
        or not isinstance(samples, list)
        or not samples
        or not all(isinstance(s, float | int) for s in samples)
        or not isinstance(tolerance, float | int)
        or not isinstance(granularity, float | int)
    ):
        return result
    latest = promised + granularity + tolerance
    worst = max(samples)
    if min(samples) < promised - tolerance or worst > latest + lag:
        return result  # early, or later than this machine's lag explains: the server's
    why = (
        f"measured {_fmt(worst)}, {worst - latest:.2f} s past {expectations.display(result.check)}"
        f" + {tolerance:g} s, but this machine lagged {lag * 1000:.0f} ms (a probe with nothing "
        "held answered, or this process woken while it ran): a lateness that small cannot be "
        "told from the machine's"
    )
    measured, detail = result.measured, result.detail
    return undecided(result.check, expectations, why, measured=measured, detail=detail)
