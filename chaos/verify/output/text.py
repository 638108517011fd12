"""A verify run as people read it on a terminal: the verdict table and the one-line summary."""

from __future__ import annotations

from collections.abc import Sequence

from ..verdict import CheckResult, Verdict

__all__ = ["failed", "format_table", "summary_line"]


def failed(results: Sequence[CheckResult]) -> list[CheckResult]:
    """The rows whose verdict fails the run."""
    return [r for r in results if r.verdict is Verdict.FAIL]


def summary_line(results: Sequence[CheckResult], duration: float) -> str:
    """One line: every expectation held, or which ones failed."""
    judged = [r for r in results if r.verdict in (Verdict.PASS, Verdict.FAIL)]
    bad = failed(results)
    if bad:
        names = ", ".join(r.check for r in bad)
        return f"FAILED: {len(bad)} of {len(judged)} expectations ({names}) in {duration:.1f} s"
    if not judged:
        return f"measured only (no expectations given) in {duration:.1f} s"
    return f"ok: all {len(judged)} expectations hold, in {duration:.1f} s"


def format_table(results: Sequence[CheckResult]) -> str:
    """Check, expected, measured, verdict: aligned columns, reasons for failures underneath."""
    header = ("check", "expected", "measured", "verdict")
    rows = [(r.check, r.expected or "-", r.measured, r.verdict.value) for r in results]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    lines = []
    for row in [header, *rows]:
        cells = [row[i].ljust(widths[i]) for i in range(3)]
        lines.append("  " + "  ".join([*cells, row[3]]).rstrip())
    for r in failed(results):
        if r.reason:
            lines.append(f"  {r.check}: {r.reason}")
    return "\n".join(lines)
