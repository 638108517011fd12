"""How long an accepted connection was established before the accept, from the kernel.

A client is connected once the kernel completes its handshake; it then waits in the listen
backlog until the acceptor takes it. Linux's TCP_INFO says how long ago the connection last
received an ACK (`tcpi_last_ack_recv`, in milliseconds): before any data, that is the
handshake's final ACK. The kernel counts it in ticks (jiffies), so the figure is rounded down
by one tick here: it never exceeds the real wait. The same call says whether the client has
sent anything yet. Elsewhere (not Linux, not TCP) the kernel cannot say.
"""

from __future__ import annotations

import socket
import struct
import time
from typing import NamedTuple

__all__ = ["Established", "established"]

# struct tcp_info (linux/tcp.h): eight one-byte fields, then u32s; tcpi_last_ack_recv is the
# 13th of those (after rto, ato, snd_mss, rcv_mss, unacked, sacked, lost, retrans, fackets,
# last_data_sent, last_ack_sent, last_data_recv); tcpi_bytes_received, a u64, is at 128.
_LAST_ACK_RECV = struct.Struct("I")
_LAST_ACK_RECV_OFFSET = 56
_BYTES_RECEIVED = struct.Struct("Q")
_BYTES_RECEIVED_OFFSET = 128
_TCP_INFO_SIZE = _BYTES_RECEIVED_OFFSET + _BYTES_RECEIVED.size
_TCP_INFO = getattr(socket, "TCP_INFO", None)
# One kernel tick: the resolution of CLOCK_MONOTONIC_COARSE (clock id 6 on Linux), HZ's
# reciprocal; if unknown, 10 ms (HZ=100, the coarsest Linux has).
try:
    _TICK = time.clock_getres(6) if _TCP_INFO is not None else 0.0
except OSError:
    _TICK = 0.01


class Established(NamedTuple):
    """What the kernel says of a just-accepted connection."""

    waited: float  # seconds (at most) it was established before now
    # Whether bytes have arrived (none has been read yet); None if the kernel cannot say.
    arrived: bool | None


_UNKNOWN = Established(0.0, None)


def established(sock: socket.socket) -> Established:
    """How long `sock` (just accepted, nothing read from it yet) has been established, and
    whether its client has sent; one system call. `(0.0, None)` where the kernel cannot say."""
    if _TCP_INFO is None:
        return _UNKNOWN
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, _TCP_INFO_SIZE)
    except OSError:
        return _UNKNOWN  # not TCP (a socketpair in tests), or already reset
    if len(info) < _TCP_INFO_SIZE:
        return _UNKNOWN
    ms: int = _LAST_ACK_RECV.unpack_from(info, _LAST_ACK_RECV_OFFSET)[0]
    received: int = _BYTES_RECEIVED.unpack_from(info, _BYTES_RECEIVED_OFFSET)[0]
    return Established(max(0.0, ms / 1000.0 - _TICK), received > 0)
