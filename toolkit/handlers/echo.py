"""`echo`: sends back whatever arrives; the raw-TCP handler for trickle and slow-reader tests."""

from __future__ import annotations

from ..connection import Connection
from .base import Handler, Session

__all__ = ["Echo"]


class _EchoSession(Session):
    def serve(self, conn: Connection) -> bool:
        data = conn.recv()
        if not data:
            return False
        conn.request_done()
        conn.sendall(data)
        return True


class Echo(Handler):
    """Echo every chunk back; each chunk is one request for the deadlines."""

    name = "echo"
    busy_reply = b"busy\r\n"

    def session(self) -> Session:
        return _EchoSession()
