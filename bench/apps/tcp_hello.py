"""stdlib `socketserver.ThreadingTCPServer` as ANCHORS measured it: read once, write, close.

Its class defaults are kept (a listen backlog of 5, one thread per connection): they are what
people get, and the backlog is what makes its p99.
"""

from __future__ import annotations

import socketserver
import sys
from collections.abc import Sequence

from .args import HOST, parse

__all__ = ["RESPONSE", "Hello", "main"]

RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n"
    b"Connection: close\r\n\r\nhello world"
)


class Hello(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        try:
            if self.request.recv(65536):
                self.request.sendall(RESPONSE)
        except OSError:
            pass


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv, __doc__.splitlines()[0])
    socketserver.ThreadingTCPServer.daemon_threads = True
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    with socketserver.ThreadingTCPServer((HOST, args.port), Hello) as server:
        print(f"listening on {HOST}:{server.server_address[1]}", flush=True)
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
