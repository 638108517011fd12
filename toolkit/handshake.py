"""How long an accepted connection was established before the accept, from the kernel.

A client is connected once the kernel completes its handshake; it then waits in the listen
backlog until the acceptor takes it. Linux's TCP_INFO says how long ago the connection last
received an ACK (`tcpi_last_ack_recv`, in milliseconds): before any data, that is the
handshake's final ACK. The kernel counts it in ticks (jiffies), so the figure is rounded down
by one tick here: it never exceeds the real wait. Elsewhere (not Linux, not TCP) it is 0.
"""

from __future__ import annotations

import socket
import struct
import time

__all__ = ["waited_since_handshake"]

# struct tcp_info (linux/tcp.h): eight one-byte fields, then u32s; tcpi_last_ack_recv is the
# 13th of those (after rto, ato, snd_mss, rcv_mss, unacked, sacked, lost, retrans, fackets,
# last_data_sent, last_ack_sent, last_data_recv).
_LAST_ACK_RECV = struct.Struct("I")
_LAST_ACK_RECV_OFFSET = 56
_TCP_INFO_SIZE = _LAST_ACK_RECV_OFFSET + _LAST_ACK_RECV.size
_TCP_INFO = getattr(socket, "TCP_INFO", None)
# One kernel tick: the resolution of CLOCK_MONOTONIC_COARSE (clock id 6 on Linux), HZ's
# reciprocal; if unknown, 10 ms (HZ=100, the coarsest Linux has).
try:
    _TICK = time.clock_getres(6) if _TCP_INFO is not None else 0.0
except OSError:
    _TICK = 0.01


def waited_since_handshake(sock: socket.socket) -> float:
    """Seconds (at most) that `sock` was established before now; 0.0 if the kernel cannot
    say. Meant for a socket just accepted that has sent nothing yet."""
    if _TCP_INFO is None:
        return 0.0
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, _TCP_INFO_SIZE)
    except OSError:
        return 0.0  # not TCP (a socketpair in tests), or already reset
    if len(info) < _TCP_INFO_SIZE:
        return 0.0
    ms: int = _LAST_ACK_RECV.unpack_from(info, _LAST_ACK_RECV_OFFSET)[0]
    return max(0.0, ms / 1000.0 - _TICK)
