"""stdlib `http.server.ThreadingHTTPServer` speaking HTTP/1.1 keep-alive, defaults otherwise."""

from __future__ import annotations

import http.server
import sys
from collections.abc import Sequence

from .args import HOST, parse

__all__ = ["BODY", "Hello", "main"]

BODY = b"hello world"


class Hello(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: object) -> None:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv, __doc__.splitlines()[0])
    with http.server.ThreadingHTTPServer((HOST, args.port), Hello) as server:
        print(f"listening on {HOST}:{server.server_address[1]}", flush=True)
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
