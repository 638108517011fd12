"""HTTP as h11 and RFC 9110 define it, from the wire, in both dispatch modes and with both
parsers: HEAD, `Expect: 100-continue`, pipelining in order (after sized and chunked bodies),
HTTP/1.0, bare-LF heads, the Host header HTTP/1.1 requires."""

from __future__ import annotations

from collections.abc import Callable

from toolkit import CloseReason, Server

from .clients import GET, connect, local_port, parse_responses, read_until_closed, recv_until

# Far longer than an answer takes, far shorter than the idle timeout the servers get here:
# an answer that only comes when the connection times out is no answer.
ANSWER_WITHIN = 1.0
IDLE = 3.0


def test_head_gets_the_get_headers_and_no_body(
    make_server: Callable[..., Server], dispatch: str, parser: str
) -> None:
    server = make_server(dispatch=dispatch, http_parser=parser, idle_timeout=IDLE)
    with connect(server.address) as sock:
        sock.sendall(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
        head = recv_until(sock, b"\r\n\r\n", ANSWER_WITHIN)
        assert head.startswith(b"HTTP/1.1 200 OK\r\n"), head
        assert b"content-length: 11\r\n" in head.lower()  # the GET's length, no body
        sock.sendall(GET)  # nothing stray was sent: the next answer starts cleanly
        answer = recv_until(sock, b"hello world", ANSWER_WITHIN)
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n"), answer
    assert server.log.wait_for(lambda s: s.closed == 1, 5.0)
    assert server.stats().handler_errors == 0


def test_expect_100_continue_is_asked_for_the_body(
    make_server: Callable[..., Server], dispatch: str, parser: str
) -> None:
    server = make_server(dispatch=dispatch, http_parser=parser, idle_timeout=IDLE)
    with connect(server.address) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"
        )
        # A client like curl waits for this before it sends its body.
        assert recv_until(sock, b"\r\n\r\n", ANSWER_WITHIN) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"hello")
        answer = recv_until(sock, b"hello world", ANSWER_WITHIN)
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n"), answer


def test_expect_100_continue_with_a_body_too_large_gets_413_at_once(
    make_server: Callable[..., Server], dispatch: str, parser: str
) -> None:
    server = make_server(
        dispatch=dispatch, http_parser=parser, idle_timeout=IDLE, max_request_bytes=1024
    )
    with connect(server.address) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 9999\r\n\r\n"
        )
        data, ended = read_until_closed(sock, ANSWER_WITHIN)
        port = local_port(sock)
    assert data.startswith(b"HTTP/1.1 413 ") and b" 100 " not in data, data
    assert ended is not None
    assert server.log.wait_record(port, 5.0).reason is CloseReason.TOO_LARGE


def test_pipelined_requests_are_answered_in_order(
    make_server: Callable[..., Server], dispatch: str, parser: str
) -> None:
    server = make_server(dispatch=dispatch, http_parser=parser, idle_timeout=IDLE)
    with connect(server.address) as sock:
        sock.sendall(
            b"GET /bytes/1 HTTP/1.1\r\nHost: x\r\n\r\n"
            b"HEAD /bytes/2 HTTP/1.1\r\nHost: x\r\n\r\n"
            b"POST /bytes/3 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
            b"GET /bytes/4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        data, ended = read_until_closed(sock, ANSWER_WITHIN + 1.0)
    assert ended is not None
    answers = parse_responses(data, [b"GET", b"HEAD", b"POST", b"GET"])
    assert answers == [(200, b"x"), (200, b""), (200, b"xxx"), (200, b"xxxx")]


def test_http_1_0_is_answered_then_closed(
    make_server: Callable[..., Server], dispatch: str, parser: str
) -> None:
    """h11 never keeps an HTTP/1.0 connection alive (persistence is optional for 1.0), so
    asking for keep-alive still ends with the answer and a close."""
    server = make_server(dispatch=dispatch, http_parser=parser, idle_timeout=IDLE)
    for head in (b"GET / HTTP/1.0\r\n\r\n", b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"):
        with connect(server.address) as sock:
            sock.sendall(head)
            data, ended = read_until_closed(sock, ANSWER_WITHIN)
        assert ended is not None, "an HTTP/1.0 connection was kept open"
        assert parse_responses(data, [b"GET"]) == [(200, b"hello world")]
        assert b"connection: close" in data.lower()


def test_a_head_with_bare_lf_line_ends_is_served(
    make_server: Callable[..., Server], dispatch: str, parser: str
) -> None:
    """h11 accepts LF-only lines; whatever frames the request must agree with it."""
    server = make_server(dispatch=dispatch, http_parser=parser, idle_timeout=IDLE)
    with connect(server.address) as sock:
        for head in (b"GET / HTTP/1.1\nHost: x\n\r\n", b"GET / HTTP/1.1\nHost: x\n\n"):
            sock.sendall(head)
            answer = recv_until(sock, b"hello world", ANSWER_WITHIN)
            assert answer.startswith(b"HTTP/1.1 200 OK\r\n"), answer


def test_a_chunked_body_is_read_to_its_end_and_the_next_request_answered(
    make_server: Callable[..., Server], dispatch: str, parser: str
) -> None:
    """Sent in one write, a chunked request and the request after it: the body ends where
    its last chunk and trailers end, and not a byte of the next request is lost."""
    server = make_server(dispatch=dispatch, http_parser=parser, idle_timeout=IDLE)
    with connect(server.address) as sock:
        sock.sendall(
            b"POST /bytes/2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\na\nb\r\n4;ext=1\r\n\r\n\r\n\r\n0\r\nX-Trailer: t\r\n\r\n"
            b"GET /bytes/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        data, ended = read_until_closed(sock, ANSWER_WITHIN)
    assert ended is not None
    assert parse_responses(data, [b"POST", b"GET"]) == [(200, b"xx"), (200, b"xxx")]


def test_an_http_1_1_request_needs_exactly_one_host(
    make_server: Callable[..., Server], dispatch: str, parser: str
) -> None:
    server = make_server(dispatch=dispatch, http_parser=parser, idle_timeout=IDLE)
    for head in (b"GET / HTTP/1.1\r\n\r\n", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"):
        with connect(server.address) as sock:
            sock.sendall(head)
            data, ended = read_until_closed(sock, ANSWER_WITHIN)
            port = local_port(sock)
        assert data.startswith(b"HTTP/1.1 400 ") and ended is not None, data
        assert server.log.wait_record(port, 5.0).reason is CloseReason.BAD_REQUEST
