"""`python -m toolkit serve`: run a server from the command line, one flag per config field.

The first line printed is `listening on HOST:PORT`; SIGINT or SIGTERM shut it down gracefully
and the last line is the final stats as one JSON object. Bad input: one line, exit 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from .config import DISPATCH_MODES, HTTP_PARSERS, MODELS, OVERLOAD_POLICIES, ServerConfig
from .handlers import DEFAULT_SLEEP, HANDLERS
from .server import Server

__all__ = ["build_parser", "main"]

_CHOICES = {
    "overload": OVERLOAD_POLICIES,
    "model": MODELS,
    "dispatch": DISPATCH_MODES,
    "http_parser": HTTP_PARSERS,
}


# Every character str.splitlines() breaks a line at (not only \n and \r), escaped.
_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
_LINE_BREAKS = {ord(c): c.encode("unicode_escape").decode() for c in _BREAKS}


def _one_line(text: str) -> str:
    """``text`` as one line: a user's value (a path, a flag, a plan's key) may hold line
    breaks, shown escaped."""
    return text.translate(_LINE_BREAKS)


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {_one_line(message)}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="toolkit", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_OneLineParser)
    serve = commands.add_parser("serve", help="run a server until SIGINT or SIGTERM")
    for field in dataclasses.fields(ServerConfig):
        flag = "--" + field.name.replace("_", "-")
        default: Any = field.default  # every field has one (no default_factory)
        kind: Callable[[str], Any] = str
        if default is not None:
            kind = type(default)
        serve.add_argument(
            flag,
            dest=field.name,
            type=kind,
            default=default,
            choices=_CHOICES.get(field.name),
            metavar=None if field.name in _CHOICES else field.name.upper(),
            help="default: by model" if default is None else f"default {default}",
        )
    serve.add_argument("--handler", choices=HANDLERS, default="http-hello")
    serve.add_argument(
        "--sleep", type=float, default=DEFAULT_SLEEP, help="seconds of work for --handler sleep"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(ServerConfig)}
    try:
        server = Server(ServerConfig(**values), args.handler, sleep=args.sleep)
    except ValueError as exc:
        parser.error(str(exc))
    # Block the signals before any thread starts, so only sigwait below receives them.
    signals = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    try:
        host, port = server.start()
    except (OSError, UnicodeError) as exc:  # UnicodeError: a host name IDNA cannot encode
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        parser.error(f"cannot listen on {args.host}:{args.port}: {exc}")
    # What start-up made (modules, classes, functions) lives as long as the process: out of
    # the garbage collector's way, a full collection walks only what serving made.
    gc.freeze()
    print(f"listening on {host}:{port}", flush=True)
    try:
        signal.sigwait(signals)
    finally:
        server.shutdown()
        print(json.dumps(server.stats().to_json(), sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
