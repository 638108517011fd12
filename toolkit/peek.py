"""Whether a socket has bytes (or an EOF) waiting, without reading them or ever blocking."""

from __future__ import annotations

import select
import socket

__all__ = ["bytes_waiting"]


def bytes_waiting(sock: socket.socket) -> bool:
    """True if a read would return at once. A zero-timeout poll: works on blocking sockets and
    descriptors above 1024, where recv(MSG_PEEK) would wait out a timeout and select() fails."""
    poller = select.poll()
    try:
        poller.register(sock, select.POLLIN)
    except (OSError, ValueError):
        return False  # already closed
    return bool(poller.poll(0))
