"""The holder keeps a connection alive the way a live client does, ``ask`` probes any protocol,
and the fault commands' table tells a rejection reply from an idle close."""

from __future__ import annotations

import socket
import threading
import time

import trio

from chaos.cli import main
from chaos.engine.heard import TICK
from chaos.faults import ask, holder
from chaos.protocols import HTTP, REDIS, Reply
from chaos.protocols.http_messages import request as http_request
from chaos.record import Outcome
from chaos.verify.checks.max_connections import Fate, fate

# The test servers' idle timeout: short, so a silent client is cut within the test.
IDLE = 0.3
REJECTION = b"-ERR max number of clients reached\r\n"


class MaxClients:
    """Counts open connections: past ``limit``, a new one is turned away, as Redis does."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0
        self._lock = threading.Lock()

    def admit(self) -> bool:
        with self._lock:
            if self.open >= self.limit:
                return False
            self.open += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self.open -= 1


def redis_like(conn, clients: MaxClients | None = None) -> None:
    """Answers PING with +PONG; closes a connection silent for IDLE; past ``clients``' limit,
    sends the rejection reply and closes, as Redis past maxclients."""
    if clients is not None and not clients.admit():
        conn.sock.sendall(REJECTION)
        return
    try:
        _serve(conn)
    finally:
        if clients is not None:
            clients.leave()


def _serve(conn) -> None:
    conn.sock.settimeout(IDLE)
    buffered = b""
    while True:
        try:
            chunk = conn.sock.recv(4096)
        except TimeoutError:
            conn.log("idle")
            return
        if not chunk:
            return
        buffered += chunk
        while b"\r\n" in buffered:
            line, buffered = buffered.split(b"\r\n", 1)
            conn.sock.sendall(b"+PONG\r\n" if line == b"PING" else b"-ERR unknown command\r\n")


def test_a_holder_outlives_the_idle_timeout_by_keeping_alive_and_a_silent_one_does_not(serve):
    server = serve(redis_like)
    hold = 4 * IDLE

    async def both():
        alive = await holder(server.target, hold=hold, message="PING\r\n", interval=IDLE / 3)
        silent = await holder(server.target, hold=hold)
        return alive, silent

    alive, silent = trio.run(both)
    assert alive.outcome is Outcome.HELD_TO_END
    assert alive.detail["messages"] >= 3 and alive.reply_head.startswith("+PONG\r\n")
    # The first message went one interval after the connect (on the swarm's grid, so never
    # sooner), and before the idle timeout, which it outlived.
    assert alive.detail["kept_alive_after"] == IDLE / 3
    assert IDLE / 3 <= alive.first_sent - alive.connected < IDLE
    assert alive.detail["last_reply"] > alive.first_sent
    assert alive.first_sent < alive.detail["last_answer"] <= alive.detail["last_reply"]
    assert alive.detail["last_reply_head"].startswith("+PONG\r\n")  # how the last one began
    assert silent.outcome is Outcome.CLOSED_BY_SERVER
    assert IDLE <= silent.server_closed_after < hold


def test_a_holder_sends_at_most_its_messages_and_its_hello_first(serve):
    server = serve(redis_like)
    record = trio.run(
        lambda: holder(
            server.target,
            hold=IDLE / 2,
            hello="PING\r\n",
            message="PING\r\n",
            at_once=True,
            messages=1,
        )
    )
    assert record.detail["messages"] == 1
    assert record.bytes_sent == 2 * len("PING\r\n")
    assert record.reply_head == "+PONG\r\n+PONG\r\n"


def test_ask_speaks_the_profile_and_reads_its_rejection(serve):
    server = serve(redis_like)
    full = MaxClients(0)
    busy = serve(lambda conn: redis_like(conn, full))
    good = trio.run(lambda: ask(server.target, protocol="redis"))
    assert good.detail["available"] and good.detail["reply"] == Reply.GOOD
    away = trio.run(lambda: ask(busy.target, protocol="redis"))
    assert not away.detail["available"] and away.detail["reply"] == Reply.REJECTION
    assert REDIS.rejected(away)
    own = trio.run(lambda: ask(server.target, protocol="custom", send="PING\r\n", match=r"\+PONG"))
    assert own.detail["available"]


def test_the_fault_table_tells_a_rejection_from_an_idle_close(serve, capsys):
    clients = MaxClients(3)
    server = serve(lambda conn: redis_like(conn, clients))
    # The hold only bounds a server too loaded to close on time: each ends at its idle close.
    argv = ["never-send", "--target", server.target, "--count", "5", "--hold", "5"]
    assert main([*argv, "--protocol", "redis", "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    counts = {line.split()[0]: line.split()[1] for line in lines[2:4]}
    assert counts == {"rejected": "2", "closed_by_server": "3"}, lines
    rejected_row = next(
        line for line in lines if line.strip().startswith("rejected") and "(-ERR" in line
    )
    assert "-ERR max number of clients reached" in rejected_row
    # Without a protocol the table cannot tell them apart: all five closed by the server.
    assert main([*argv, "--quiet"]) == 0
    assert "closed_by_server         5" in capsys.readouterr().out


def test_a_holders_last_reply_is_when_it_arrived_not_when_a_late_loop_read_it(serve):
    """What a keep-alive timeout counts from is stamped as the kernel heard it: a loaded
    machine makes that timeout look longer, never shorter."""
    held = 0.3  # this process is kept from running this long, as a starved machine keeps it
    sent: list[float] = []
    greeted = threading.Event()

    def greet(conn) -> None:
        conn.stop.wait(0.05)
        sent.append(time.monotonic())
        conn.sock.sendall(b"+OK\r\n")
        greeted.set()
        conn.stop.wait(2.0)

    server = serve(greet)

    class LateOnceGreeted(trio.abc.Instrument):
        late = False

        def before_task_step(self, task: trio.lowlevel.Task) -> None:
            if greeted.is_set() and not self.late:
                self.late = True
                time.sleep(held)  # no task runs: the greeting waits unread

    late = LateOnceGreeted()
    record = trio.run(lambda: holder(server.target, hold=held + 0.3), instruments=[late])
    assert late.late and record.reply_head == "+OK\r\n"
    assert "last_answer" not in record.detail  # it greeted unasked: no answer to anything
    # Within a kernel tick of its send, not `held` later.
    assert sent[0] - TICK <= record.detail["last_reply"] <= sent[0] + held / 3, (
        record.detail["last_reply"] - sent[0]
    )


def test_a_reply_that_takes_two_reads_is_kept_whole_as_the_last_replys_head(serve):
    """An HTTP server that answers a keep-alive saying it closes (cheroot past its keep-alive
    limit) is told from one that evicts idle connections by that head: its body arriving in
    a read of its own must not stand for it."""
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\n"
    request = http_request("127.0.0.1")

    def keep_then_close(conn) -> None:
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for answer in (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", head):
            received = b""
            while not received.endswith(b"\r\n\r\n"):
                chunk = conn.sock.recv(4096)
                if not chunk:
                    return
                received += chunk
            conn.sock.sendall(answer)
        # The point of the wait: the body goes in a segment of its own, read apart.
        conn.stop.wait(0.1)
        conn.sock.sendall(b"hello")

    server = serve(keep_then_close)
    message = request.decode("latin-1")
    record = trio.run(
        lambda: holder(server.target, hold=5, message=message, interval=0.05, messages=2)
    )
    assert record.outcome is Outcome.CLOSED_BY_SERVER and record.detail["messages"] == 2
    last = record.detail["last_reply_head"]
    assert last.startswith("HTTP/1.1 200 OK\r\n") and last.endswith("hello"), last
    # Answered saying it closes: a keep-alive declined, however soon, never an eviction.
    assert fate(record, HTTP, idle=60.0, tolerance=0.25) is Fate.DECLINED
