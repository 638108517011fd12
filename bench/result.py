"""What a measurement hands back: a section of typed rows (JSON and markdown) and its verdicts.

Each measurement declares its row as a dataclass (a subclass of :class:`Row`); a contender
that could not run gets a :class:`Failed` or :class:`Absent` row instead. The CLI times each
section: measurements do not.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["Absent", "Column", "Failed", "Row", "Section", "Verdict"]


@dataclass(kw_only=True)
class Row:
    """One contender's line of a table; a subclass adds the measured fields."""

    contender: str

    def cell(self, key: str) -> object:
        """The value a column shows, or None when this row has no such field."""
        return getattr(self, key, None)

    def to_json(self) -> dict[str, object]:
        return dataclasses.asdict(self)


@dataclass(kw_only=True)
class Failed(Row):
    """A contender that started but could not be measured (it did not listen, a socket broke)."""

    error: str


@dataclass(kw_only=True)
class Absent(Row):
    """A contender not installed here, and why."""

    absent: str


R = TypeVar("R", bound=Row)


@dataclass(frozen=True, slots=True)
class Column:
    """One table column: the row field it shows, its header, and how a value is printed."""

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
class Section(Generic[R]):
    """One measurement's results: rows of type ``kind``, or the contenders that failed."""

    key: str
    title: str
    kind: type[R]
    columns: list[Column]
    rows: list[R | Failed | Absent] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    seconds: float = 0.0  # set by the CLI, which times every section the same way

    def measured(self, contender: str | None = None) -> Iterator[R]:
        """The rows measured (not failed or absent), of ``contender`` if given, in order."""
        for row in self.rows:
            if isinstance(row, self.kind) and contender in (None, row.contender):
                yield row

    def row(self, contender: str) -> R | None:
        """The first measured row of ``contender``, or None."""
        return next(self.measured(contender), None)

    def to_json(self) -> dict[str, object]:
        return {
            "title": self.title,
            "rows": [row.to_json() for row in self.rows],
            "notes": self.notes,
            "verdicts": [v.to_json() for v in self.verdicts],
            "seconds": round(self.seconds, 1),
        }
