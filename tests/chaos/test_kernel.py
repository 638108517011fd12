"""The kernel's word on a listening socket: how many connections wait in its accept queue,
read from /proc/net/tcp{,6} text, and live against a socket of our own, from the kernel's
socket diagnostics and from the table alike; and on the server's end of one connection."""

from __future__ import annotations

import socket
import struct

import pytest

from chaos.engine import accept_queue, kernel, parse_accept_queue
from chaos.engine.kernel import (
    FAMILIES,
    TABLES,
    TheirEnd,
    diag_listeners,
    families_for,
    parse_their_end,
    their_end,
)

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


@pytest.mark.parametrize("asked", ["sock_diag", "/proc/net/tcp"])
@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_the_accept_queue_counts_connections_the_server_has_not_taken(
    host: str, asked: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    families = families_for(host)
    if asked == "sock_diag" and diag_listeners(families[0]) is None:
        pytest.skip("the kernel's socket diagnostics cannot be asked here")
    if asked == "/proc/net/tcp":
        if not all(TABLES[family].exists() for family in families):
            pytest.skip(f"no {TABLES[families[-1]]} here")
        monkeypatch.setattr(kernel, "diag_listeners", lambda family: None)  # as where refused
    try:
        listener = socket.create_server((host, 0), family=socket.getaddrinfo(host, 0)[0][0])
    except OSError as exc:
        pytest.skip(f"cannot listen on {host}: {exc}")
    with listener:
        port = listener.getsockname()[1]
        assert accept_queue(port, families) == 0
        clients = [socket.create_connection((host, port)) for _ in range(3)]
        try:
            # The kernel completes a loopback handshake within connect(): all three wait.
            assert accept_queue(port, families) == 3
            listener.accept()[0].close()
            assert accept_queue(port, families) == 2
        finally:
            for client in clients:
                client.close()
    assert accept_queue(port, families) is None  # nothing listens there any more


def test_the_kernel_and_the_table_name_the_same_listeners():
    if diag_listeners(socket.AF_INET) is None or not TABLES[socket.AF_INET].exists():
        pytest.skip("the kernel's socket diagnostics or /proc/net/tcp are missing here")
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        asked = [entry for entry in diag_listeners(socket.AF_INET) or () if entry[1] == port]
        table = TABLES[socket.AF_INET].read_text()
        read = [entry for entry in kernel._table(table) if entry[1] == port]
        assert asked == read == [("0100007F", port, 0)]
    assert FAMILIES == families_for("127.0.0.1") and families_for("::1") == (socket.AF_INET6,)


def test_the_servers_end_of_a_connection_is_read_from_the_table_by_both_ends():
    # Row 3: the server at 127.0.0.1:8080, its client at port 40000, established (01), inode 4.
    assert parse_their_end(TCP_TABLE, "0100007F:9C40", "0100007F:1F90") == TheirEnd(1, True)
    assert parse_their_end(TCP_TABLE, "0100007F:9C41", "0100007F:1F90") is None
    assert parse_their_end(TCP_TABLE, "0100007F:1F90", "0100007F:9C40") is None  # our end
    waiting = TCP_TABLE.replace("00000000     0        0 4", "00000000     0        0 0")
    assert parse_their_end(waiting, "0100007F:9C40", "0100007F:1F90") == TheirEnd(1, False)
    assert TheirEnd(1, False).unaccepted and TheirEnd(3, False).unaccepted
    assert not TheirEnd(1, True).unaccepted and not TheirEnd(4, False).unaccepted
    # A FIN sent or waiting to be: FIN_WAIT1, FIN_WAIT2, TIME_WAIT, LAST_ACK, CLOSING.
    assert all(TheirEnd(state, False).fin_queued for state in (4, 5, 6, 9, 11))
    assert not any(TheirEnd(state, True).fin_queued for state in (1, 3, 7, 8, 10))


# include/net/tcp_states.h
ESTABLISHED, FIN_WAIT1, FIN_WAIT2 = 1, 4, 5


@pytest.mark.parametrize("asked", ["sock_diag", "/proc/net/tcp"])
@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_the_servers_end_says_when_it_closed_though_its_fin_waits_behind_its_answer(
    host: str, asked: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if asked == "/proc/net/tcp":
        if not TABLES[families_for(host)[0]].exists():
            pytest.skip(f"no {TABLES[families_for(host)[0]]} here")

        def refused(*args: object) -> None:
            raise OSError("refused here")

        monkeypatch.setattr(kernel, "_diag_end", refused)
    elif diag_listeners(families_for(host)[0]) is None:
        pytest.skip("the kernel's socket diagnostics cannot be asked here")
    try:
        listener = socket.create_server((host, 0), family=socket.getaddrinfo(host, 0)[0][0])
    except OSError as exc:
        pytest.skip(f"cannot listen on {host}: {exc}")
    with listener:
        client = socket.socket(listener.family)
        # A receive buffer the server's answer overflows: its FIN cannot follow it in.
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.connect(listener.getsockname())
        with client:
            ours, theirs = client.getsockname(), client.getpeername()
            assert their_end(ours, theirs) == TheirEnd(ESTABLISHED, owned=False)  # queued
            server, _ = listener.accept()
            assert their_end(ours, theirs) == TheirEnd(ESTABLISHED, owned=True)
            server.setblocking(False)
            try:
                while True:
                    server.send(b"x" * 65536)
            except BlockingIOError:
                pass
            server.close()
            # Closed with its answer unsent: FIN_WAIT1 until all of it is taken, no owner.
            assert their_end(ours, theirs) == TheirEnd(FIN_WAIT1, owned=False)
            assert their_end(theirs, ours) == TheirEnd(ESTABLISHED, owned=True)  # our own end
            while client.recv(1 << 20):
                pass
            end = their_end(ours, theirs)
            assert end is None or end.state == FIN_WAIT2
        # A reset leaves no end behind to ask (its FIN is never queued): the RST is the word.
        aborted = socket.create_connection(listener.getsockname()[:2])
        with aborted:
            server, _ = listener.accept()
            server.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            ends = aborted.getsockname(), aborted.getpeername()
            server.close()
            assert their_end(*ends) is None
    assert their_end(("127.0.0.1", 1), ("127.0.0.1", 2)) is None  # no such connection
