"""aiosmtpd's SMTP server with a handler that keeps nothing; `--idle-timeout` is its `timeout`,
the seconds it waits for each command (its greeting's, or a command's whole line)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink

from .args import HOST, parse

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv, __doc__.splitlines()[0])
    options = {} if args.idle_timeout is None else {"timeout": args.idle_timeout}
    controller = Controller(Sink(), hostname=HOST, port=args.port, server_kwargs=options)
    controller.start()  # serves from a thread of its own, once it listens
    print(f"listening on {HOST}:{args.port}", flush=True)
    try:
        threading.Event().wait()
    finally:
        controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
