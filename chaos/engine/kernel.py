"""What the kernel says of listening sockets: the accept-queue overflow counter (Linux
``TcpExt: ListenOverflows``) and how many connections wait in one port's accept queue.

The counter is system-wide, not per socket: a delta over a flood is an upper bound on that
server's share. The queue is per socket: a connection there has its handshake done by the
kernel but has not been accepted by the server, which no client can tell from the wire.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "NETSTAT",
    "TCP6_TABLES",
    "TCP_TABLES",
    "accept_queue",
    "listen_overflows",
    "parse_accept_queue",
    "parse_listen_overflows",
]

NETSTAT = Path("/proc/net/netstat")
TCP_TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))
TCP6_TABLES = TCP_TABLES[1:]
_LISTEN = "0A"
# Local addresses a loopback client reaches, as /proc/net/tcp{,6} spell them (each 32-bit
# word in host byte order): any address, 127.0.0.0/8, ::1, and ::ffff:127.0.0.0/104.
_ANY4, _ANY6 = "0" * 8, "0" * 32
_LOOP6, _MAPPED6 = "0" * 24 + "01000000", "0" * 16 + "FFFF0000"


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


def parse_accept_queue(text: str, port: int) -> int | None:
    """Connections waiting to be accepted on ``port``, summed over its listening sockets that
    loopback reaches, in /proc/net/tcp{,6} text (a listener's rx_queue is its accept queue);
    None if no such socket listens there."""
    waiting: int | None = None
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 5 or fields[3] != _LISTEN:
            continue
        address, _, hex_port = fields[1].partition(":")
        if int(hex_port, 16) != port or not _reachable(address.upper()):
            continue
        waiting = (waiting or 0) + int(fields[4].partition(":")[2], 16)
    return waiting


def accept_queue(port: int, tables: tuple[Path, ...] = TCP_TABLES) -> int | None:
    """Connections waiting in the accept queue of the local server on ``port`` now: from the
    first of ``tables`` with a listener there (an IPv4 one before a dual-stack IPv6 one; the
    kernel takes tens of milliseconds to write each table while thousands of sockets are
    open); None where the tables are absent (not Linux) or show no listener (another network
    namespace)."""
    for table in tables:
        try:
            waiting = parse_accept_queue(table.read_text(), port)
        except (OSError, ValueError):
            continue
        if waiting is not None:
            return waiting
    return None
