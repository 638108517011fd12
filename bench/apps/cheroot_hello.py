"""cheroot's WSGI server with 10 threads, as ANCHORS measured it; `--idle-timeout` is `timeout`."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from cheroot import wsgi

from .args import HOST, parse
from .wsgi_hello import app

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv, __doc__.splitlines()[0])
    options = {} if args.idle_timeout is None else {"timeout": args.idle_timeout}
    server = wsgi.Server((HOST, args.port), app, numthreads=10, **options)
    print(f"listening on {HOST}:{args.port}", flush=True)
    server.safe_start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
