"""A server that answers one read and never times anything out, as socketserver does: what the
wire suite must catch. In a test's thread (`make`), or as a user's own server command:
``python timeoutless.py --port PORT``.
"""

from __future__ import annotations

import argparse
import socketserver


class Hello(socketserver.BaseRequestHandler):
    """Answers one read with a fixed reply; a silent client is held as long as it likes."""

    def handle(self) -> None:
        if self.request.recv(65536):
            self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")


def make(port: int = 0) -> socketserver.ThreadingTCPServer:
    """Bound to 127.0.0.1:`port`, not yet serving."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", port), Hello)
    server.daemon_threads = True
    return server


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    make(parser.parse_args().port).serve_forever()
