"""What every subcommand shares: output flags, the target check and running a plan."""

from __future__ import annotations

import argparse
import json
import sys

from ..engine.fdlimit import FdLimitError
from ..plan import Plan
from ..runner import Progress, run
from ..target import Target, unreachable
from .table import format_table
from .usage import UsageError

__all__ = ["LONG_RUN", "add_output_flags", "check_target", "execute"]

# Runs at least this long report progress on stderr.
LONG_RUN = 2.0


def add_output_flags(parser: argparse.ArgumentParser) -> None:
    """``--json``, ``--allow-remote`` and ``--quiet``."""
    parser.add_argument("--json", action="store_true", help="print the whole result as JSON")
    parser.add_argument(
        "--allow-remote", action="store_true", help="allow a target that is not loopback"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")


def check_target(text: str, *, allow_remote: bool) -> Target:
    """Parse, refuse non-loopback without the opt-in, and make sure something listens."""
    try:
        target = Target.parse(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:
        loopback = target.is_loopback()
    except OSError as exc:
        raise UsageError(f"cannot resolve {target}: {exc.strerror or exc}") from None
    if not loopback and not allow_remote:
        raise UsageError(
            f"refusing non-loopback target {target}; pass --allow-remote to aim elsewhere"
        )
    why = unreachable(target)
    if why is not None:
        raise UsageError(f"cannot reach {target}: {why}")
    return target


def _show_progress(progress: Progress) -> None:
    print(
        f"chaos: {progress.elapsed:.0f}/{progress.horizon:g} s, {progress.open} open, "
        f"{progress.finished}/{progress.total} finished",
        file=sys.stderr,
        flush=True,
    )


def execute(plan: Plan, target: Target, args: argparse.Namespace) -> int:
    """Run ``plan`` and print the table (or JSON); the exit status is 0 when it ran."""
    show = None if args.quiet or plan.horizon < LONG_RUN else _show_progress
    try:
        result = run(plan, target=target, progress=show)
    except FdLimitError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps(result.to_json(), indent=1))
    else:
        print(format_table(result))
    return 0
