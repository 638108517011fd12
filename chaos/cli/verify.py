"""``python -m chaos verify``: does the server enforce what it promises, and stay available?

Registered in :data:`chaos.cli.COMMAND_MODULES`. Prints the verdict table (or ``--json``),
optionally writes an HTML report and JUnit XML, and exits 0 when every expectation holds, 1
when one is broken, 3 when none is broken but one could not be decided here, 2 on bad input
(an unwritable output path included, refused before any traffic) or an unreachable target.
Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ..params import options
from ..target import Target
from ..verify.embedded import EmbeddedError, embedded_server
from ..verify.expectations import CHECKS, Expectations, parse_expectations
from ..verify.output.export import run_to_json
from ..verify.output.html import render_html
from ..verify.output.junit import render_junit
from ..verify.output.text import format_table
from ..verify.run import VerifyRun, verify
from ..verify.settings import VerifySettings
from . import DEFERRED
from .common import check_target
from .flags import add_flags, given
from .usage import Subparsers, UsageError

__all__ = ["handle", "register"]

EPILOG = f"""expectation keys: {", ".join(CHECKS)}.
Timeouts take seconds or 'none'; max-connections and max-served a count or 'none';
half-close respond|close; flood and resets 'survives'; hogging 'available'. Without --target,
an embedded toolkit server with its default configuration is verified against that
configuration. Exit status: 0 every expectation holds, 1 one is broken, 3 none is broken but
one could not be decided here, 2 bad input or no server.

example: chaos verify --target 127.0.0.1:8080 --expect idle-timeout=5 request-timeout=10"""
# Every setting but the target and the expectations is a flag of its own.
SETTINGS = options(VerifySettings)


def register(subparsers: Subparsers) -> None:
    """Add the ``verify`` subcommand."""
    parser = subparsers.add_parser(
        "verify",
        help=DEFERRED["verify"][1],
        description=(__doc__ or "").splitlines()[0],
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--target", metavar="HOST:PORT", help="server to verify (loopback)")
    parser.add_argument(
        "--expect",
        metavar="KEY=VALUE",
        nargs="+",
        action="extend",
        default=[],
        help="what the server promises (repeatable); see the keys below",
    )
    add_flags(parser, SETTINGS)
    parser.add_argument("--json", action="store_true", help="print the run as JSON")
    parser.add_argument("--report", metavar="PATH.html", help="write a self-contained report")
    parser.add_argument("--junit", metavar="PATH.xml", help="write JUnit XML, a case per check")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.set_defaults(handler=handle)


def _settings(args: argparse.Namespace, target: Target, base: Expectations) -> VerifySettings:
    try:
        flags = given(args, SETTINGS)
        promised = parse_expectations(args.expect)
        checks = flags.get("checks", CHECKS)
        assert isinstance(checks, tuple)
        unrun = [key for key in promised.given() if key not in checks]
        if unrun:
            raise ValueError(f"expect: {unrun[0]} is not among the --checks to run")
        return VerifySettings(
            target=target,
            expectations=base.merged(promised),
            **flags,  # each checked against its declaration
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _writable(path: str, flag: str) -> None:
    """Refuse, before any traffic, an output path that cannot be written (one line, exit 2)."""
    where = Path(path)
    if where.is_dir():
        raise UsageError(f"{flag}: {path} is a directory")
    existed = where.exists()
    try:
        with where.open("a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise UsageError(f"{flag}: cannot write {path}: {exc.strerror or exc}") from None
    if not existed:
        where.unlink()


def _write(path: str, text: str) -> None:
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def _output(run: VerifyRun, args: argparse.Namespace) -> int:
    data = run_to_json(run)
    if args.report:
        _write(args.report, render_html(data))
    if args.junit:
        _write(args.junit, render_junit(data))
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
    if args.junit:
        print(f"junit: {args.junit}")
    return run.exit_code


def handle(args: argparse.Namespace) -> int:
    """Check the input, start the embedded server if there is no target, run, print."""
    if args.report and not args.report.endswith((".html", ".htm")):
        raise UsageError(f"--report: expected a PATH.html, got {args.report!r}")

    # Validate every flag before any traffic, against a placeholder address.
    placeholder = _settings(args, Target(host="127.0.0.1", port=1), Expectations())
    for path, flag in ((args.report, "--report"), (args.junit, "--junit")):
        if path:
            _writable(path, flag)
    began = time.monotonic()

    def say(text: str) -> None:
        if not args.quiet:
            print(f"verify {time.monotonic() - began:5.1f}s {text}", file=sys.stderr, flush=True)

    if args.target is not None:
        target = check_target(args.target, allow_remote=False)
        settings = _settings(args, target, Expectations())
        say(f"verifying {target} ({settings.protocol}), budget {settings.budget:g} s")
        return _output(verify(settings, say=say), args)
    if placeholder.protocol != "http":
        raise UsageError(
            f"--protocol {placeholder.protocol} needs a --target (the embedded server speaks HTTP)"
        )
    try:
        with embedded_server() as embedded:
            settings = _settings(args, embedded.target, embedded.expectations)
            say(f"no --target: started an {embedded.source}")
            say(f"judging it against that configuration, budget {settings.budget:g} s")
            run = verify(settings, say=say, source=embedded.source, config=embedded.config)
    except EmbeddedError as exc:
        raise UsageError(str(exc)) from None
    return _output(run, args)
