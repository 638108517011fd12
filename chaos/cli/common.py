"""What every subcommand shares: output flags, the target check and running a plan."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from ..engine.fdlimit import LimitError
from ..engine.processes import ShardError, shard_count
from ..engine.segment import WHOLE, Segment
from ..plan import Plan
from ..protocols import PROFILES, Profile, get_profile, profile_named
from ..result import ChaosResult
from ..runner import Progress, clients_in, run
from ..target import Target, unreachable
from .table import format_table
from .usage import UsageError, one_line

__all__ = [
    "EXIT_FAILED",
    "LONG_RUN",
    "ProgressLine",
    "add_output_flags",
    "add_run_flags",
    "check_target",
    "execute",
    "print_result",
]

# A run that could not finish (a shard process died): not bad input, not a result either.
EXIT_FAILED = 1

# Runs at least this long report progress on stderr.
LONG_RUN = 2.0


def add_output_flags(parser: argparse.ArgumentParser, *, protocol: bool = True) -> None:
    """``--json``, ``--allow-remote``, ``--quiet`` and (unless the fault speaks one itself)
    ``--protocol``, the profile the table reads replies with."""
    parser.add_argument("--json", action="store_true", help="print the whole result as JSON")
    if protocol:
        parser.add_argument(
            "--protocol",
            choices=tuple(PROFILES),
            help="read replies as this protocol: the table counts its rejections apart",
        )
    parser.add_argument(
        "--allow-remote", action="store_true", help="allow a target that is not loopback"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")


def _addresses(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def add_run_flags(parser: argparse.ArgumentParser) -> None:
    """``--processes`` and ``--source``: how a plan is spread over cores and addresses."""
    parser.add_argument(
        "--processes",
        type=int,
        metavar="N",
        help="processes sharing the clients (default: one per core, fewer for a small plan, "
        "more when one process's open-file limit is too low)",
    )
    parser.add_argument(
        "--source",
        type=_addresses,
        default=(),
        metavar="ADDR[,ADDR...]",
        help="source addresses to bind (default: the system's; a loopback target gets "
        "127.0.0.0/8 addresses when one address has too few ports)",
    )


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


class ProgressLine:
    """One progress line on stderr for the whole run: rewritten in place on a terminal, a
    line per report otherwise (a log keeps them all)."""

    def __init__(self, processes: int, stream: TextIO | None = None) -> None:
        self.processes = processes
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.shown = False

    def __call__(self, progress: Progress) -> None:
        text = (
            f"chaos: {progress.elapsed:.0f}/{progress.horizon:g} s, {progress.open:,} open, "
            f"{progress.finished:,}/{progress.total:,} finished"
        )
        if self.processes > 1:
            text += f" ({self.processes} processes)"
        if self.live:
            self.stream.write(f"\r{text}\x1b[K")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.live and self.shown:
            self.stream.write("\n")
            self.stream.flush()


def print_result(result: ChaosResult, args: argparse.Namespace) -> None:
    """The whole result as JSON with ``--json``, else the table."""
    if args.json:
        print(json.dumps(result.to_json(), indent=1))
    else:
        name = getattr(args, "protocol", None)
        print(format_table(result, None if name is None else _profile(name, args)))


def execute(
    plan: Plan,
    target: Target,
    args: argparse.Namespace,
    *,
    segment: Segment = WHOLE,
    start_at: float | None = None,
) -> int:
    """Run ``plan`` (or its ``segment``) and print the table or JSON; 0 when it ran."""
    try:
        processes = shard_count(args.processes, clients_in(plan, [segment])[0])
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    show = None if args.quiet or plan.horizon < LONG_RUN else ProgressLine(processes)
    try:
        result = run(
            plan,
            target=target,
            progress=show,
            processes=processes,
            segment=segment,
            start_at=start_at,
            sources=args.source,
        )
    except (LimitError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    except ShardError as exc:
        print(f"chaos: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        if show is not None:
            show.close()
    print_result(result, args)
    return 0


def _profile(name: str, args: argparse.Namespace) -> Profile:
    """The profile ``--protocol`` names (a fault that speaks one, ``ask``, may make its own)."""
    if name in PROFILES:
        return get_profile(name)
    return profile_named(
        name,
        send=args.send or "",
        match=args.match or "",
        reject=args.reject or "",
        speaks_first=bool(getattr(args, "speaks_first", False)),
    )
