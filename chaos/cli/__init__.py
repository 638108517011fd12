"""The ``chaos`` command line, one module per subcommand.

``python -m chaos KIND --target HOST:PORT [flags]``, ``chaos run PLAN``, ``chaos merge
RESULT...`` or ``chaos verify``.
Subcommands come from the modules named in :data:`COMMAND_MODULES`; each module has
``register(subparsers)``, so a new subcommand is one more module and one more list entry.
Bad input of any kind prints one line on stderr and exits 2; an interrupted run (SIGINT)
stops every process it started and exits 130.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from .usage import EXIT_USAGE, Parser, UsageError, one_line

__all__ = [
    "COMMAND_MODULES",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "Parser",
    "UsageError",
    "build_parser",
    "main",
]

# Each module defines register(subparsers) adding its parsers, each with a handler default.
COMMAND_MODULES: list[str] = [
    "chaos.cli.faults",
    "chaos.cli.run",
    "chaos.cli.merge",
    "chaos.cli.verify",
    "chaos.cli.hunt",
]
# The shell's status for a command ended by SIGINT (128 + 2).
EXIT_INTERRUPTED = 130


def build_parser(modules: Sequence[str] | None = None) -> Parser:
    """The full parser, one subparser group per module in ``modules``."""
    parser = Parser(
        prog="chaos",
        description="Misbehaving TCP clients: aim one fault or a whole plan at a server.",
        epilog="example: chaos slowloris --target 127.0.0.1:8080 --count 50; "
        "chaos COMMAND --help for each command's flags",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES if modules is None else modules:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
        handler: Callable[[argparse.Namespace], int] = args.handler
        return handler(args)
    except UsageError as exc:
        print(f"chaos: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(
            "chaos: interrupted; every connection and process of the run was closed",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
