"""``chaos run PLAN.json``: run a saved plan, or replay the plan inside a saved result.

``--segment I/N`` runs one host's share of the plan and ``--start-at EPOCH`` starts its clock
at that wall-clock second, so the segments of one plan run on several hosts together;
``chaos merge`` joins their results.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..engine.segment import Segment
from ..jsondata import parse
from ..plan import Plan
from .common import add_output_flags, add_run_flags, check_target, execute
from .usage import Subparsers, UsageError

__all__ = ["handle", "load_plan", "read_json", "register"]


def read_json(path: str) -> Any:
    """The JSON in file ``path``; UsageError (one line) if it cannot be read or parsed."""
    try:
        return parse(Path(path).read_bytes(), path)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def load_plan(path: str) -> Plan:
    """A plan from a plan file or from a result file's ``plan`` (exact replay)."""
    data = read_json(path)
    if isinstance(data, dict) and "records" in data and "plan" in data:
        data = data["plan"]
    try:
        return Plan.from_json(data)
    except ValueError as exc:
        raise UsageError(f"{path}: {exc}") from None


def handle(args: argparse.Namespace) -> int:
    """Load, check the target, run (one segment, if asked)."""
    plan = load_plan(args.plan)
    try:
        segment = Segment.parse(args.segment)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    text = args.target or plan.target
    if text is None:
        raise UsageError("target: the plan has none; pass --target HOST:PORT")
    target = check_target(text, allow_remote=args.allow_remote)
    return execute(plan, target, args, segment=segment, start_at=args.start_at)


def register(subparsers: Subparsers) -> None:
    """Add the ``run`` subcommand."""
    parser = subparsers.add_parser(
        "run",
        help="run a plan (or replay a result) from JSON",
        description="Run a plan saved as JSON, or replay exactly the plan inside a saved result.",
        epilog="example: chaos run plan.json --target 127.0.0.1:8080 --json > result.json",
    )
    parser.add_argument("plan", metavar="PLAN.json", help="a plan, or a result to replay")
    parser.add_argument("--target", metavar="HOST:PORT", help="override the plan's target")
    parser.add_argument(
        "--segment",
        default="0:1",
        metavar="I/N|FROM:TO",
        help="run only this part of the plan: the I-th (from 0) of N equal segments, or a "
        "fraction range such as 1/4:1/2 (default: all of it)",
    )
    parser.add_argument(
        "--start-at",
        type=float,
        metavar="EPOCH",
        help="start the plan's clock at this Unix time, so segments on several hosts start "
        "together (default: now)",
    )
    add_output_flags(parser)
    add_run_flags(parser)
    parser.set_defaults(handler=handle)
