"""What the kernel says of the server's sockets on this host: the accept-queue overflow counter
(Linux ``TcpExt: ListenOverflows``), how many connections wait in one port's accept queue, and
the state of the server's end of one of our connections.

The counter is system-wide, not per socket: a delta over a flood is an upper bound on that
server's share. The queue is per socket: a connection there has its handshake done by the
kernel but has not been accepted by the server, which no client can tell from the wire. It is
asked of the kernel's socket diagnostics (netlink ``sock_diag``, listeners only), else read
from /proc/net/tcp{,6}, which lists every socket and takes tens of milliseconds to write while
thousands are open.

The server's end of a connection tells what its client cannot see: a server that closes with
its answer unsent leaves the kernel sending it, and its FIN waits behind those bytes until the
client reads them, while its socket has left ESTABLISHED at once; and a connection the server
never accepted is still in its accept queue (no process owns it), or not even there (a
deferred accept, TCP_DEFER_ACCEPT, holds it half-open until its first bytes).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "FAMILIES",
    "NETSTAT",
    "TABLES",
    "TCP_CLOSE",
    "TCP_CLOSE_WAIT",
    "TCP_ESTABLISHED",
    "TCP_LISTEN",
    "TCP_SYN_RECV",
    "TheirEnd",
    "accept_queue",
    "diag_listeners",
    "families_for",
    "listen_overflows",
    "parse_accept_queue",
    "parse_listen_overflows",
    "parse_their_end",
    "their_end",
    "their_end_of",
]

NETSTAT = Path("/proc/net/netstat")
TABLES: dict[int, Path] = {
    socket.AF_INET: Path("/proc/net/tcp"),
    socket.AF_INET6: Path("/proc/net/tcp6"),
}
# The families whose listeners a loopback client of an IPv4 address reaches, in the order
# asked: an IPv4 listener, else a dual-stack IPv6 one. A client of ::1 reaches IPv6 ones only.
FAMILIES = (socket.AF_INET, socket.AF_INET6)
_LISTEN = "0A"
# Local addresses a loopback client reaches, as /proc/net/tcp{,6} spell them (each 32-bit
# word in host byte order): any address, 127.0.0.0/8, ::1, and ::ffff:127.0.0.0/104.
_ANY4, _ANY6 = "0" * 8, "0" * 32
_LOOP6, _MAPPED6 = "0" * 24 + "01000000", "0" * 16 + "FFFF0000"
# One listening socket: its local address (spelled as /proc/net/tcp does), its port, and the
# connections waiting in its accept queue.
ListenSocket = tuple[str, int, int]

# linux/netlink.h, linux/sock_diag.h, linux/inet_diag.h.
_NETLINK_SOCK_DIAG, _SOCK_DIAG_BY_FAMILY = 4, 20
_NLM_F_REQUEST, _NLM_F_DUMP = 0x1, 0x300
_NLMSG_ERROR, _NLMSG_DONE = 2, 3
# Linux TCP states (include/net/tcp_states.h), as TCP_INFO and the socket diagnostics give them.
TCP_ESTABLISHED, TCP_SYN_RECV, TCP_CLOSE, TCP_CLOSE_WAIT, TCP_LISTEN = 1, 3, 7, 8, 10
# The states of a socket whose FIN is sent or queued (FIN_WAIT1, FIN_WAIT2, TIME_WAIT,
# LAST_ACK, CLOSING): closed or shut for writing, never reset (a reset socket goes straight
# to CLOSE and out of the tables).
_FIN_STATES = frozenset({4, 5, 6, 9, 11})
_ALL_STATES = 0xFFFFFFFF
_NO_COOKIE = 0xFFFFFFFF
_HEADER = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, sequence, port id
_REQUEST = struct.Struct("=BBBxI48x")  # inet_diag_req_v2: family, protocol, ext, states, id
# The same, naming one socket (an exact lookup, not a dump): its id is its local port and the
# remote one (both big-endian), its local and remote addresses, any interface, no cookie.
_EXACT = struct.Struct("=BBBxI2s2s16s16sIII")
# inet_diag_msg, read up to rqueue: family, state, timer, retrans; its id: sport, dport (both
# big-endian), src[16], dst[16], interface, cookie[8]; then expires, rqueue (a listener's
# accept queue).
_MESSAGE = struct.Struct("=4xH2x16s16x12x4xI")
# The same, read for its state and, past rqueue, wqueue and uid, its inode (0: no process).
_STATE = struct.Struct("=xB50x16xI")


def parse_listen_overflows(text: str) -> int | None:
    """The ListenOverflows value in ``/proc/net/netstat`` text, or None if absent."""
    names: list[str] | None = None
    for line in text.splitlines():
        prefix, _, rest = line.partition(":")
        if prefix != "TcpExt":
            continue
        if names is None:
            names = rest.split()
            continue
        values = dict(zip(names, rest.split(), strict=False))
        value = values.get("ListenOverflows")
        return int(value) if value is not None and value.isdigit() else None
    return None


def listen_overflows(path: Path = NETSTAT) -> int | None:
    """The current counter, or None where there is no such file (not Linux)."""
    try:
        return parse_listen_overflows(path.read_text())
    except OSError:
        return None


def _reachable(address: str) -> bool:
    """Whether a listener bound to ``address`` (hex, as /proc/net/tcp{,6} give it) takes
    connections to loopback."""
    if len(address) == 8:
        return address == _ANY4 or address.endswith("7F")
    return address in (_ANY6, _LOOP6) or (address.startswith(_MAPPED6) and address.endswith("7F"))


def _waiting(listeners: Iterable[ListenSocket], port: int) -> int | None:
    """Connections waiting on ``port``, summed over its listeners that loopback reaches; None
    if none listens there."""
    waiting: int | None = None
    for address, bound, queued in listeners:
        if bound == port and _reachable(address.upper()):
            waiting = (waiting or 0) + queued
    return waiting


def _table(text: str) -> Iterator[ListenSocket]:
    """The listeners of /proc/net/tcp{,6} text (a listener's rx_queue is its accept queue)."""
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 5 or fields[3] != _LISTEN:
            continue
        address, _, hex_port = fields[1].partition(":")
        yield address, int(hex_port, 16), int(fields[4].partition(":")[2], 16)


def parse_accept_queue(text: str, port: int) -> int | None:
    """Connections waiting to be accepted on ``port``, summed over its listening sockets that
    loopback reaches, in /proc/net/tcp{,6} text; None if no such socket listens there."""
    return _waiting(_table(text), port)


def _spelled(raw: bytes) -> str:
    """A socket address from the kernel (network order) spelled as /proc/net/tcp does: hex,
    each 32-bit word in host byte order."""
    return "".join(raw[i : i + 4][::-1].hex().upper() for i in range(0, len(raw), 4))


def _ask(family: int, request: bytes, flags: int) -> Iterator[tuple[int, bytes]]:
    """The kernel's socket diagnostics' answer to ``request``: each message's type and body,
    until its end (a dump's DONE, or the one answer to an exact lookup). Raises OSError (or
    AttributeError, where there is no netlink) when it cannot be asked."""
    header = _HEADER.pack(_HEADER.size + len(request), _SOCK_DIAG_BY_FAMILY, flags, 1, 0)
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, _NETLINK_SOCK_DIAG) as sock:
        sock.settimeout(1.0)
        sock.sendto(header + request, (0, 0))
        while True:
            data = sock.recv(1 << 16)
            for kind, body in _messages(data):
                yield kind, body
                if kind in (_NLMSG_DONE, _NLMSG_ERROR) or not flags & _NLM_F_DUMP:
                    return


def diag_listeners(family: int) -> list[ListenSocket] | None:
    """Every TCP listener of ``family`` with its accept queue, asked of the kernel's socket
    diagnostics (it sends listeners only); None where it cannot be asked (not Linux, or
    refused here)."""
    request = _REQUEST.pack(family, socket.IPPROTO_TCP, 0, 1 << TCP_LISTEN)
    size = 16 if family == socket.AF_INET6 else 4
    found: list[ListenSocket] = []
    try:
        for kind, body in _ask(family, request, _NLM_F_REQUEST | _NLM_F_DUMP):
            if kind == _NLMSG_DONE:
                return found
            if kind == _NLMSG_ERROR:
                return None
            port, src, queued = _MESSAGE.unpack_from(body)
            found.append((_spelled(src[:size]), socket.ntohs(port), queued))
    except (AttributeError, OSError, struct.error):
        return None
    return None


def _messages(data: bytes) -> Iterator[tuple[int, bytes]]:
    """Each netlink message in one datagram: its type and body."""
    offset = 0
    while offset + _HEADER.size <= len(data):
        length, kind, _, _, _ = _HEADER.unpack_from(data, offset)
        if length < _HEADER.size:
            return
        yield kind, data[offset + _HEADER.size : offset + length]
        offset += (length + 3) & ~3


def families_for(host: str) -> tuple[int, ...]:
    """The families whose listeners a client of ``host`` (a loopback address) reaches."""
    return (socket.AF_INET6,) if ":" in host else FAMILIES


def accept_queue(port: int, families: tuple[int, ...] = FAMILIES) -> int | None:
    """Connections waiting in the accept queue of the local server on ``port`` now: over the
    first of ``families`` with a listener there; None where the kernel says nothing (not
    Linux) or shows no listener (another network namespace)."""
    for family in families:
        listeners = diag_listeners(family)
        if listeners is None:
            try:
                listeners = list(_table(TABLES[family].read_text()))
            except (OSError, ValueError):
                continue
        waiting = _waiting(listeners, port)
        if waiting is not None:
            return waiting
    return None


# An address and port as a socket gives them: (host, port) or (host, port, flow, scope).
Address = tuple[Any, ...]


def _packed(family: int, host: str) -> bytes:
    """``host`` in network order, padded to the 16 bytes a socket id holds."""
    return socket.inet_pton(family, host).ljust(16, b"\0")


@dataclass(frozen=True, slots=True)
class TheirEnd:
    """The server's end of one of our connections: its TCP state (``include/net/tcp_states.h``)
    and whether a process owns it (accepted; not while in the accept queue, nor once closed
    with its answer left to the kernel)."""

    state: int
    owned: bool

    @property
    def fin_queued(self) -> bool:
        """It closed (or shut its writing) with a FIN: sent, or waiting behind unsent bytes."""
        return self.state in _FIN_STATES

    @property
    def held(self) -> bool:
        """A process still holds it open: not closed by the server, nor left in its queue."""
        return self.owned and not self.fin_queued

    @property
    def unaccepted(self) -> bool:
        """Never taken by the server: half-open in its kernel, or waiting in its accept queue."""
        return self.state == TCP_SYN_RECV or (self.state == TCP_ESTABLISHED and not self.owned)


def _diag_end(family: int, ours: Address, theirs: Address) -> TheirEnd | None:
    """The socket whose local end is ``theirs`` and remote end ``ours``, by an exact lookup;
    None if there is none; raises OSError where the kernel cannot be asked."""
    request = _EXACT.pack(
        family,
        socket.IPPROTO_TCP,
        0,
        _ALL_STATES,
        theirs[1].to_bytes(2, "big"),
        ours[1].to_bytes(2, "big"),
        _packed(family, theirs[0]),
        _packed(family, ours[0]),
        0,
        _NO_COOKIE,
        _NO_COOKIE,
    )
    for kind, body in _ask(family, request, _NLM_F_REQUEST):
        if kind == _NLMSG_ERROR:
            return None  # ENOENT: no such socket here
        state, inode = _STATE.unpack_from(body)
        # The kernel's lookup falls back to a listener on that port: the connection is gone.
        return None if state == TCP_LISTEN else TheirEnd(state, inode != 0)
    return None


def _spelled_end(family: int, address: Address) -> str:
    """``address`` as /proc/net/tcp{,6} spell a socket's end: hex address, colon, hex port."""
    return f"{_spelled(socket.inet_pton(family, address[0]))}:{address[1]:04X}"


def parse_their_end(text: str, ours: str, theirs: str) -> TheirEnd | None:
    """The socket at ``theirs`` connected to ``ours`` (both spelled as /proc/net/tcp{,6} spell
    them) in that table's text; None if it lists no such socket."""
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) > 9 and fields[1] == theirs and fields[2] == ours:
            return TheirEnd(int(fields[3], 16), fields[9] != "0")
    return None


def their_end(ours: Address, theirs: Address) -> TheirEnd | None:
    """The server's end of our connection from ``ours`` to ``theirs``, where it is on this
    host (a loopback server); None where it is not (another host or network namespace, or
    gone) or the kernel says nothing."""
    family = socket.AF_INET6 if ":" in ours[0] else socket.AF_INET
    try:
        return _diag_end(family, ours, theirs)
    except (AttributeError, OSError, struct.error, ValueError):
        pass
    try:
        text = TABLES[family].read_text()
        return parse_their_end(text, _spelled_end(family, ours), _spelled_end(family, theirs))
    except (OSError, ValueError):
        return None


def their_end_of(sock: Any) -> TheirEnd | None:
    """:func:`their_end` of a connected socket (a trio one too); None once it is not."""
    try:
        ours, theirs = sock.getsockname(), sock.getpeername()
    except OSError:
        return None
    return their_end(ours, theirs)
