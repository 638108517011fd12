"""Output: the markdown tables (one per measurement, then the targets) and the JSON file."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .result import Absent, Failed, Row, Section

__all__ = ["markdown", "write_json"]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _problem(row: Row) -> str | None:
    if isinstance(row, Absent):
        return row.absent
    if isinstance(row, Failed):
        return f"failed: {row.error}"
    return None


def _table(section: Section[Any]) -> list[str]:
    headers = [c.header for c in section.columns]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in section.rows:
        problem = _problem(row)
        if problem:
            cells = [row.contender, problem] + ["-"] * (len(headers) - 2)
        else:
            cells = [
                "-" if row.cell(column.key) is None else column.fmt(row.cell(column.key))
                for column in section.columns
            ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return lines


def _verdicts(sections: Sequence[Section[Any]]) -> list[str]:
    lines = ["## Targets", "", "| target | measured | met |", "|---|---|---|"]
    for section in sections:
        for v in section.verdicts:
            met = "n/a" if v.met is None else ("yes" if v.met else "**NO**")
            why = f" ({v.why})" if v.why else ""
            lines.append(f"| {_cell(v.target)} | {_cell(v.measured)}{_cell(why)} | {met} |")
    return lines


def markdown(meta: dict[str, object], sections: Sequence[Section[Any]]) -> str:
    """The whole report as markdown: a header of facts, each measurement, then the targets."""
    lines = ["# Benchmark", ""]
    lines += [f"- {key}: {value}" for key, value in meta.items()]
    for section in sections:
        lines += ["", f"## {section.title}", "", *_table(section)]
        lines += [f"\n_{note}_" for note in section.notes]
        lines.append(f"\n_({section.seconds:.0f} s)_")
    lines += ["", *_verdicts(sections), ""]
    return "\n".join(lines)


def write_json(path: Path, meta: dict[str, object], sections: Sequence[Section[Any]]) -> None:
    """Everything measured, raw numbers included, as one JSON object."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "meta": meta,
        "measures": {s.key: s.to_json() for s in sections},
        "targets": [v.to_json() for s in sections for v in s.verdicts],
    }
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
