"""The kernel's accept-queue overflow counter (Linux ``TcpExt: ListenOverflows``).

System-wide, not per socket: a delta over a flood is an upper bound on that server's share.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["NETSTAT", "listen_overflows", "parse_listen_overflows"]

NETSTAT = Path("/proc/net/netstat")


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
