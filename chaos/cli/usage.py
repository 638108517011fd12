"""Bad input on the command line: one line on stderr and exit status 2, never a usage dump."""

from __future__ import annotations

import argparse
from typing import NoReturn, TypeAlias

__all__ = ["EXIT_USAGE", "Parser", "Subparsers", "UsageError", "one_line"]

EXIT_USAGE = 2


# What a command module's register() adds its subcommands to.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


# Every character str.splitlines() breaks a line at (not only \n and \r), escaped.
_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
_LINE_BREAKS = {ord(c): c.encode("unicode_escape").decode() for c in _BREAKS}


def one_line(text: str) -> str:
    """``text`` as one line: a user's value (a path, a flag, a plan's key) may hold line
    breaks, shown escaped."""
    return text.translate(_LINE_BREAKS)


class UsageError(Exception):
    """Bad flags, a bad plan, or a target we must not or cannot reach: one line, exit 2."""


class Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line, not a usage dump."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")
