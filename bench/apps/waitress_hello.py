"""waitress with 4 threads (its default); `--idle-timeout` is `channel_timeout`.

waitress only checks `channel_timeout` in a sweep every `cleanup_interval` (30 s by default), so
when a timeout is given the sweep runs as often, the most precise waitress can be.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import waitress

from .args import HOST, parse
from .wsgi_hello import app

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv, __doc__.splitlines()[0])
    options: dict[str, object] = {}
    if args.idle_timeout is not None:
        options = {"channel_timeout": args.idle_timeout, "cleanup_interval": args.idle_timeout}
    print(f"listening on {HOST}:{args.port}", flush=True)
    waitress.serve(app, host=HOST, port=args.port, threads=4, _quiet=True, **options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
