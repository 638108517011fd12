"""``chaos run PLAN.json``: run a saved plan, or replay the plan inside a saved result."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..jsondata import as_object
from ..plan import Plan
from .common import add_output_flags, check_target, execute
from .usage import Subparsers, UsageError

__all__ = ["handle", "load_plan", "register"]


def load_plan(path: str) -> Plan:
    """A plan from a plan file or from a result file's ``plan`` (exact replay)."""
    try:
        data = as_object(Path(path).read_bytes(), path)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if "records" in data and "plan" in data:
        data = data["plan"]
    try:
        return Plan.from_json(data)
    except ValueError as exc:
        raise UsageError(f"{path}: {exc}") from None


def handle(args: argparse.Namespace) -> int:
    """Load, check the target, run."""
    plan = load_plan(args.plan)
    text = args.target or plan.target
    if text is None:
        raise UsageError("target: the plan has none; pass --target HOST:PORT")
    return execute(plan, check_target(text, allow_remote=args.allow_remote), args)


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
    add_output_flags(parser)
    parser.set_defaults(handler=handle)
