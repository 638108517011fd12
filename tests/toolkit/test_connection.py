"""`Connection` over a socket pair: typed deadline errors; shutdown spares arrived requests."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from toolkit import EventLog, IdleTimeout, ServerConfig, ServerShutdown
from toolkit.connection import Connection

from .conftest import TOLERANCE


def pair(**config: object) -> tuple[Connection, socket.socket, threading.Event]:
    server_end, client_end = socket.socketpair()
    stopping = threading.Event()
    conn = Connection(server_end, 1, ("pair", 0), ServerConfig(**config), EventLog(), stopping)  # type: ignore[arg-type]
    return conn, client_end, stopping


def test_idle_read_raises_idle_timeout_on_time() -> None:
    conn, client, _ = pair(idle_timeout=0.05)
    with conn.sock, client:
        started = time.monotonic()
        with pytest.raises(IdleTimeout):
            conn.recv()
        assert 0.05 <= time.monotonic() - started < 0.05 + TOLERANCE


def test_an_arrived_request_is_not_idle_at_shutdown() -> None:
    conn, client, _ = pair()
    with conn.sock, client:
        client.sendall(b"GET / HTTP/1.1\r\n\r\n")
        assert conn.close_if_awaiting() is False
        assert conn.recv() == b"GET / HTTP/1.1\r\n\r\n"


def test_an_idle_connection_is_closed_at_shutdown_and_its_reader_unblocked() -> None:
    conn, client, _ = pair(idle_timeout=10.0)
    errors: list[BaseException] = []

    def read() -> None:
        try:
            conn.recv()
        except BaseException as exc:
            errors.append(exc)

    with conn.sock, client:
        reader = threading.Thread(target=read)
        reader.start()
        assert conn.close_if_awaiting() is True
        reader.join(5)
        assert not reader.is_alive()
        assert len(errors) == 1 and isinstance(errors[0], ServerShutdown)


def test_after_stopping_no_new_request_is_read() -> None:
    conn, client, stopping = pair()
    with conn.sock, client:
        stopping.set()
        with pytest.raises(ServerShutdown):
            conn.recv()
