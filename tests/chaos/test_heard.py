"""A client woken late stamps its connect and its first reply byte when the kernel heard them,
not when it woke: a loaded machine makes what we measure longer, never shorter."""

from __future__ import annotations

import socket
import threading
import time

import trio

from chaos.engine.exchange import at_once, exchange
from chaos.engine.heard import TICK, data_at, handshake_at
from chaos.engine.session import Session
from chaos.target import Endpoint

# This process is kept from running this long, as a machine short of CPU keeps it.
HELD = 0.3
_ESTABLISHED = 1  # tcpi_state (linux/tcp_states.h)


def _endpoint(listener: socket.socket) -> Endpoint:
    host, port = listener.getsockname()
    return Endpoint(family=socket.AF_INET, sockaddr=(host, port), host_header=f"{host}:{port}")


def test_the_kernel_says_when_a_connect_completed_and_a_reply_arrived() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        began = time.monotonic()
        with socket.create_connection(listener.getsockname()) as sock:
            returned = time.monotonic()  # the handshake was done by then
            served, _ = listener.accept()
            with served:
                time.sleep(HELD)  # we look late
                connected = handshake_at(sock, time.monotonic(), began=began)
                assert began <= connected <= returned + TICK, (connected - began, returned - began)
                before = time.monotonic()
                served.sendall(b"hi")  # on loopback, there once this returns
                after = time.monotonic()
                time.sleep(HELD)  # we read late
                assert sock.recv(2) == b"hi"
                arrived = data_at(sock, time.monotonic(), after=connected)
                assert before - TICK <= arrived <= after + TICK, (arrived - before, after - before)


def test_where_the_kernel_cannot_say_the_stamp_is_when_we_saw_it() -> None:
    a, b = socket.socketpair()  # not TCP: no TCP_INFO
    with a, b:
        assert handshake_at(a, 5.0, began=1.0) == 5.0
        assert data_at(a, 5.0, after=1.0) == 5.0


class _LateAfterTheHandshake(trio.abc.Instrument):
    """Keeps this process from running for HELD once the kernel has completed the session's
    connect, just before the connecting task wakes to see it."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.task: trio.lowlevel.Task | None = None
        self.held = False

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        sock = self.session.sock
        if task is not self.task or self.held or sock is None or self.session.connected:
            return
        if sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] == _ESTABLISHED:
            self.held = True
            time.sleep(HELD)  # no task runs: the completed connect waits unseen


def test_a_session_woken_late_stamps_its_connect_and_first_byte_as_they_happened() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        sent: list[float] = []
        seen = threading.Event()

        def serve() -> None:
            conn, _ = listener.accept()
            with conn:
                # Once the client has seen its connect (an ACK now would be the kernel's last),
                # while it is held again.
                seen.wait(5.0)
                time.sleep(0.05)  # well inside the client's HELD: the reply waits unread
                sent.append(time.monotonic())
                conn.sendall(b"hello")
                sent.append(time.monotonic())
                conn.recv(1)  # until the client closes

        server = threading.Thread(target=serve, daemon=True)
        server.start()
        session = Session(kind="test", index=0, endpoint=_endpoint(listener))
        late = _LateAfterTheHandshake(session)

        async def main() -> None:
            late.task = trio.lowlevel.current_task()
            assert await session.connect(5.0)
            seen.set()
            time.sleep(HELD)  # the reply arrives meanwhile
            assert await session.recv() == b"hello"
            session.close()

        trio.run(main, instruments=[late])
        server.join(5.0)
    assert late.held, "the process was never held between the handshake and its sight"
    assert session.connected is not None and session.first_byte is not None
    assert session.opened is not None
    # Seen HELD after the handshake at least, stamped within a tick of it.
    assert session.opened - session.connected >= HELD - TICK, session.opened - session.connected
    before, after = sent
    assert before - TICK <= session.first_byte <= after + TICK, session.first_byte - before


def test_a_client_that_saw_its_connect_late_still_gets_its_whole_hold() -> None:
    """Its hold counts from when it saw the connect, so it still sends what its plan says:
    a plan replays with the same bytes on a starved machine."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        session = Session(kind="test", index=0, endpoint=_endpoint(listener))
        late = _LateAfterTheHandshake(session)

        async def main() -> None:
            late.task = trio.lowlevel.current_task()
            assert await session.connect(5.0)
            # The hold is shorter than the process was held after the handshake.
            await exchange(session, hold=HELD / 2, write=at_once(session, [b"ping"]))
            session.close()

        trio.run(main, instruments=[late])
    assert late.held
    assert session.bytes_sent == 4
    assert session.connected is not None and session.opened is not None
    assert session.opened - session.connected >= HELD - TICK
