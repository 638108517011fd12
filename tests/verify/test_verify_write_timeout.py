"""The write timeout is timed from the answer's first byte, where a server's write clock starts:
a server slow to begin its answer (an application computing it) is not a server whose write
timeout is late. And it is timed whether the server gives up with a reset or with a plain
close, whose FIN waits behind the answer its kernel still holds (nginx's default, Node's)."""

from __future__ import annotations

import http.server
import json
import socket
import struct
import threading
import time
from collections.abc import Iterator

import pytest

from chaos.cli import main
from chaos.verify.checks.write_timeout import MIN_LARGE

# The server's own promise, and how long its application thinks before the answer begins:
# past the tolerance (0.25 s), so a check timing from the request would see a late timeout.
WRITE_TIMEOUT = 1.0
THINK = 0.6
CHUNK = 65536


class _SlowToAnswer(http.server.BaseHTTPRequestHandler):
    """``/bytes/N``: THINK seconds, then N bytes, given up (RST, unless ``abort`` is off)
    WRITE_TIMEOUT after the first byte; anything else a small 200. One request per
    connection."""

    protocol_version = "HTTP/1.1"
    abort = True

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        size = int(self.path.rsplit("/", 1)[-1]) if self.path.startswith("/bytes/") else 2
        if size > 2:
            time.sleep(THINK)  # the application's work, before any byte of the answer
        self.send_response(200)
        self.send_header("Content-Length", str(size))
        self.send_header("Connection", "close")
        self.end_headers()  # the first byte leaves: the write clock starts
        deadline = time.monotonic() + WRITE_TIMEOUT
        self.close_connection = True
        sent = 0
        try:
            while sent < size:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                self.connection.settimeout(left)
                self.wfile.write(b"x" * min(CHUNK, size - sent))
                sent += CHUNK
        except (TimeoutError, OSError):
            if self.abort:
                linger = struct.pack("ii", 1, 0)
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)


class _SlowToAnswerClosingPlainly(_SlowToAnswer):
    abort = False


@pytest.fixture(params=[_SlowToAnswer, _SlowToAnswerClosingPlainly], ids=["reset", "plain close"])
def slow_to_answer(request: pytest.FixtureRequest) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), request.param)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="slow-to-answer")
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
        assert not thread.is_alive()


def test_the_write_timeout_counts_from_the_answers_first_byte_not_the_request(
    slow_to_answer: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["verify", "--target", slow_to_answer, "--checks", "write-timeout", "--quiet"]
    argv += ["--expect", f"write-timeout={WRITE_TIMEOUT:g}", "--budget", "30", "--json"]
    argv += ["--large-path", f"/bytes/{2 * MIN_LARGE}"]
    code = main(argv)
    check = next(c for c in json.loads(capsys.readouterr().out)["checks"])
    assert check["check"] == "write-timeout", check
    # Timed from the request it would be THINK later: 1.6 s, outside 1 s ± 0.25 s.
    assert check["value"] is not None and check["value"] < WRITE_TIMEOUT + THINK / 2, check
    assert code == 0 and check["verdict"] == "pass", check
