"""A hunt's result: per measure the worst found, the bound, the verdict and the smallest
script that broke it, plus the plan to replay; JSON and the table people read.

Rows are verify's :class:`~chaos.verify.verdict.CheckResult` s, judged the same way: FAIL
only on positive evidence (a script that broke the bound, and broke it again on replay),
inconclusive when the hunt could not decide (no trial fitted the budget, or a violation
seen once did not replay), so the exit status means what ``chaos verify``'s does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..jsondata import JSONObject
from ..plan import Plan
from ..verify.output.text import format_table
from ..verify.verdict import CheckResult, exit_code

__all__ = ["FORMAT_VERSION", "HuntResult"]

# Bumped when a field changes meaning.
FORMAT_VERSION = 1


@dataclass(frozen=True, kw_only=True)
class HuntResult:
    """Everything a hunt found; ``worst`` is the plan of its worst attack, ready to replay."""

    target: str
    seed: int
    budget: float
    rows: tuple[CheckResult, ...]
    worst: Plan | None
    examples: int
    duration: float
    search: str  # a digest of every script tried, in order: the same seed gives the same one
    found_after: float | None = None  # seconds into the hunt when a bound first broke
    found_at: int | None = None  # and at which example
    notes: tuple[str, ...] = field(default_factory=tuple)
    budget_ran_out: bool = False

    @property
    def exit_code(self) -> int:
        """0 when every bound holds, 1 when one is broken, 3 when one could not be decided."""
        return exit_code(self.rows)

    def row(self, measure: str) -> CheckResult:
        """The row of ``measure`` (``hold``, ``probe`` or ``worker``)."""
        for row in self.rows:
            if row.check == measure:
                return row
        raise KeyError(f"no {measure!r} row; rows: {', '.join(r.check for r in self.rows)}")

    def to_json(self) -> JSONObject:
        """A JSON-safe dict (the worst plan included, as ``chaos run`` reads it)."""
        return {
            "version": FORMAT_VERSION,
            "target": self.target,
            "seed": self.seed,
            "budget": self.budget,
            "duration": self.duration,
            "examples": self.examples,
            "search": self.search,
            "found_after": self.found_after,
            "found_at": self.found_at,
            "budget_ran_out": self.budget_ran_out,
            "exit_code": self.exit_code,
            "notes": list(self.notes),
            "measures": [row.to_json() for row in self.rows],
            "worst": None if self.worst is None else self.worst.to_json(),
        }

    def table(self) -> str:
        """The verdict table, the worst scripts under it, and a line of what the search did."""
        lines = [f"chaos hunt: {self.target} (seed {self.seed}, budget {self.budget:g} s)"]
        lines.append(format_table(self.rows))
        for row in self.rows:
            steps = row.detail.get("steps")
            if steps:
                lines.append(f"  {row.check} worst script: {steps}")
        for note in self.notes:
            lines.append(f"  note: {note}")
        found = ""
        if self.found_after is not None:
            found = f"; a bound first broke at example {self.found_at}, {self.found_after:.1f} s in"
        lines.append(f"{self.examples} scripts tried in {self.duration:.1f} s{found}")
        return "\n".join(lines)
