"""When the kernel heard from the server: for the stamps our own clock would take late.

A client on a loaded machine wakes late: the connect it sees completed, and the bytes it reads,
arrived earlier, by as much as it overslept. The kernel noted each segment as it came
(TCP_INFO, Linux): ``tcpi_last_ack_recv`` is how long ago the last ACK arrived (after a
connect and before any reply, the handshake's SYN-ACK), ``tcpi_last_data_recv`` how long ago
the last data did, both in milliseconds counted in kernel ticks (within a tick, 4 ms at
HZ=250). Starts stamped this way, and ends stamped when we see them, make every duration we
measure at least the server's (less a tick): what a loaded machine adds makes it longer, which
verify excuses by how late this process woke, so a close measured early is the server's own.
Where the kernel cannot say, the stamp is when we saw it. What a client does next (its hold,
its schedule) counts from when it saw the connect, not from these: woken late, it still does
what its plan says.
"""

from __future__ import annotations

import socket
import struct
from typing import Protocol

__all__ = ["TICK", "data_at", "handshake_at"]

# What a stamp from the kernel may be off by, either way: TCP_INFO counts milliseconds in
# kernel ticks (4 ms at HZ=250; 10 ms at HZ=100, the coarsest Linux builds use).
TICK = 0.01

# struct tcp_info (linux/tcp.h): eight one-byte fields, then u32s; tcpi_last_data_recv is the
# 12th of those and tcpi_last_ack_recv the 13th.
_U32 = struct.Struct("I")
_LAST_DATA_RECV = 52
_LAST_ACK_RECV = 56
_SIZE = _LAST_ACK_RECV + _U32.size
_TCP_INFO = getattr(socket, "TCP_INFO", None)


class _Options(Protocol):
    """A socket, ours or trio's: what asks the kernel."""

    def getsockopt(self, level: int, optname: int, buflen: int) -> bytes: ...


def _ago(sock: _Options, offset: int) -> float:
    """Seconds since what TCP_INFO counts at ``offset``; 0.0 where the kernel cannot say."""
    if _TCP_INFO is None:
        return 0.0
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, _SIZE)
    except OSError:
        return 0.0  # not TCP, or already gone
    if len(info) < _SIZE:
        return 0.0
    ms: int = _U32.unpack_from(info, offset)[0]
    return ms / 1000.0


def handshake_at(sock: _Options, seen: float, *, began: float) -> float:
    """When the connect of ``sock``, seen completed at ``seen``, did: when the server's
    SYN-ACK arrived (or, later, whatever it sent since); never before ``began``, the connect's
    own start."""
    return max(began, seen - _ago(sock, _LAST_ACK_RECV))


def data_at(sock: _Options, seen: float, *, after: float) -> float:
    """When the bytes read from ``sock`` at ``seen`` arrived (the last of them, if they came
    in several segments); never before ``after``."""
    return max(after, seen - _ago(sock, _LAST_DATA_RECV))
