"""HTTP/1.1 on the wire, shared by both parsers' sessions: when a buffered head may be whole,
and a reply as bytes (a fixed reply framed once).

The readiness stage asks `may_end_head` before it hands a connection to a worker: the blank
line that ends every head (h11's own `\\n\\r?\\n`), or, at the start of a request, a first byte
no request line begins with (a space, a control byte, TLS), which either parser rejects at
once. It is a precondition, never a parse.
"""

from __future__ import annotations

import re

from .replies import Reply, phrase

__all__ = ["CONTINUE", "HEAD_END", "Framer", "frame", "may_end_head"]

HEAD_END = re.compile(rb"\n\r?\n")
_FIRST_REQUEST_BYTE = 0x21
# What `h11.send(InformationalResponse(100))` writes.
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
# RFC 9110's token (a header name) and field value (visible characters, inner spaces and tabs).
_TOKEN = re.compile(rb"[-!#$%&'*+.^_`|~0-9A-Za-z]+")
_FIELD_VALUE = re.compile(rb"([\x21-\x7e\x80-\xff]([\t\x20-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?)?")
# Fixed replies are the app's constants: a handful. Past this the cache starts over.
_MOST_FIXED = 64


def may_end_head(tail: bytes, data: bytes, at_start: bool, *, skips_blank: bool) -> bool:
    """Whether `data`, arriving after `tail` (the last two bytes before it), may complete a
    request head: a head end in them, or a first byte (`at_start`) no request begins with
    (CR and LF too, unless the parser `skips_blank` lines before a request, as llhttp does).
    Only False is certain: the head is not whole yet."""
    if HEAD_END.search(data) is not None or (tail and HEAD_END.search(tail + data[:2])):
        return True
    if not at_start or not data or data[0] >= _FIRST_REQUEST_BYTE:
        return False
    return not (skips_blank and data[0] in b"\r\n")


def frame(reply: Reply, *, head: bool, close: bool) -> bytes:
    """`reply` as an HTTP/1.1 response, as h11 would write it: Content-Type and Content-Length
    first, the reply's headers, `Connection: close` if the connection ends after it; a HEAD
    answer has the headers and no body. ValueError for a status or header h11 would refuse."""
    if not 200 <= reply.status <= 999:
        raise ValueError(f"a final response needs a status 200..999, got {reply.status}")
    lines = [
        b"HTTP/1.1 %d %s\r\n" % (reply.status, phrase(reply.status).encode("ascii")),
        b"Content-Type: text/plain\r\nContent-Length: %d\r\n" % len(reply.body),
    ]
    for name, value in reply.headers:
        raw_name, raw_value = name.encode("ascii"), value.strip(" \t").encode("latin-1")
        if not _TOKEN.fullmatch(raw_name) or not _FIELD_VALUE.fullmatch(raw_value):
            raise ValueError(f"illegal header in reply: {name!r}: {value!r}")
        lines.append(b"%s: %s\r\n" % (raw_name, raw_value))
    if close and not closes(reply):
        lines.append(b"Connection: close\r\n")
    lines.append(b"\r\n")
    if not head:
        lines.append(reply.body)
    return b"".join(lines)


def closes(reply: Reply) -> bool:
    """Whether the reply itself says the connection ends after it."""
    return any(
        name.lower() == "connection" and "close" in value.lower() for name, value in reply.headers
    )


class Framer:
    """Frames replies; a `fixed` reply (the same every time) is framed once per variant."""

    def __init__(self) -> None:
        self._fixed: dict[tuple[Reply, bool, bool], bytes] = {}
        # The same constant object each time (the common case): found without hashing it.
        self._last: tuple[Reply, bool, bool, bytes] | None = None

    def frame(self, reply: Reply, *, head: bool, close: bool) -> bytes:
        if not reply.fixed:
            return frame(reply, head=head, close=close)
        last = self._last
        if last is not None and last[0] is reply and last[1] == head and last[2] == close:
            return last[3]
        key = (reply, head, close)
        framed = self._fixed.get(key)
        if framed is None:
            if len(self._fixed) >= _MOST_FIXED:
                self._fixed.clear()
            framed = self._fixed[key] = frame(reply, head=head, close=close)
        self._last = (reply, head, close, framed)
        return framed
