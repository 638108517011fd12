"""Must-hold 7: no client input crashes the server or a worker; it keeps serving afterwards."""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolkit import Server, ServerConfig

from .clients import http_get, read_until_closed


@pytest.fixture(scope="module", params=["http-hello", "echo"])
def shared_server(request: pytest.FixtureRequest) -> Iterator[Server]:
    config = ServerConfig(
        workers=4,
        max_pending=16,
        idle_timeout=0.05,
        request_timeout=0.2,
        write_timeout=0.2,
        max_request_bytes=4096,
    )
    with Server(config, request.param) as server:
        yield server


# One server serves every example: that is the point (it must survive them all).
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=st.binary(max_size=6000), abort=st.booleans(), half_close=st.booleans())
def test_arbitrary_bytes_never_break_the_server(
    shared_server: Server, payload: bytes, abort: bool, half_close: bool
) -> None:
    sock = socket.create_connection(shared_server.address, timeout=5)
    try:
        try:
            sock.sendall(payload)
            if abort:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            elif half_close:
                sock.shutdown(socket.SHUT_WR)
                read_until_closed(sock, 2.0)
        except OSError:
            pass  # the server may cut us off mid-send (too large): that is allowed
    finally:
        sock.close()
    stats = shared_server.stats()
    assert stats.handler_errors == 0
    assert all(t.is_alive() for t in shared_server.model.pool.threads)  # type: ignore[attr-defined]


def test_still_serving_after_the_fuzzing(shared_server: Server) -> None:
    if shared_server.handler.name == "echo":
        with socket.create_connection(shared_server.address, timeout=5) as sock:
            sock.sendall(b"ping")
            assert sock.recv(16) == b"ping"
    else:
        assert http_get(shared_server.address).endswith(b"hello world")


def test_handler_exception_is_contained(make_server: Callable[..., Server]) -> None:
    from toolkit.handlers import HttpHandler, Reply

    def broken(request: object) -> Reply:
        raise RuntimeError("bug in the app")

    server = make_server(workers=1)
    server.service.handler = HttpHandler("broken", broken)
    with socket.create_connection(server.address, timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_until_closed(sock, 5.0)[1] is not None
    assert server.log.wait_for(lambda s: s.reasons.get("handler_error") == 1, 5.0)
    server.service.handler = HttpHandler("ok", lambda r: Reply(body=b"fine"))
    assert http_get(server.address).endswith(b"fine")  # the one worker survived
