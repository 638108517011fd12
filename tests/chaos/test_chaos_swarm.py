"""The fast path: a swarm runs many clients in one epoll loop and leaves Session-shaped records.

The faults on it (flood, never_send, slowloris, holder) are tested on the wire in their own
files; these are the script's keep-alive mode alone and the paths only big sends or a
cancelled run reach.
"""

from __future__ import annotations

import hashlib
import itertools
import socket

import pytest
import trio

from chaos import Outcome
from chaos.engine import Crowd, Group, Script
from chaos.engine.fdlimit import open_fds
from chaos.target import Target, resolve

# A single chunk larger than any loopback socket buffer pair, so the kernel takes it in parts.
BIG = 8 * 1024 * 1024


def run_script(target: str, script: Script, *, count: int = 1, limit: float | None = None):
    async def main():
        endpoint = await resolve(Target.parse(target))
        crowd = Crowd(
            [Group(kind="never_send", script=script, positions=range(count), delay=lambda p: 0.0)],
            endpoint,
            seed=0,
        )
        await crowd.run(limit=limit)
        return crowd.records()

    return trio.run(main)


def echo_lines(conn) -> None:
    """Answer every chunk received with ``ok``; log the bytes at EOF."""
    data = bytearray()
    conn.sock.settimeout(5)
    while True:
        chunk = conn.sock.recv(65536)
        if not chunk:
            conn.log("eof", bytes(data))
            return
        data += chunk
        conn.sock.sendall(b"ok\r\n")


def test_a_keep_alive_holder_sends_its_message_every_interval_and_keeps_the_first_reply(serve):
    server = serve(echo_lines)
    script = Script(
        connect_timeout=1.0,
        hold=0.25,
        chunks=lambda rng, host: itertools.repeat(b"PING\r\n"),
        interval=0.05,
        tally=lambda sent: {"keepalives": sent},
    )
    (record,) = run_script(server.target, script)
    _, data = server.find(record.local_port, "eof")
    sent = record.detail["keepalives"]
    # One at once, then one every 50 ms until the 250 ms hold: 5 or 6, give or take a tick.
    assert 4 <= sent <= 6
    assert data == b"PING\r\n" * sent and record.bytes_sent == len(data)
    assert record.sent_digest == hashlib.sha256(data).hexdigest()
    assert record.reply_head.startswith("ok\r\nok\r\n")
    assert record.bytes_received >= 4 * sent - 4 and record.first_byte is not None
    assert record.outcome is Outcome.HELD_TO_END
    assert record.last_sent - record.first_sent == pytest.approx(0.05 * (sent - 1), abs=0.04)


def read_all(conn) -> None:
    conn.read_all()


def test_a_chunk_larger_than_the_socket_buffers_goes_out_whole_in_parts(serve):
    server = serve(read_all)
    script = Script(
        connect_timeout=1.0,
        hold=0.5,
        chunks=lambda rng, host: iter([b"x" * BIG, b"end"]),
        interval=0.0,
    )
    (record,) = run_script(server.target, script)
    _, data = server.find(record.local_port, "eof")
    assert record.bytes_sent == BIG + 3 == len(data)
    assert record.sent_digest == hashlib.sha256(b"x" * BIG + b"end").hexdigest()


def test_cancelling_a_swarm_closes_every_socket_and_keeps_what_it_saw(hold_server):
    before = open_fds()
    script = Script(connect_timeout=1.0, hold=30.0)
    records = run_script(hold_server.target, script, count=200, limit=0.3)
    assert [r.outcome for r in records] == [Outcome.HELD_TO_END] * 200
    assert [r.index for r in records] == list(range(200))
    assert all(r.closed is not None and r.closed >= r.connected for r in records)
    assert hold_server.wait_idle(200)
    assert open_fds() == before


def test_a_port_nobody_listens_on_is_refused_and_an_unroutable_one_times_out(closed_port):
    script = Script(connect_timeout=0.2, hold=1.0)
    records = run_script(f"127.0.0.1:{closed_port}", script, count=3)
    assert [r.outcome for r in records] == [Outcome.REFUSED] * 3
    assert all(r.connected is None and r.closed is None for r in records)


def test_a_listener_that_never_accepts_past_its_backlog_times_connects_out():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    try:
        script = Script(connect_timeout=0.3, hold=0.0, close_at_once=True)
        target = f"127.0.0.1:{listener.getsockname()[1]}"
        records = run_script(target, script, count=12)
    finally:
        listener.close()
    outcomes = [r.outcome for r in records]
    # Linux completes backlog + 1 handshakes and drops the later SYNs (retried after 1 s).
    assert 1 <= outcomes.count(Outcome.COMPLETED) <= 3
    assert outcomes.count(Outcome.CONNECT_TIMEOUT) == 12 - outcomes.count(Outcome.COMPLETED)
