"""Must-hold 4: every accepted connection ends with exactly one close reason; counts reconcile."""

from __future__ import annotations

import socket
import struct
from collections import Counter
from collections.abc import Callable

import pytest

from toolkit import CloseReason, Server

from .clients import GET, connect, local_port, read_until_closed
from .conftest import SERVER_MODES


def reset(sock: socket.socket) -> None:
    """Abort with RST instead of FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


@pytest.mark.parametrize(("model", "dispatch"), SERVER_MODES)
def test_every_connection_has_exactly_one_close_reason(
    make_server: Callable[..., Server], model: str, dispatch: str
) -> None:
    server = make_server(
        model=model,
        dispatch=dispatch,
        workers=4,
        max_pending=8,
        idle_timeout=0.1,
        request_timeout=0.3,
        max_request_bytes=2048,
    )
    expected: dict[int, set[CloseReason]] = {}

    def client(payload: bytes, ending: Callable[[socket.socket], object], *reasons: CloseReason):
        sock = connect(server.address)
        expected[local_port(sock)] = set(reasons)
        if payload:
            sock.sendall(payload)
        ending(sock)

    def read_then_close(sock: socket.socket) -> None:
        read_until_closed(sock, 5.0)
        sock.close()

    close = socket.socket.close
    client(
        GET + GET, lambda s: (s.shutdown(socket.SHUT_WR), read_then_close(s)), CloseReason.COMPLETED
    )
    client(b"", read_then_close, CloseReason.IDLE_TIMEOUT)
    client(b"", close, CloseReason.PEER_CLOSED, CloseReason.RESET)
    client(b"GET / HT", reset, CloseReason.RESET, CloseReason.PEER_CLOSED)
    client(b"\x00\xffgarbage\r\n\r\n", read_then_close, CloseReason.BAD_REQUEST)
    client(b"GET / HTTP/1.1\r\nX: " + b"a" * 4096, read_then_close, CloseReason.TOO_LARGE)
    client(b"GET / HTTP/1.1\r\n", read_then_close, CloseReason.IDLE_TIMEOUT)

    # The close is logged before its worker (or the acceptor, iterative) is free again.
    assert server.log.wait_for(lambda s: s.closed == len(expected) and s.busy == 0, 5.0)
    records = server.log.records()
    assert Counter(r.peer_port for r in records) == Counter(expected.keys())  # each exactly once
    for record in records:
        assert record.closed is not None and record.reason in expected[record.peer_port], record
    stats = server.stats()
    assert stats.accepted == stats.closed == sum(stats.reasons.values()) == len(expected)
    assert (stats.open, stats.busy, stats.pending, stats.duplicate_closes) == (0, 0, 0, 0)
    assert stats.handler_errors == 0
