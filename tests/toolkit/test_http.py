"""The HTTP handler: the app as a pure function, and the session over a real socket pair."""

from __future__ import annotations

import gc
import re
import socket
import threading
import weakref

import h11
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit import HTTP_PARSERS, CloseReason, EventLog, ServerConfig
from toolkit.handlers import H11Session, Ready, Session, hello_app, make_handler, sleep_app
from toolkit.service import Service

from .clients import GET


def request(target: bytes) -> h11.Request:
    return h11.Request(method="GET", target=target, headers=[("Host", "x")])


def test_hello_app_answers_hello_world() -> None:
    reply = hello_app(request(b"/"))
    assert (reply.status, reply.body) == (200, b"hello world")


def test_hello_app_serves_n_bytes_and_refuses_absurd_sizes() -> None:
    assert hello_app(request(b"/bytes/5")).body == b"xxxxx"
    assert hello_app(request(b"/bytes/abc")).status == 400
    assert hello_app(request(b"/bytes/999999999999")).status == 400


def test_sleep_app_is_hello_after_a_delay() -> None:
    reply = sleep_app(0.25)(request(b"/"))
    assert (reply.body, reply.delay) == (b"hello world", 0.25)


def test_unknown_handler_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="handler"):
        make_handler("gopher")


def serve_pair(client_bytes: bytes, parser: str, *, half_close: bool = True, **config: object):
    """Serve one connection of a socket pair; returns (reason, what the client received)."""
    cfg = ServerConfig(idle_timeout=1.0, request_timeout=1.0, write_timeout=1.0, **config)
    log = EventLog()
    handler = make_handler("http-hello", max_request_bytes=cfg.max_request_bytes, parser=parser)
    service = Service(cfg, handler, log)
    server_end, client_end = socket.socketpair()
    conn = service.accept(server_end, ("pair", 0))
    log.admitted(conn.id)
    worker = threading.Thread(target=service.run, args=(conn,))
    worker.start()
    with client_end:
        client_end.sendall(client_bytes)
        if half_close:
            client_end.shutdown(socket.SHUT_WR)
        client_end.settimeout(5)
        received = b""
        while chunk := client_end.recv(65536):
            received += chunk
    worker.join(5)
    assert not worker.is_alive()
    (record,) = log.records()
    return record.reason, received


def test_keep_alive_serves_several_requests_then_completes_on_eof(parser: str) -> None:
    reason, received = serve_pair(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 3, parser)
    assert received.count(b"HTTP/1.1 200 OK") == 3
    assert reason is CloseReason.COMPLETED


def test_a_half_closed_client_that_sent_its_request_still_gets_an_answer(parser: str) -> None:
    reason, received = serve_pair(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", parser, half_close=True)
    assert received.startswith(b"HTTP/1.1 200 OK") and received.endswith(b"hello world")
    assert reason is CloseReason.COMPLETED


@pytest.mark.parametrize("value", [b"close", b"Close", b"keep-alive, close", b"TE , CLOSE"])
def test_connection_close_is_honoured(parser: str, value: bytes) -> None:
    head = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: " + value + b"\r\n\r\n"
    reason, received = serve_pair(head, parser, half_close=False)
    assert received.endswith(b"hello world")
    assert reason is CloseReason.COMPLETED


def test_malformed_request_gets_400_and_bad_request(parser: str) -> None:
    reason, received = serve_pair(b"NOT HTTP AT ALL\r\n\r\n", parser, half_close=False)
    assert received.startswith(b"HTTP/1.1 400")
    assert reason is CloseReason.BAD_REQUEST


def test_a_body_framed_by_both_length_and_chunks_gets_400_and_the_connection_closed(
    parser: str,
) -> None:
    # A proxy in front may have framed it by its length: what follows could be a request
    # smuggled past it, so nothing after this head is read.
    smuggled = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
    head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n"
    reason, received = serve_pair(head + b"\r\n0\r\n\r\n" + smuggled, parser, half_close=False)
    assert received.startswith(b"HTTP/1.1 400 "), received[:40]
    assert received.count(b"HTTP/1.1 ") == 1
    assert reason is CloseReason.BAD_REQUEST


def test_an_http_2_request_line_gets_505_and_the_connection_closed(parser: str) -> None:
    # Both parsers read the version; llhttp refuses ones it cannot (HTTP/3.0) with a 400.
    head = b"GET / HTTP/2.0\r\nHost: x\r\n\r\n"
    reason, received = serve_pair(head + GET, parser, half_close=False)
    assert received.startswith(b"HTTP/1.1 505 "), received[:40]
    assert received.count(b"HTTP/1.1 ") == 1
    assert reason is CloseReason.BAD_REQUEST


def test_connect_gets_501_and_the_connection_closed(parser: str) -> None:
    # A 2xx would tell the client its tunnel is open: this server is no proxy.
    head = b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"
    reason, received = serve_pair(head + b"\x16\x03\x01", parser, half_close=False)
    assert received.startswith(b"HTTP/1.1 501 "), received[:40]
    assert received.count(b"HTTP/1.1 ") == 1
    assert reason is CloseReason.BAD_REQUEST


def test_http_2s_connection_preface_is_refused(parser: str) -> None:
    reason, received = serve_pair(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", parser, half_close=False)
    # llhttp refuses the preface itself (400), h11 reads a head of version 2.0 (505).
    assert received.startswith((b"HTTP/1.1 400 ", b"HTTP/1.1 505 ")), received[:40]
    assert received.count(b"HTTP/1.1 ") == 1
    assert reason is CloseReason.BAD_REQUEST


def test_oversized_request_gets_413_and_too_large(parser: str) -> None:
    big = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 5000 + b"\r\n\r\n"
    reason, received = serve_pair(big, parser, half_close=False, max_request_bytes=1024)
    assert received.startswith(b"HTTP/1.1 413")
    assert reason is CloseReason.TOO_LARGE


def test_a_declared_body_too_large_gets_413_even_when_it_arrived_with_the_head(
    parser: str,
) -> None:
    # The same request is refused whether its body is still on the way or already read.
    body = b"b" * 2000
    whole = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n" + body
    reason, received = serve_pair(whole, parser, half_close=False, max_request_bytes=1024)
    assert received.startswith(b"HTTP/1.1 413"), received[:40]
    assert reason is CloseReason.TOO_LARGE


def test_eof_before_any_request_is_peer_closed(parser: str) -> None:
    reason, received = serve_pair(b"", parser, half_close=True)
    assert received == b""
    assert reason is CloseReason.PEER_CLOSED


def test_eof_part_way_through_a_request_is_peer_closed(parser: str) -> None:
    reason, received = serve_pair(b"GET / HTTP/1.1\r\nHo", parser, half_close=True)
    assert received == b""
    assert reason is CloseReason.PEER_CLOSED


_BLANK_LINE = re.compile(rb"\n\r?\n")
_PIECES = [b"GET / HTTP/1.1", b"\r\n", b"\n", b"\r", b"Host: x", b" ", b"\x16", b"X-a: b"]


@settings(max_examples=300, deadline=None)
@given(chunks=st.lists(st.sampled_from(_PIECES) | st.binary(min_size=1, max_size=8), max_size=12))
def test_the_readiness_test_never_hides_what_h11_would_parse(chunks: list[bytes]) -> None:
    """The readiness stage hands a connection to a worker only when `receive_data` says its
    bytes may complete a head. Fed the same bytes after every chunk, a reference h11 never
    finds a request (or an error) in a chunk that test let pass; and when the test lets one
    through, the session's own parse agrees with the reference."""
    session = H11Session(hello_app, 1 << 16)
    reference = h11.Connection(h11.SERVER, max_incomplete_event_size=1 << 16)
    for chunk in chunks:
        news = session.receive_data(chunk)
        reference.receive_data(chunk)
        try:
            event: object = reference.next_event()
        except h11.RemoteProtocolError:
            event = "error"
        if event is h11.NEED_DATA:
            if news:
                assert session.ready() is Ready.NEED_DATA
            continue
        assert news, f"{event!r} hidden after {chunks!r}"
        assert session.ready() is Ready.REQUEST
        return


def _session(parser: str) -> Session:
    return make_handler("http-hello", max_request_bytes=1 << 16, parser=parser).session()


@settings(max_examples=300, deadline=None)
@given(chunks=st.lists(st.sampled_from(_PIECES) | st.binary(min_size=1, max_size=8), max_size=12))
def test_the_readiness_test_never_keeps_a_worker_from_a_whole_head(chunks: list[bytes]) -> None:
    """For each parser: a twin session fed the same chunks and asked `ready()` after every
    one (a worker that looked at every read) finds nothing the session, asked only when
    `receive_data` says its bytes may end a head, does not find at that moment too. Only
    llhttp may see an error before the head's end (it reads as bytes come, h11 waits for
    the blank line); that 400 is answered once the head ends, as h11 answers it."""
    for parser in HTTP_PARSERS:
        session, twin = _session(parser), _session(parser)
        unlooked = b""  # what arrived since the session last looked, after two bytes before
        for chunk in chunks:
            unlooked += chunk
            news = session.receive_data(chunk)
            twin.receive_data(chunk)
            seen = twin.ready()
            if news:
                answer = session.ready()
                assert answer is seen, (parser, chunks)
                if answer is not Ready.NEED_DATA:
                    break
                unlooked = unlooked[-2:]
            elif seen is not Ready.NEED_DATA:
                early_error = parser == "llhttp" and not _BLANK_LINE.search(unlooked)
                assert early_error and seen is Ready.REQUEST, f"{parser}: {seen} hidden, {chunks!r}"


def test_a_session_is_freed_when_dropped_not_left_to_the_garbage_collector(parser: str) -> None:
    """Every connection's session must go when its connection does: one left in a reference
    cycle waits for a full collection, and under load those paused the server for tens of
    milliseconds (the new-connection p99)."""
    session = _session(parser)
    session.receive_data(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert session.ready() is Ready.REQUEST
    gone = weakref.ref(session)
    gc.disable()
    try:
        del session
        assert gone() is None, "the session is kept alive by a reference cycle"
    finally:
        gc.enable()
