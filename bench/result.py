"""What a measurement hands back: a section (rows for JSON, columns for markdown) and verdicts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Column", "Section", "Verdict"]


@dataclass(frozen=True, slots=True)
class Column:
    """One table column: the row key it shows, its header, and how a value is printed."""

    key: str
    header: str
    fmt: Callable[[object], str] = str


@dataclass(frozen=True, slots=True)
class Verdict:
    """One target of the issue: met (True/False) or not measurable here (None), and why."""

    target: str
    measured: str
    met: bool | None
    why: str = ""

    def to_json(self) -> dict[str, object]:
        return {"target": self.target, "measured": self.measured, "met": self.met, "why": self.why}


@dataclass(slots=True)
class Section:
    """One measurement's results; each row is JSON-ready and includes "contender"."""

    key: str
    title: str
    columns: list[Column]
    rows: list[dict[str, object]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    seconds: float = 0.0

    def row(self, contender: str) -> dict[str, object] | None:
        return next((r for r in self.rows if r.get("contender") == contender), None)

    def to_json(self) -> dict[str, object]:
        return {
            "title": self.title,
            "rows": self.rows,
            "notes": self.notes,
            "verdicts": [v.to_json() for v in self.verdicts],
            "seconds": round(self.seconds, 1),
        }
