"""Verdicts: one row per check (expected, measured, verdict), judged against its promise."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from .expectations import Expectations

__all__ = ["CheckResult", "Measured", "Verdict", "judged"]

# A check's machine-readable measurement: seconds, a count, a share, a behaviour, or nothing.
Measured = float | int | str | None


class Verdict(StrEnum):
    """How a check came out. Only ``fail`` makes the run fail."""

    PASS = "pass"  # measured, and within the expectation
    FAIL = "FAIL"  # measured outside the expectation, or not measurable though expected
    INFO = "info"  # measured; nothing was expected, so nothing to judge
    SKIPPED = "skipped"  # not measurable here (and nothing was expected)


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
