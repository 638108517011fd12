"""Each fault does what it says on the wire, checked from the server's side of the socket.

Timestamps are compared with the server's own ``time.monotonic()`` stamps, joined by port.
"""

from __future__ import annotations

import socket
import struct
import threading
import time

import h11
import pytest
import trio

import chaos
from chaos import Outcome
from chaos.engine.heard import TICK
from chaos.engine.swarm import ACCEPT_POLL_MAX
from chaos.faults import NeverSendParams, ProbeParams
from chaos.faults.registry import FAULTS
from chaos.params import HoldParams
from chaos.testing.bounds import widened
from chaos.verify.settings import WIRE_TOLERANCE
from toolkit import ServerConfig

# A client stamp of a wire event and the server's stamp of its cause differ by at most this:
# scheduling delay, so widened with the load.
TOLERANCE = widened(0.05)
SERVER_DELAY = 0.2
# threading.Event.wait may wake up to a millisecond early, so lower bounds allow that much.
EARLY = 0.002
# The hold of a client that ends once answered: only a hang runs into it.
UNTIL_ANSWERED = 5.0
# A hold the test server's acceptor takes a connection well within, however loaded.
UNTIL_ACCEPTED = widened(0.5)


def close_after_delay(conn) -> None:
    """Accept, wait exactly SERVER_DELAY without reading, close with a FIN."""
    conn.stop.wait(SERVER_DELAY)
    conn.log("closing")


def read_all(conn) -> None:
    conn.read_all()


def hold_until_eof(conn) -> None:
    conn.read_all()


def respond_after_eof(conn) -> None:
    """Read until the client's FIN, then answer, wait SERVER_DELAY and close."""
    conn.read_all()
    conn.respond(200)
    conn.log("responded")
    conn.stop.wait(SERVER_DELAY)
    conn.log("closing")


def http_error_on_bad_request(conn) -> None:
    """h11 with an 8 KiB head limit: 431/400 on bad input, 200 otherwise; then close."""
    _, event = conn.read_request(max_size=8192)
    if isinstance(event, h11.RemoteProtocolError):
        conn.respond(event.error_status_hint)
    else:
        conn.respond(200)
    conn.log("closing")


def run(fn, *args, **kwargs):
    return trio.run(lambda: fn(*args, **kwargs))


@pytest.mark.parametrize("deferred", [False, True], ids=["accept queue", "deferred accept"])
def test_never_send_says_when_the_server_never_accepted_it(deferred: bool) -> None:
    """A listener that never accepts keeps a silent connection in its accept queue; with a
    deferred accept (TCP_DEFER_ACCEPT) its kernel keeps it half-open, waiting for bytes. Either
    way the server never saw it, and no idle timeout of its could have cut it."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        if deferred:
            listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 30)
        host, port = listener.getsockname()
        target = f"{host}:{port}"
        record = run(chaos.never_send, target, hold=0.2)
    assert record.outcome is Outcome.HELD_TO_END
    assert record.detail.get("unaccepted") is True, record.detail


def test_never_send_held_by_the_server_is_not_unaccepted(serve):
    server = serve(hold_until_eof)
    # Its acceptor takes it within milliseconds; the hold leaves it far longer than that.
    record = run(chaos.never_send, server.target, hold=UNTIL_ACCEPTED)
    accepted, _ = server.find(record.local_port, "accepted")
    assert accepted < record.closed
    assert record.outcome is Outcome.HELD_TO_END and "unaccepted" not in record.detail
    assert accepted - EARLY <= record.number("accepted") <= accepted + TOLERANCE + ACCEPT_POLL_MAX


def test_never_send_says_when_a_server_slow_to_accept_took_it() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        taken: list[float] = []

        def accept_late() -> None:
            time.sleep(SERVER_DELAY)  # the server's own pace: nothing to wait on but time
            sock, _ = listener.accept()
            taken.append(time.monotonic())
            with sock:
                sock.recv(1)  # held until the client's hold ends

        thread = threading.Thread(target=accept_late)
        thread.start()
        host, port = listener.getsockname()
        record = run(chaos.never_send, f"{host}:{port}", hold=UNTIL_ACCEPTED)
        thread.join(UNTIL_ACCEPTED)
    assert taken and record.connected is not None
    accepted = record.number("accepted")
    assert accepted is not None and "unaccepted" not in record.detail, record.detail
    assert taken[0] - EARLY <= accepted <= taken[0] + TOLERANCE + ACCEPT_POLL_MAX
    assert accepted - record.connected >= SERVER_DELAY - EARLY


def test_never_send_sees_the_close_the_server_makes_after_200ms(serve):
    server = serve(close_after_delay)
    record = run(chaos.never_send, server.target, hold=2.0)
    accepted, _ = server.find(record.local_port, "accepted")
    closing, _ = server.find(record.local_port, "closing")
    assert record.outcome is Outcome.CLOSED_BY_SERVER
    assert record.bytes_sent == 0 and record.first_sent is None
    assert closing - accepted >= SERVER_DELAY - EARLY
    assert closing <= record.server_eof <= closing + TOLERANCE
    # Measured from our connect, which precedes the server's accept (by more on a loaded
    # machine, whose accept thread runs late): at least the server's delay, and no later
    # than the close it made.
    assert SERVER_DELAY - EARLY <= record.server_closed_after
    assert record.server_closed_after <= closing - record.connected + TOLERANCE


def test_a_fault_takes_its_parameter_object_and_keywords_override_it(serve):
    server = serve(hold_until_eof)
    params = NeverSendParams(hold=5.0, connect_timeout=1.0)
    record = run(chaos.never_send, server.target, params, hold=0.05)
    assert record.outcome is Outcome.HELD_TO_END
    assert record.closed - record.connected < 1.0
    with pytest.raises(ValueError, match="NeverSendParams"):
        run(chaos.never_send, server.target, ProbeParams())


def test_never_send_holds_to_the_end_and_then_closes_with_a_fin(serve):
    server = serve(hold_until_eof)
    record = run(chaos.never_send, server.target, hold=0.1)
    ((_, port, eof_at, data),) = [(None, *e[:1], e[2], e[3]) for e in server.wait_for("eof")]
    assert port == record.local_port and data == b""
    assert record.outcome is Outcome.HELD_TO_END
    assert 0.1 <= record.closed - record.connected <= 0.1 + TOLERANCE
    assert record.closed <= eof_at <= record.closed + TOLERANCE


def test_half_close_after_request_sends_fin_and_still_reads_the_response(serve):
    server = serve(respond_after_eof)
    record = run(chaos.half_close, server.target, when="after", hold=2.0)
    eof_at, request = server.find(record.local_port, "eof")
    closing, _ = server.find(record.local_port, "closing")
    assert request.startswith(b"GET / HTTP/1.1\r\n") and request.endswith(b"\r\n\r\n")
    # The server saw our FIN, and only then answered: we read after half-closing. The answer's
    # arrival is the kernel's stamp, within a tick of it.
    assert record.detail["write_shutdown"] <= eof_at <= record.first_byte + TICK
    assert record.detail["got_response"] is True and record.status == 200
    assert record.outcome is Outcome.CLOSED_BY_SERVER
    assert closing <= record.server_eof <= closing + TOLERANCE
    assert record.server_closed_after >= SERVER_DELAY - EARLY


def test_half_close_before_request_sends_only_a_fin(serve):
    server = serve(respond_after_eof)
    record = run(chaos.half_close, server.target, when="before", hold=2.0)
    _, request = server.find(record.local_port, "eof")
    assert request == b"" and record.bytes_sent == 0
    assert record.detail["got_response"] is True and record.status == 200


def test_reset_with_no_bytes_sends_rst_not_fin(serve):
    server = serve(read_all)
    record = run(chaos.reset, server.target, size=0)
    server.wait_for("closed")
    _, data = server.find(record.local_port, "reset")
    assert data == b""
    assert record.outcome is Outcome.COMPLETED and record.detail["aborted"] is True


def test_reset_after_bytes_delivers_them_then_rst(serve):
    server = serve(read_all)
    record = run(chaos.reset, server.target, size=30, delay=0.05)
    server.wait_for("closed")
    _, data = server.find(record.local_port, "reset")
    assert data == b"GET / HTTP/1.1\r\nHost: 127.0.0.1:"[:30]
    assert record.bytes_sent == 30


def test_slowloris_trickles_headers_and_never_completes_them(serve):
    server = serve(read_all)
    record = run(chaos.slowloris, server.target, hold=0.3, interval=0.02)
    _, data = server.find(record.local_port, "eof")
    assert data.startswith(b"GET / HTTP/1.1\r\nHost: ")
    assert b"\r\n\r\n" not in data and data.endswith(b"\r\n")
    assert len(data) == record.bytes_sent
    lines = data.split(b"\r\n")[1:-1]
    assert all(b": " in line for line in lines)
    # One line every 20 ms for 300 ms, give or take scheduling.
    assert 10 <= record.detail["header_lines"] <= 16
    assert record.outcome is Outcome.HELD_TO_END


def test_slowloris_sees_a_server_that_gives_up(serve):
    server = serve(close_after_delay)
    record = run(chaos.slowloris, server.target, hold=2.0, interval=0.02)
    closing, _ = server.find(record.local_port, "closing")
    # The server closed with our headers unread, which the kernel turns into an RST.
    assert record.outcome in (Outcome.RESET_BY_SERVER, Outcome.CLOSED_BY_SERVER)
    assert closing <= record.connected + record.server_closed_after <= closing + TOLERANCE


def test_slow_body_sends_complete_headers_then_part_of_the_body(serve):
    server = serve(read_all)
    record = run(
        chaos.slow_body, server.target, content_length=1000, chunk=3, interval=0.02, hold=0.2
    )
    _, data = server.find(record.local_port, "eof")
    head, sep, body = data.partition(b"\r\n\r\n")
    assert sep and b"Content-Length: 1000" in head and head.startswith(b"POST / ")
    assert 0 < len(body) < 1000 and len(body) % 3 == 0
    assert body.isalpha()


def test_slow_send_trickles_the_payload_on_schedule(serve):
    server = serve(read_all)
    record = run(
        chaos.slow_send, server.target, payload="abcdefghij", chunk=2, interval=0.03, hold=0.3
    )
    _, data = server.find(record.local_port, "eof")
    assert data == b"abcdefghij" and record.detail["sent_all"] is True
    # Chunks keep to a grid that begins at the first send, which starts once connected: a
    # first send stamped late (a loaded machine) shortens the span from it, not from the grid.
    assert record.last_sent - record.connected >= 4 * 0.03
    assert record.last_sent - record.first_sent <= 4 * 0.03 + TOLERANCE


def _send_big_response_for_a_while(conn) -> int:
    """Answer with 4 MB through a tiny send buffer for SERVER_DELAY; the bytes left unsent."""
    conn.read_request()
    conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 4000000\r\n\r\n"
    data = memoryview(head + b"x" * 4_000_000)
    deadline = time.monotonic() + SERVER_DELAY
    conn.sock.setblocking(False)
    while data and time.monotonic() < deadline:
        try:
            data = data[conn.sock.send(data) :]
        except BlockingIOError:
            conn.stop.wait(0.005)
    return len(data)


def big_response_then_give_up(conn) -> None:
    """Answer with 4 MB through a tiny send buffer; abort with RST after 0.2 s of sending."""
    left = _send_big_response_for_a_while(conn)
    conn.log("gave_up", left)
    conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def big_response_then_close(conn) -> None:
    """The same, then a plain close: the kernel goes on sending what it holds, FIN last."""
    left = _send_big_response_for_a_while(conn)
    conn.log("gave_up", left)


def test_slow_read_never_reading_records_when_the_server_gives_up(serve):
    server = serve(big_response_then_give_up)
    record = run(chaos.slow_read, server.target, never_read=True, hold=2.0, poll=0.005)
    gave_up, left = server.find(record.local_port, "gave_up")
    assert left > 3_000_000
    assert record.outcome is Outcome.RESET_BY_SERVER and record.bytes_received == 0
    assert gave_up <= record.reset <= gave_up + TOLERANCE
    assert record.server_closed_after >= SERVER_DELAY - EARLY


def test_slow_read_never_reading_sees_a_plain_close_behind_the_unsent_answer(serve):
    """The FIN of a server that closes without a reset waits behind what its kernel still
    holds, which a client that never reads never takes: the server's own socket says when
    it closed, and reading what was left then shows the answer cut short."""
    server = serve(big_response_then_close)
    record = run(chaos.slow_read, server.target, never_read=True, hold=2.0, poll=0.005)
    gave_up, left = server.find(record.local_port, "gave_up")
    assert left > 3_000_000
    closed = record.server_closed
    assert closed is not None and record.server_ended_at == closed, record
    assert gave_up <= closed <= gave_up + TOLERANCE
    # What the kernel held came after it, then the FIN: an answer short of its length.
    assert record.outcome is Outcome.CLOSED_BY_SERVER and record.server_eof >= closed
    assert 0 < record.bytes_received < 4_000_000
    assert record.detail["got_response"] is False


def test_slow_read_reading_slowly_gets_part_then_the_reset(serve):
    server = serve(big_response_then_give_up)
    record = run(
        chaos.slow_read, server.target, read_size=512, read_interval=0.02, hold=2.0, poll=0.005
    )
    gave_up, _ = server.find(record.local_port, "gave_up")
    assert record.outcome is Outcome.RESET_BY_SERVER
    assert 0 < record.bytes_received < 4_000_000
    assert gave_up <= record.reset <= gave_up + TOLERANCE


def test_slow_read_completes_a_small_response(serve):
    server = serve(http_error_on_bad_request)
    record = run(chaos.slow_read, server.target, read_interval=0.01, hold=2.0)
    assert record.outcome is Outcome.COMPLETED and record.status == 200


def test_garbage_gets_a_431_and_the_close(serve):
    server = serve(http_error_on_bad_request)
    # Neither holds a blank line, so the server sees one endless head past its 8 KiB limit.
    text = run(chaos.garbage, server.target, size=20000, mode="faker", hold=2.0, seed=5)
    noise = run(chaos.garbage, server.target, size=20000, hold=2.0, seed=5)
    assert text.status == noise.status == 431
    for record in (text, noise):
        assert record.outcome in (Outcome.CLOSED_BY_SERVER, Outcome.RESET_BY_SERVER)


def test_garbage_faker_mode_sends_seeded_text(serve):
    server = serve(read_all)
    # `hold` counts from the connect and the server never closes: long enough for a starved
    # client to reach its send (at 0.05 s, a quarter of a CPU once sent nothing).
    first = run(chaos.garbage, server.target, size=300, mode="faker", hold=0.5, seed=9)
    second = run(chaos.garbage, server.target, size=300, mode="faker", hold=0.5, seed=9)
    _, one = server.find(first.local_port, "eof")
    _, two = server.find(second.local_port, "eof")
    assert one == two and len(one) == 300
    assert one.decode().isprintable() or "\n" in one.decode()


def test_oversized_header_and_line_are_refused_by_a_limited_server(serve):
    server = serve(http_error_on_bad_request)
    header = run(chaos.oversized, server.target, part="header", size=20000, hold=2.0)
    headers = run(chaos.oversized, server.target, part="headers", size=20000, hold=2.0)
    line = run(chaos.oversized, server.target, part="line", size=20000, hold=2.0)
    small = run(chaos.oversized, server.target, part="header", size=100, hold=2.0)
    assert header.status == headers.status == line.status == 431
    assert header.bytes_sent > 20000
    assert small.status == 200


def read_request_and_body(conn) -> None:
    """Read one request head and its whole body with h11, log them, answer 200."""
    parser, head = conn.read_request()
    body = bytearray()
    while not isinstance(event := parser.next_event(), h11.EndOfMessage):
        if event is h11.NEED_DATA:
            parser.receive_data(conn.sock.recv(65536))
        elif isinstance(event, h11.Data):
            body += event.data
        else:
            raise AssertionError(f"not a request body: {event!r}")
    conn.log("request", (head, bytes(body)))
    conn.respond(200)


def test_oversized_body_announces_and_sends_the_size(serve):
    server = serve(read_request_and_body)
    # The answer, once the whole body is in, ends the client, so its hold only bounds a
    # machine slow to send (a fixed short hold cut the body on a loaded one).
    record = run(chaos.oversized, server.target, part="body", size=200_000, hold=UNTIL_ANSWERED)
    _, (head, body) = server.find(record.local_port, "request")
    assert (b"content-length", b"200000") in head.headers and len(body) == 200_000
    assert record.status == 200 and record.closed - record.connected < UNTIL_ANSWERED


def answer(status: int, delay: float = 0.0):
    def handler(conn) -> None:
        conn.read_request()
        conn.stop.wait(delay)
        conn.respond(status)
        conn.read_all()

    return handler


def test_probe_is_available_on_200_and_not_on_503(serve):
    ok = run(chaos.probe, serve(answer(200)).target)
    down = run(chaos.probe, serve(answer(503)).target)
    assert ok.outcome is Outcome.COMPLETED and ok.detail["available"] is True
    assert down.outcome is Outcome.COMPLETED and down.status == 503
    assert down.detail["available"] is False


def test_probe_too_slow_is_not_available(serve):
    record = run(chaos.probe, serve(answer(200, delay=0.3)).target, max_latency=0.1)
    assert record.detail["available"] is False and record.status is None
    assert 0.1 <= record.closed - record.started <= 0.1 + TOLERANCE


def test_probe_refused_is_not_available_and_predicate_can_be_replaced(serve, closed_port):
    refused = run(chaos.probe, f"127.0.0.1:{closed_port}")
    assert refused.outcome is Outcome.REFUSED and refused.detail["available"] is False
    lenient = run(chaos.probe, serve(answer(503)).target, predicate=lambda r: r.status == 503)
    assert lenient.detail["available"] is True


def test_enotconn_after_the_server_reset_us_is_a_reset_not_an_error() -> None:
    """shutdown() after a server RST raises ENOTCONN: the connection is gone, by the peer."""
    import errno

    from chaos.engine.session import Session, fail
    from chaos.target import Endpoint

    session = Session(
        kind="half_close",
        index=0,
        endpoint=Endpoint(
            family=socket.AF_INET, sockaddr=("127.0.0.1", 1), host_header="127.0.0.1:1"
        ),
    )
    session.connected = time.monotonic()
    fail(session, OSError(errno.ENOTCONN, "Transport endpoint is not connected"))
    record = session.record()
    assert record.outcome is Outcome.RESET_BY_SERVER and record.error is None
    never = Session(
        kind="half_close",
        index=1,
        endpoint=Endpoint(
            family=socket.AF_INET, sockaddr=("127.0.0.1", 1), host_header="127.0.0.1:1"
        ),
    )
    fail(never, OSError(errno.ENOTCONN, "not connected"))  # never connected: a real error
    assert never.record().outcome is Outcome.ERROR


# nginx's default client_header_timeout, client_body_timeout and send_timeout (ANCHORS.md).
NGINX_DEFAULT_TIMEOUT = 60.0


# Faults that hold a connection until a server deadline should cut it (flood, by default,
# closes each connection at once and holds nothing).
HOLDERS = [f for f in FAULTS.values() if f.traits.cut_by and issubclass(f.params, HoldParams)]


@pytest.mark.parametrize("fault", HOLDERS, ids=lambda f: f.kind)
def test_a_default_hold_outlasts_the_deadline_the_fault_provokes(fault):
    # A client that gives up first reports held_to_end for a connection the server was about
    # to cut: 20 slowloris clients against request_timeout 10 all said so with a 10 s hold.
    deadline = getattr(ServerConfig(), fault.traits.cut_by.value)
    hold = fault.params().hold
    assert hold > max(deadline, NGINX_DEFAULT_TIMEOUT) + WIRE_TOLERANCE, fault.kind
