"""Verdicts: one row per check (expected, measured, verdict), judged against its promise."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from .expectations import Expectations

__all__ = [
    "EXIT_FAIL",
    "EXIT_INCONCLUSIVE",
    "EXIT_PASS",
    "CheckResult",
    "Measured",
    "Verdict",
    "exit_code",
    "judged",
    "undecided",
]

# A check's machine-readable measurement: seconds, a count, a share, a behaviour, or nothing.
Measured = float | int | str | None


class Verdict(StrEnum):
    """How a check came out. Only ``FAIL`` breaks a promise; ``inconclusive`` means it could
    not be decided here (the machine too slow to drive the check, the budget too short), which
    is never a failure, as Jepsen's ``:unknown`` is not."""

    PASS = "pass"  # measured, and within the expectation
    FAIL = "FAIL"  # positive evidence that the expectation is broken
    INCONCLUSIVE = "inconclusive"  # expected, but not decidable here; the reason says why
    INFO = "info"  # measured; nothing was expected, so nothing to judge
    SKIPPED = "skipped"  # not measurable here (and nothing was expected)


# What each exit status of a run means; a tool error (bad input, no server) is 2, elsewhere.
EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_INCONCLUSIVE = 3


@dataclass(frozen=True, kw_only=True)
class CheckResult:
    """One row: ``value`` is the machine-readable measurement, ``measured`` its display."""

    check: str
    expected: str | None
    measured: str
    verdict: Verdict
    value: Measured = None
    reason: str = ""
    detail: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.check, str) or not self.check:
            raise ValueError(f"check: expected a check name, got {self.check!r}")
        if not isinstance(self.verdict, Verdict):
            raise ValueError(f"verdict: expected a Verdict, got {self.verdict!r}")
        if not isinstance(self.measured, str):
            raise ValueError(f"measured: expected text, got {self.measured!r}")

    def to_json(self) -> dict[str, object]:
        """A JSON-safe dict (the same cells the table shows, plus value, reason and detail)."""
        return {
            "check": self.check,
            "expected": self.expected,
            "measured": self.measured,
            "verdict": self.verdict.value,
            "value": self.value,
            "reason": self.reason,
            "detail": self.detail,
        }


def exit_code(results: Sequence[CheckResult]) -> int:
    """1 when a promise is broken; else 3 when one could not be decided; else 0."""
    verdicts = {r.verdict for r in results}
    if Verdict.FAIL in verdicts:
        return EXIT_FAIL
    return EXIT_INCONCLUSIVE if Verdict.INCONCLUSIVE in verdicts else EXIT_PASS


def undecided(
    check: str,
    expectations: Expectations,
    why: str,
    *,
    measured: str | None = None,
    detail: dict[str, object] | None = None,
) -> CheckResult:
    """A check that could not be decided here: inconclusive if something was expected of it
    (never a failure: nothing showed the promise broken), else skipped. ``why`` says why,
    with its numbers; ``measured`` is what was measured, if anything was."""
    expected = expectations.display(check)
    return CheckResult(
        check=check,
        expected=expected,
        measured=f"not measured: {why}" if measured is None else measured,
        verdict=Verdict.SKIPPED if expected is None else Verdict.INCONCLUSIVE,
        reason="" if expected is None else f"expected {expected}, but {why}",
        detail=detail or {},
    )


def judged(
    check: str,
    expectations: Expectations,
    *,
    measured: str,
    value: Measured,
    holds: bool,
    failure: str,
    detail: dict[str, object],
) -> CheckResult:
    """The row of a check measured as ``measured``: info when nothing was promised of it, else
    pass when the promise ``holds``, or fail with ``failure`` as the reason."""
    if expectations.get(check) is None:
        verdict, reason = Verdict.INFO, ""
    elif holds:
        verdict, reason = Verdict.PASS, ""
    else:
        verdict, reason = Verdict.FAIL, failure
    return CheckResult(
        check=check,
        expected=expectations.display(check),
        measured=measured,
        verdict=verdict,
        value=value,
        reason=reason,
        detail=detail,
    )
