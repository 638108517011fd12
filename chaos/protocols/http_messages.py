"""HTTP/1.1 requests and responses through h11, so no fault hand-writes an HTTP parser."""

from __future__ import annotations

import time
from collections.abc import Sequence

import h11

from ..jsondata import Scalar

__all__ = ["USER_AGENT", "ResponseReader", "keep_alive_timeout", "request", "request_head"]

USER_AGENT = "chaos/0.1"


def request_head(
    host: str,
    *,
    method: str = "GET",
    path: str = "/",
    headers: Sequence[tuple[str, str]] = (),
    content_length: int | None = None,
) -> tuple[h11.Connection, bytes]:
    """Serialise a request head; returns the h11 connection so a body can follow through it."""
    conn = h11.Connection(h11.CLIENT)
    all_headers = [("Host", host), ("User-Agent", USER_AGENT), *headers]
    if content_length is not None:
        all_headers.append(("Content-Length", str(content_length)))
    head = conn.send(h11.Request(method=method, target=path, headers=all_headers))
    return conn, head


def request(
    host: str, *, method: str = "GET", path: str = "/", headers: Sequence[tuple[str, str]] = ()
) -> bytes:
    """A complete body-less request."""
    conn, head = request_head(host, method=method, path=path, headers=headers)
    return head + conn.send(h11.EndOfMessage())


def keep_alive_timeout(response: h11.Response) -> float | None:
    """The seconds a response's ``Keep-Alive: timeout=N`` header says the server keeps an idle
    connection open (RFC 2068, 19.7.1: Node sends it, nginx with a second ``keepalive_timeout``
    argument), or None."""
    for name, value in response.headers:
        if name != b"keep-alive":
            continue
        for param in value.split(b","):
            key, _, number = param.strip().partition(b"=")
            if key.strip().lower() == b"timeout":
                try:
                    seconds = float(number.strip())
                except ValueError:
                    return None
                return seconds if seconds >= 0 else None
    return None


def _closes(response: h11.Response) -> bool:
    """Whether the server closes after this response (RFC 9112, 9.3): it says
    ``Connection: close``, or it is HTTP/1.0 and does not say ``keep-alive``."""
    tokens = b",".join(value.lower() for name, value in response.headers if name == b"connection")
    return b"close" in tokens or (response.http_version < b"1.1" and b"keep-alive" not in tokens)


class ResponseReader:
    """Feed received bytes; learns the status and whether a complete response arrived.

    The h11 client state is primed with a throwaway request, so a response can be parsed even
    when the real request was never sent (half-close before the request) or was garbage.
    """

    def __init__(self, *, method: str = "GET") -> None:
        self._conn = h11.Connection(h11.CLIENT)
        self._conn.send(h11.Request(method=method, target="/", headers=[("Host", "chaos")]))
        self._conn.send(h11.EndOfMessage())
        self.status: int | None = None
        self.closing = False  # the response said the server closes after it (or is HTTP/1.0)
        self.keep_alive: float | None = None  # the idle timeout its Keep-Alive header says
        self.complete = False
        self.completed_at: float | None = None
        self.body_bytes = 0
        self.error: str | None = None

    def feed(self, data: bytes) -> bool:
        """Consume ``data`` (``b""`` means EOF); True once a whole response has arrived."""
        if self.complete or self.error is not None:
            return self.complete
        try:
            self._conn.receive_data(data)
            while True:
                event = self._conn.next_event()
                if event is h11.NEED_DATA or event is h11.PAUSED:
                    break
                if isinstance(event, h11.Response):
                    self.status = event.status_code
                    self.closing = _closes(event)
                    self.keep_alive = keep_alive_timeout(event)
                elif isinstance(event, h11.Data):
                    self.body_bytes += len(event.data)
                elif isinstance(event, h11.EndOfMessage):
                    self.complete = True
                    self.completed_at = time.monotonic()
                    break
                elif isinstance(event, h11.ConnectionClosed):
                    break
        except h11.RemoteProtocolError as exc:
            self.error = f"server sent invalid HTTP: {exc}"
        return self.complete

    def summary(self) -> dict[str, Scalar]:
        """JSON-safe facts for a record's ``detail``."""
        out: dict[str, Scalar] = {"got_response": self.complete, "body_bytes": self.body_bytes}
        if self.error is not None:
            out["protocol_error"] = self.error
        return out
