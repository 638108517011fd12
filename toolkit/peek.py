"""Whether a socket has input waiting, without reading it or ever blocking: any (bytes or an
EOF), or how many bytes (what a close would throw away, answering with a reset)."""

from __future__ import annotations

import fcntl
import select
import socket
import struct
import termios

__all__ = ["bytes_waiting", "unread_bytes"]

_COUNT = struct.Struct("i")
_NO_COUNT = bytes(_COUNT.size)


def bytes_waiting(sock: socket.socket) -> bool:
    """True if a read would return at once. A zero-timeout poll: works on blocking sockets and
    descriptors above 1024, where recv(MSG_PEEK) would wait out a timeout and select() fails."""
    poller = select.poll()
    try:
        poller.register(sock, select.POLLIN)
    except (OSError, ValueError):
        return False  # already closed
    return bool(poller.poll(0))


def unread_bytes(sock: socket.socket) -> int:
    """Bytes received and not yet read (FIONREAD); a pending EOF counts none, since closing on
    it sends a plain FIN, not the reset that unread data draws. 0 if the socket is closed."""
    try:
        count: int = _COUNT.unpack(fcntl.ioctl(sock.fileno(), termios.FIONREAD, _NO_COUNT))[0]
    except (OSError, ValueError):
        return 0
    return count
