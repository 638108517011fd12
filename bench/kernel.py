"""Kernel counters worth reporting: accept-queue overflows (`TcpExt: ListenOverflows`)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["listen_overflows"]

_NETSTAT = Path("/proc/net/netstat")


def listen_overflows() -> int | None:
    """Connections the kernel dropped because an accept queue was full, since boot."""
    try:
        lines = _NETSTAT.read_text().splitlines()
    except OSError:
        return None
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            table = dict(zip(names.split()[1:], values.split()[1:], strict=False))
            value = table.get("ListenOverflows")
            return int(value) if value is not None else None
    return None
