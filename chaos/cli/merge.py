"""``chaos merge RESULT.json ...``: the results of a plan's segments as one result.

Each segment of a plan (``chaos run PLAN --segment I/N --json``, one per host) leaves a
result; merged, they are the result one process running the whole plan would have left:
every record by client index, the counts and distributions over all of them.
"""

from __future__ import annotations

import argparse

from ..merge import merge
from ..result import ChaosResult
from .common import print_result
from .run import read_json
from .usage import Subparsers, UsageError

__all__ = ["handle", "register"]


def handle(args: argparse.Namespace) -> int:
    """Load every result, merge, print the table (or JSON)."""
    results = []
    for path in args.results:
        try:
            results.append(ChaosResult.from_json(read_json(path)))
        except ValueError as exc:
            raise UsageError(f"{path}: {exc}") from None
    try:
        merged = merge(results)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not merged.segment.whole:
        raise UsageError(f"segment: the results cover {merged.segment} of the plan, not all of it")
    print_result(merged, args)
    return 0


def register(subparsers: Subparsers) -> None:
    """Add the ``merge`` subcommand."""
    parser = subparsers.add_parser(
        "merge",
        help="merge the results of a plan's segments into one result",
        description="Merge the results of a plan's segments (chaos run --segment I/N --json) "
        "into the result one process running the whole plan would have left.",
        epilog="example: chaos merge r0.json r1.json r2.json r3.json",
    )
    parser.add_argument("results", nargs="+", metavar="RESULT.json", help="a segment's result")
    parser.add_argument("--json", action="store_true", help="print the whole result as JSON")
    parser.set_defaults(handler=handle)
