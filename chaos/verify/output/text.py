"""A verify run as people read it on a terminal: the verdict table and the one-line summary."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from ..verdict import CheckResult, Verdict

__all__ = ["failed", "format_table", "summary_line"]

# The verdicts of a check that carried an expectation.
_EXPECTED = (Verdict.PASS, Verdict.FAIL, Verdict.INCONCLUSIVE)
# The verdicts whose reason is printed under the table.
_EXPLAINED = (Verdict.FAIL, Verdict.INCONCLUSIVE)
# A longer measured cell wraps onto lines of its own, so the verdicts stay in one column a
# terminal can show.
MEASURED_WIDTH = 60
_NOT_MEASURED = "not measured: "


def failed(results: Sequence[CheckResult]) -> list[CheckResult]:
    """The rows whose verdict fails the run."""
    return [r for r in results if r.verdict is Verdict.FAIL]


def summary_line(results: Sequence[CheckResult], duration: float) -> str:
    """One line: every expectation held, which ones failed, or which could not be decided."""
    judged = [r for r in results if r.verdict in _EXPECTED]
    bad = failed(results)
    open_ = [r for r in results if r.verdict is Verdict.INCONCLUSIVE]
    undecided = f"; {len(open_)} inconclusive ({', '.join(r.check for r in open_)})"
    if bad:
        names = ", ".join(r.check for r in bad)
        line = f"FAILED: {len(bad)} of {len(judged)} expectations ({names})"
        return line + (undecided if open_ else "") + f" in {duration:.1f} s"
    if open_:
        names = ", ".join(r.check for r in open_)
        held = len(judged) - len(open_)
        rest = f"; the other {held} hold" if held else ""
        return (
            f"INCONCLUSIVE: {len(open_)} of {len(judged)} expectations could not be decided "
            f"here ({names}){rest}, in {duration:.1f} s"
        )
    if not judged:
        return f"measured only (no expectations given) in {duration:.1f} s"
    return f"ok: all {len(judged)} expectations hold, in {duration:.1f} s"


def format_table(results: Sequence[CheckResult]) -> str:
    """Check, expected, measured, verdict: aligned columns, a long measured cell wrapped;
    underneath, the reason of every failure and of every check that could not be decided."""
    header = ("check", "expected", "measured", "verdict")
    rows = [(r.check, r.expected or "-", _measured(r), r.verdict.value) for r in results]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(2)]
    widths.append(min(MEASURED_WIDTH, max(len(row[2]) for row in [header, *rows])))
    lines = []
    for row in [header, *rows]:
        first, *rest = textwrap.wrap(row[2], widths[2], break_on_hyphens=False) or [""]
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1]), first.ljust(widths[2])]
        lines.append("  " + "  ".join([*cells, row[3]]).rstrip())
        indent = " " * (2 + widths[0] + 2 + widths[1] + 2)
        lines += [indent + more for more in rest]
    for r in results:
        if r.reason and r.verdict in _EXPLAINED:
            lines.append(f"  {r.check}: {r.reason}")
    return "\n".join(lines)


def _measured(result: CheckResult) -> str:
    """The measured cell: why nothing was measured is said once, in the reason underneath."""
    if result.reason and result.verdict in _EXPLAINED and result.measured.startswith(_NOT_MEASURED):
        return "not measured (why: below)"
    return result.measured
