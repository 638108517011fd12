"""What every subcommand shares: output flags, the target check and running a plan."""

from __future__ import annotations

import argparse
import json
import socket
import sys

from ..engine.fdlimit import FdLimitError
from ..plan import Plan
from ..protocols import PROFILES, Profile, get_profile, profile_named
from ..runner import Progress, run
from ..target import Target
from .table import format_table
from .usage import UsageError

__all__ = ["LONG_RUN", "PREFLIGHT_TIMEOUT", "add_output_flags", "check_target", "execute"]

# A reachable loopback server answers a handshake in microseconds; a second is generous.
PREFLIGHT_TIMEOUT = 1.0
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
    try:
        with socket.create_connection((target.host, target.port), timeout=PREFLIGHT_TIMEOUT):
            pass
    except TimeoutError:
        raise UsageError(f"cannot reach {target}: connect timed out") from None
    except OSError as exc:
        raise UsageError(f"cannot reach {target}: {exc.strerror or exc}") from None
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
        name = getattr(args, "protocol", None)
        print(format_table(result, None if name is None else _profile(name, args)))
    return 0


def _profile(name: str, args: argparse.Namespace) -> Profile:
    """The profile ``--protocol`` names (a fault that speaks one, ``ask``, may make its own)."""
    if name in PROFILES:
        return get_profile(name)
    return profile_named(
        name, send=args.send or "", match=args.match or "", reject=args.reject or ""
    )
