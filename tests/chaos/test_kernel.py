"""The kernel's word on a listening socket: how many connections wait in its accept queue,
read from /proc/net/tcp{,6} text, and from the live table against a socket of our own."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from chaos.engine import accept_queue, parse_accept_queue
from chaos.engine.kernel import TCP6_TABLES, TCP_TABLES

TCP_TABLE = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000003 00:00000000 00000000     0        0 1
   1: 00000000:1F90 00000000:0000 0A 00000000:00000002 00:00000000 00000000     0        0 2
   2: 0500000A:1F90 00000000:0000 0A 00000000:00000009 00:00000000 00000000     0        0 3
   3: 0100007F:1F90 0100007F:9C40 01 00000000:00000007 00:00000000 00000000     0        0 4
   4: 0100007F:1F91 00000000:0000 0A 00000000:00000005 00:00000000 00000000     0        0 5
"""


def test_the_accept_queue_is_read_from_the_listeners_loopback_reaches():
    # Port 8080: the loopback and the wildcard listeners count; one bound to 10.0.0.5 and an
    # established connection (state 01) do not.
    assert parse_accept_queue(TCP_TABLE, 8080) == 5
    assert parse_accept_queue(TCP_TABLE, 8081) == 5
    assert parse_accept_queue(TCP_TABLE, 8082) is None
    six = "header\n   0: 00000000000000000000000001000000:1F90 " + "0" * 32 + ":0000 0A 0:4 x\n"
    assert parse_accept_queue(six, 8080) == 4


@pytest.mark.parametrize(("host", "tables"), [("127.0.0.1", TCP_TABLES), ("::1", TCP6_TABLES)])
def test_the_accept_queue_counts_connections_the_server_has_not_taken(
    host: str, tables: tuple[Path, ...]
) -> None:
    if not all(table.exists() for table in tables):
        pytest.skip(f"no {tables[-1]} here")
    try:
        listener = socket.create_server((host, 0), family=socket.getaddrinfo(host, 0)[0][0])
    except OSError as exc:
        pytest.skip(f"cannot listen on {host}: {exc}")
    with listener:
        port = listener.getsockname()[1]
        assert accept_queue(port, tables) == 0
        clients = [socket.create_connection((host, port)) for _ in range(3)]
        try:
            # The kernel completes a loopback handshake within connect(): all three wait.
            assert accept_queue(port, tables) == 3
            listener.accept()[0].close()
            assert accept_queue(port, tables) == 2
        finally:
            for client in clients:
                client.close()
