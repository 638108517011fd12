"""Source addresses: past the ephemeral ports of one address by binding connections to several.

One source address reaches one server address and port through at most the ephemeral port
range (about 28,000 ports). For a loopback target, connections are spread over 127.0.0.0/8
(every address of it is this host's own) once a plan needs more than one address should
carry; for other targets the caller names the addresses. Sockets bind with
IP_BIND_ADDRESS_NO_PORT, so the kernel picks each port at connect time for the whole
four-tuple. A plan the addresses cannot carry is refused before its first connection.
"""

from __future__ import annotations

import ipaddress
import math
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .fdlimit import LimitError

__all__ = [
    "DEFAULT_PORTS",
    "PORT_RANGE",
    "SPREAD_FILL",
    "PortLimitError",
    "Sources",
    "choose_sources",
    "ephemeral_ports",
]

PORT_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
# Linux's default range, 32768-60999, where the file cannot be read.
DEFAULT_PORTS = (32768, 60999)
# Spreading gives each address at most this share of its ports: room for the TIME_WAIT of
# earlier runs and other clients, and a short search for a free port in connect().
SPREAD_FILL = 0.5
_LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


class PortLimitError(LimitError):
    """The source addresses have too few ephemeral ports for the plan; the message says why."""


def ephemeral_ports(path: Path = PORT_RANGE) -> tuple[int, int]:
    """The first and last port of this host's ephemeral range."""
    try:
        low, high = (int(part) for part in path.read_text().split())
    except (OSError, ValueError):
        return DEFAULT_PORTS
    return low, high


@dataclass(frozen=True, slots=True)
class Sources:
    """The addresses connections bind to, client ``index`` to ``addresses[index % n]``; none:
    the system picks (one address, the route's)."""

    addresses: tuple[str, ...] = ()

    def of(self, index: int) -> str | None:
        """The source address of client ``index`` (None: the system's choice)."""
        if not self.addresses:
            return None
        return self.addresses[index % len(self.addresses)]

    def describe(self) -> str:
        if len(self.addresses) <= 2:
            return ", ".join(self.addresses)
        return f"{self.addresses[0]} .. {self.addresses[-1]} ({len(self.addresses)} addresses)"


def _check(addresses: Sequence[str], family: int) -> tuple[str, ...]:
    want = 4 if family == socket.AF_INET else 6
    out = []
    for text in addresses:
        try:
            address = ipaddress.ip_address(text.strip())
        except ValueError:
            raise ValueError(f"source: expected IP addresses, got {text!r}") from None
        if address.version != want:
            raise ValueError(f"source: {address} is not an IPv{want} address like the target's")
        out.append(str(address))
    return tuple(out)


def choose_sources(
    family: int,
    address: str,
    connections: int,
    given: Sequence[str] = (),
    *,
    ports: tuple[int, int] | None = None,
) -> Sources:
    """The sources for ``connections`` open at once to ``address`` (of socket ``family``).

    ``given`` addresses are used as they are; otherwise an IPv4 loopback target gets as many
    127.x addresses as the plan needs at :data:`SPREAD_FILL` of their ports. Raises
    :class:`PortLimitError` when the addresses cannot carry ``connections`` at all.
    """
    low, high = ports or ephemeral_ports()
    per_address = high - low + 1
    chosen = _check(given, family)
    if not chosen and connections > per_address * SPREAD_FILL:
        host = ipaddress.ip_address(address.split("%")[0])
        if family == socket.AF_INET and host in _LOOPBACK:
            count = math.ceil(connections / (per_address * SPREAD_FILL))
            first = int(ipaddress.IPv4Address("127.0.0.1"))
            chosen = tuple(str(ipaddress.IPv4Address(first + k)) for k in range(count))
    carried = max(1, len(chosen)) * per_address
    if connections > carried:
        needed = math.ceil(connections / per_address)
        raise PortLimitError(
            f"plan holds up to {connections:,} connections to {address}, but "
            f"{max(1, len(chosen))} source address(es) have {carried:,} ephemeral ports "
            f"({low}-{high} each); give at least {needed} addresses with --source"
        )
    return Sources(chosen)
