"""Rejecting a connection at once, without ever blocking the thread that rejects it."""

from __future__ import annotations

import socket

__all__ = ["reject_socket"]

# Read at most this much of what a rejected peer already sent: enough to empty a request head
# so closing sends FIN rather than RST (which could destroy the reply before the peer reads it).
_DRAIN_LIMIT = 64 * 1024


def reject_socket(sock: socket.socket, reply: bytes) -> None:
    """Send `reply` (if any) without blocking, then close. Errors mean the peer is gone."""
    try:
        sock.setblocking(False)
        drained = 0
        while drained < _DRAIN_LIMIT:
            chunk = sock.recv(_DRAIN_LIMIT)
            if not chunk:
                break
            drained += len(chunk)
    except OSError:
        pass  # BlockingIOError: nothing (more) to drain; anything else: the peer is gone
    try:
        if reply:
            sock.send(reply)  # a fresh socket's send buffer always has room for a short reply
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    finally:
        sock.close()
