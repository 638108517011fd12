"""``python -m chaos verify``: does the server enforce what it promises, and stay available?

Registered in :data:`chaos.cli.COMMAND_MODULES`. Prints the verdict table (or ``--json``),
optionally writes an HTML report, and exits 0 when every expectation holds, 1 when any
fails, 2 on bad input or an unreachable target. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from ..target import Target
from ..verify import settings as defaults
from ..verify.embedded import EmbeddedError, embedded_server
from ..verify.expectations import KEYS, Expectations, parse_expectations
from ..verify.output.export import run_to_json
from ..verify.output.html import render_html
from ..verify.run import VerifyRun, verify
from ..verify.settings import CHECKS, PROTOCOLS, VerifySettings
from ..verify.verdict import format_table
from .common import check_target
from .usage import UsageError

__all__ = ["handle", "register"]

EPILOG = f"""expectation keys: {", ".join(KEYS)}.
Timeouts take seconds or 'none'; max-connections a count or 'none'; half-close respond|close;
flood and resets 'survives'; hogging 'available'. Without --target, an embedded toolkit
server with its default configuration is verified against that configuration."""


def _checks(text: str) -> tuple[str, ...]:
    chosen = tuple(c.strip() for c in text.split(",") if c.strip())
    unknown = [c for c in chosen if c not in CHECKS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"unknown check {unknown[0] if unknown else text!r}; known: {', '.join(CHECKS)}"
        )
    return chosen


def register(subparsers: Any) -> None:
    """Add the ``verify`` subcommand."""
    parser = subparsers.add_parser(
        "verify",
        help="check a server's timeouts and limits and its availability under attack",
        description=__doc__.splitlines()[0],
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--target", metavar="HOST:PORT", help="server to verify (loopback)")
    parser.add_argument("--protocol", choices=PROTOCOLS, default="http", help="default: http")
    parser.add_argument(
        "--expect",
        metavar="KEY=VALUE",
        nargs="+",
        action="extend",
        default=[],
        help="what the server promises (repeatable); see the keys below",
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        default=defaults.WIRE_TOLERANCE,
        metavar="SECONDS",
        help=f"allowed timing error (default: {defaults.WIRE_TOLERANCE:g})",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=defaults.DEFAULT_BUDGET,
        metavar="SECONDS",
        help=f"the whole run ends within this (default: {defaults.DEFAULT_BUDGET:g})",
    )
    parser.add_argument(
        "--cap",
        type=float,
        default=defaults.DEFAULT_CAP,
        metavar="SECONDS",
        help="longest wait for a timeout nothing was promised about "
        f"(default: {defaults.DEFAULT_CAP:g})",
    )
    parser.add_argument(
        "--checks",
        type=_checks,
        default=CHECKS,
        metavar="LIST",
        help=f"comma-separated subset of: {','.join(CHECKS)}",
    )
    parser.add_argument(
        "--large-path",
        default=defaults.DEFAULT_LARGE_PATH,
        metavar="PATH",
        help="a path answering >= 4 MiB, for the write check "
        f"(default: {defaults.DEFAULT_LARGE_PATH})",
    )
    parser.add_argument(
        "--flood",
        type=int,
        default=defaults.DEFAULT_FLOOD,
        metavar="N",
        help=f"flood connections (default: {defaults.DEFAULT_FLOOD})",
    )
    parser.add_argument(
        "--resets",
        type=int,
        default=defaults.DEFAULT_RESETS,
        metavar="N",
        help=f"RST clients (default: {defaults.DEFAULT_RESETS})",
    )
    parser.add_argument(
        "--hogs",
        type=int,
        default=defaults.DEFAULT_HOGS,
        metavar="N",
        help=f"idle and slowloris clients, each (default: {defaults.DEFAULT_HOGS})",
    )
    parser.add_argument(
        "--hog-time",
        type=float,
        default=defaults.DEFAULT_HOG_TIME,
        metavar="SECONDS",
        help=f"seconds of probing under hogging (default: {defaults.DEFAULT_HOG_TIME:g})",
    )
    parser.add_argument(
        "--max-hold",
        type=int,
        default=defaults.DEFAULT_MAX_HOLD,
        metavar="N",
        help="most connections the concurrency ramp holds (default: "
        f"{defaults.DEFAULT_MAX_HOLD}, more if max-connections needs it)",
    )
    parser.add_argument(
        "--raw-payload",
        default=defaults.DEFAULT_RAW_PAYLOAD,
        metavar="TEXT",
        help="what a raw probe sends (default: ping + CRLF)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--json", action="store_true", help="print the run as JSON")
    parser.add_argument("--report", metavar="PATH.html", help="write a self-contained report")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.set_defaults(handler=handle)


def _settings(args: argparse.Namespace, target: Target, base: Expectations) -> VerifySettings:
    try:
        given = parse_expectations(args.expect)
        unrun = [key for key in given.given() if key not in args.checks]
        if unrun:
            raise ValueError(f"expect: {unrun[0]} is not among the --checks to run")
        expectations = base.merged(given)
        return VerifySettings(
            target=target,
            protocol=args.protocol,
            expectations=expectations,
            tolerance=args.tolerance,
            budget=args.budget,
            cap=args.cap,
            checks=args.checks,
            large_path=args.large_path,
            flood=args.flood,
            resets=args.resets,
            hogs=args.hogs,
            hog_time=args.hog_time,
            max_hold=args.max_hold,
            raw_payload=args.raw_payload,
            seed=args.seed,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _output(run: VerifyRun, args: argparse.Namespace) -> int:
    data = run_to_json(run)
    if args.report:
        try:
            Path(args.report).write_text(render_html(data), encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {args.report}: {exc.strerror or exc}") from None
    if args.json:
        print(json.dumps(data, indent=1))
        return run.exit_code
    print(f"chaos verify: {run.source}")
    print(format_table(run.results))
    for note in run.notes:
        print(f"  note: {note}")
    print(data["summary"])
    if args.report:
        print(f"report: {args.report}")
    return run.exit_code


def handle(args: argparse.Namespace) -> int:
    """Check the input, start the embedded server if there is no target, run, print."""
    if args.report and not args.report.endswith((".html", ".htm")):
        raise UsageError(f"--report: expected a PATH.html, got {args.report!r}")
    began = time.monotonic()

    def say(text: str) -> None:
        if not args.quiet:
            print(f"verify {time.monotonic() - began:5.1f}s {text}", file=sys.stderr, flush=True)

    # Validate every flag before any traffic, against a placeholder address.
    _settings(args, Target(host="127.0.0.1", port=1), Expectations())
    if args.target is not None:
        target = check_target(args.target, allow_remote=False)
        settings = _settings(args, target, Expectations())
        say(f"verifying {target} ({settings.protocol}), budget {settings.budget:g} s")
        return _output(verify(settings, say=say), args)
    if args.protocol != "http":
        raise UsageError("--protocol raw needs a --target (the embedded server speaks HTTP)")
    try:
        with embedded_server() as embedded:
            settings = _settings(args, embedded.target, embedded.expectations)
            say(f"no --target: started an {embedded.source}")
            say(f"judging it against that configuration, budget {settings.budget:g} s")
            run = verify(settings, say=say, source=embedded.source, config=embedded.config)
    except EmbeddedError as exc:
        raise UsageError(str(exc)) from None
    return _output(run, args)
