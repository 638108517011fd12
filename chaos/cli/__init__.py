"""The ``chaos`` command line, one module per subcommand.

``python -m chaos KIND --target HOST:PORT [flags]``, ``chaos run PLAN``, ``chaos merge
RESULT...`` or ``chaos verify``.
Subcommands come from the modules named in :data:`COMMAND_MODULES`; each module has
``register(subparsers)``, so a new subcommand is one more module and one more list entry. A
command line imports only the module of the command it runs: the commands of
:data:`DEFERRED` (the verifier, the hunt and its Hypothesis) are listed in the top-level help
from that table and imported only when named.
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
    "DEFERRED",
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
# Commands whose module costs a fraction of a second to import and that no other command
# needs, with the line the top-level help lists each with (its one home: the module's own
# parser takes it from here): `chaos flood` and `chaos --help` import neither.
DEFERRED: dict[str, tuple[str, str]] = {
    "verify": (
        "chaos.cli.verify",
        "check a server's timeouts and limits and its availability under attack",
    ),
    "hunt": (
        "chaos.cli.hunt",
        "search client behaviours for the longest hold, hand back the minimal attack",
    ),
}
# The shell's status for a command ended by SIGINT (128 + 2).
EXIT_INTERRUPTED = 130


def _named(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names: its first word that is not a flag (the top level has -h)."""
    return next((word for word in argv if not word.startswith("-")), None)


def build_parser(modules: Sequence[str] | None = None, *, command: str | None = "*") -> Parser:
    """The parser, one subparser group per module in ``modules``: with every command whole
    (``command="*"``, the default), or only ``command``'s if it is deferred, the other deferred
    commands listed by name and help line without importing their modules."""
    parser = Parser(
        prog="chaos",
        description="Misbehaving TCP clients: aim one fault or a whole plan at a server.",
        epilog="example: chaos slowloris --target 127.0.0.1:8080 --count 50; "
        "chaos COMMAND --help for each command's flags",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES if modules is None else modules:
        listed = [c for c, (module, _) in DEFERRED.items() if module == name and c != command]
        if command == "*" or not listed:
            importlib.import_module(name).register(subparsers)
        for deferred in listed if command != "*" else ():
            subparsers.add_parser(deferred, help=DEFERRED[deferred][1], add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    try:
        words = sys.argv[1:] if argv is None else argv
        args = build_parser(command=_named(words)).parse_args(words)
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
