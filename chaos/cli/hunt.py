"""``python -m chaos hunt``: search client scripts for the longest hold without progress.

Prints the verdict table per measure (or ``--json``), writes the plan of the worst attack
with ``--write-worst PATH`` (``chaos run PATH`` replays it), and exits as ``chaos verify``
does: 0 when every bound holds, 1 when one is broken (and broken again on replay), 3 when
one could not be decided, 2 on bad input or an unreachable target. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ..hunt import DEFAULT_BUDGET, HuntBounds, HuntResult, hunt
from ..hunt.search import DEFAULT_CONNECT_TIMEOUT, DEFAULT_MOVES
from ..script.grammar import GRAMMARS
from ..script.strategies import moves
from ..verify.expectations import parse_expectations
from ..verify.settings import WIRE_TOLERANCE
from . import DEFERRED
from .common import check_target
from .usage import Subparsers, UsageError

__all__ = ["handle", "register"]

EPILOG = """The bound comes from --expect idle-timeout=S request-timeout=S [write-timeout=S]
(no connection held without progress longer than idle + request, + write while a response
is unread; no probe unserved longer), or is given outright with --bound S.
example: chaos hunt --target 127.0.0.1:8080 --expect idle-timeout=5 request-timeout=10"""


def register(subparsers: Subparsers) -> None:
    """Add the ``hunt`` subcommand."""
    parser = subparsers.add_parser(
        "hunt",
        help=DEFERRED["hunt"][1],
        description=(__doc__ or "").splitlines()[0],
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--target", metavar="HOST:PORT", required=True, help="server (loopback)")
    parser.add_argument(
        "--expect",
        metavar="KEY=VALUE",
        nargs="+",
        action="extend",
        default=[],
        help="the server's timeouts, as chaos verify takes them (repeatable)",
    )
    parser.add_argument("--bound", type=float, metavar="S", help="the bound, given outright")
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET, metavar="S")
    parser.add_argument("--seed", type=int, default=0, help="the same seed, the same search")
    parser.add_argument(
        "--clients", type=int, default=1, metavar="K", help="clients of each script (workers)"
    )
    parser.add_argument("--protocol", choices=tuple(GRAMMARS), default="http")
    parser.add_argument("--max-moves", type=int, default=DEFAULT_MOVES, metavar="N")
    parser.add_argument(
        "--moves", metavar="NAME,...", help="only these moves (e.g. pin,whole); default all"
    )
    parser.add_argument(
        "--max-shrinks", type=int, metavar="N", help="trials to spend shrinking (default: budget)"
    )
    parser.add_argument(
        "--connect-timeout", type=float, default=DEFAULT_CONNECT_TIMEOUT, metavar="S"
    )
    parser.add_argument("--tolerance", type=float, default=WIRE_TOLERANCE, metavar="S")
    parser.add_argument("--write-worst", metavar="PATH", help="write the worst attack's plan")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.set_defaults(handler=handle)


def _moves(args: argparse.Namespace) -> tuple[str, ...] | None:
    if args.moves is None:
        return None
    chosen = tuple(m.strip() for m in args.moves.split(",") if m.strip())
    known = moves(args.protocol)
    unknown = [m for m in chosen if m not in known]
    if unknown or not chosen:
        raise UsageError(f"moves: expected names from {', '.join(known)}, got {args.moves!r}")
    return chosen


def _bounds(args: argparse.Namespace) -> HuntBounds:
    try:
        promised = parse_expectations(args.expect)
        bounds = HuntBounds.from_expectations(promised, tolerance=args.tolerance)
        if args.bound is not None:
            bounds = HuntBounds(
                idle_timeout=bounds.idle_timeout,
                request_timeout=bounds.request_timeout,
                write_timeout=bounds.write_timeout,
                hold=args.bound,
                tolerance=args.tolerance,
            )
        if not args.connect_timeout > 0:
            raise ValueError(f"connect-timeout: must be > 0, got {args.connect_timeout!r}")
        if not args.budget > 0:
            raise ValueError(f"budget: must be > 0 seconds, got {args.budget!r}")
        if args.clients < 1:
            raise ValueError(f"clients: must be >= 1, got {args.clients!r}")
        if args.max_shrinks is not None and args.max_shrinks < 0:
            raise ValueError(f"max-shrinks: must be >= 0, got {args.max_shrinks!r}")
        if args.max_moves < 1:
            raise ValueError(f"max-moves: must be >= 1, got {args.max_moves!r}")
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return bounds


def _write_worst(result: HuntResult, path: str) -> None:
    if result.worst is None:
        return
    try:
        Path(path).write_text(json.dumps(result.worst.to_json(), indent=1) + "\n")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def handle(args: argparse.Namespace) -> int:
    """Check the input and the target, hunt, print, write the worst plan."""
    bounds = _bounds(args)
    chosen = _moves(args)
    target = check_target(args.target, allow_remote=False)
    began = time.monotonic()

    def say(text: str) -> None:
        if not args.quiet:
            print(f"hunt {time.monotonic() - began:5.1f}s {text}", file=sys.stderr, flush=True)

    say(f"hunting {target} ({args.protocol}), budget {args.budget:g} s, seed {args.seed}")
    result = hunt(
        target,
        bounds,
        budget=args.budget,
        seed=args.seed,
        clients=args.clients,
        protocol=args.protocol,
        max_moves=args.max_moves,
        moves=chosen,
        shrinks=args.max_shrinks,
        connect_timeout=args.connect_timeout,
        say=say,
    )
    if args.write_worst:
        _write_worst(result, args.write_worst)
    if args.json:
        print(json.dumps(result.to_json(), indent=1))
    else:
        print(result.table())
        if args.write_worst and result.worst is not None:
            print(f"worst attack: {args.write_worst} (replay: chaos run {args.write_worst})")
    return result.exit_code
