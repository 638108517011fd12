"""Just enough HTTP/1.1 for a load client, by hand for speed: request bytes and responses."""

from __future__ import annotations

__all__ = ["REQUEST", "REQUEST_CLOSE", "response_end", "status_of"]

REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
REQUEST_CLOSE = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def status_of(data: bytes) -> int | None:
    """The status code of the response starting `data`, or None if it is not one (yet)."""
    if not data.startswith(b"HTTP/"):
        return None
    parts = data.split(b" ", 2)
    if len(parts) < 2 or not parts[1][:3].isdigit():
        return None
    return int(parts[1][:3])


def response_end(data: bytes) -> int | None:
    """Offset just past the first complete response in `data`, or None if incomplete.

    A response without Content-Length ends at EOF, which the caller detects itself.
    """
    head_end = data.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    head = data[:head_end].lower()
    marker = head.find(b"\r\ncontent-length:")
    if marker < 0:
        return None
    line_end = head.find(b"\r\n", marker + 2)
    value = head[marker + len(b"\r\ncontent-length:") : line_end if line_end >= 0 else None]
    end = head_end + 4 + int(value.strip())
    return end if len(data) >= end else None
