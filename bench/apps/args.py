"""The command line every app module shares: a port and the optional timeouts it honours."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

__all__ = ["HOST", "parse"]

HOST = "127.0.0.1"


def parse(argv: Sequence[str] | None, description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--idle-timeout", type=float, default=None)
    return parser.parse_args(argv)
