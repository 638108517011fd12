"""Where chaos clients aim: a host and port, parsed from ``HOST:PORT`` and checked for loopback.

Resolution happens once per run, so thousands of connections do not each pay for a lookup.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

import trio

__all__ = [
    "MAX_LABEL",
    "PREFLIGHT_TIMEOUT",
    "Endpoint",
    "SockAddr",
    "Target",
    "as_target",
    "resolve",
    "unreachable",
]


# A reachable loopback server answers a handshake in microseconds; a second is generous.
PREFLIGHT_TIMEOUT = 1.0
# DNS's limit on one label of a name (RFC 1035); IDNA encoding refuses longer ones.
MAX_LABEL = 63
# An IPv4 ``(host, port)`` or IPv6 ``(host, port, flowinfo, scope_id)`` socket address.
SockAddr = tuple[str, int] | tuple[str, int, int, int]


def _check_host(host: str) -> None:
    """Refuse a name the resolver cannot even encode: getaddrinfo would raise UnicodeError."""
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
        return
    except ValueError:
        pass
    for label in host.removesuffix(".").split("."):
        if not 0 < len(label) <= MAX_LABEL:
            raise ValueError(
                f"host: each dot-separated label needs 1 to {MAX_LABEL} characters, "
                f"got {len(label)} in {host!r}"
            )
    try:
        host.encode("idna")
    except UnicodeError as exc:
        why = exc.__cause__ or exc  # the codec wraps the reason in a second UnicodeError
        raise ValueError(f"host: cannot be encoded for the resolver ({why}): {host!r}") from None


def _inet(sockaddr: object) -> SockAddr:
    """A resolved TCP socket address, checked to be the IPv4 or IPv6 shape it must be."""
    if isinstance(sockaddr, tuple) and len(sockaddr) in (2, 4) and isinstance(sockaddr[0], str):
        return sockaddr
    raise OSError(f"not an internet socket address: {sockaddr!r}")


@dataclass(frozen=True, kw_only=True, slots=True)
class Target:
    """A TCP server address; ``str(target)`` gives back the ``HOST:PORT`` form."""

    host: str
    port: int

    def __post_init__(self) -> None:
        if not isinstance(self.host, str) or not self.host.strip():
            raise ValueError(f"host: expected a non-empty host name, got {self.host!r}")
        _check_host(self.host)
        if isinstance(self.port, bool) or not isinstance(self.port, int):
            raise ValueError(f"port: expected an integer, got {self.port!r}")
        if not 0 < self.port < 65536:
            raise ValueError(f"port: must be 1..65535, got {self.port}")

    @classmethod
    def parse(cls, text: str) -> Target:
        """Parse ``HOST:PORT`` or ``[IPV6]:PORT``; a bad form raises ValueError naming target."""
        if not isinstance(text, str):
            raise ValueError(f"target: expected HOST:PORT, got {text!r}")
        if text.startswith("["):
            host, sep, port = text[1:].partition("]:")
        else:
            host, sep, port = text.rpartition(":")
        if not sep or not host or not (port.isascii() and port.isdigit()):
            raise ValueError(f"target: expected HOST:PORT, got {text!r}")
        try:
            return cls(host=host, port=int(port))
        except ValueError as exc:
            raise ValueError(f"target: {exc}") from None

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def addresses(self) -> list[tuple[int, SockAddr]]:
        """Resolve (blocking) to every ``(family, sockaddr)`` this target names."""
        infos = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
        return [(family, _inet(sockaddr)) for family, _, _, _, sockaddr in infos]

    def is_loopback(self) -> bool:
        """True when every address the host resolves to is a loopback address."""
        found = self.addresses()
        return bool(found) and all(
            ipaddress.ip_address(sockaddr[0].split("%")[0]).is_loopback for _, sockaddr in found
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class Endpoint:
    """A resolved target: the socket family and address every connection of a run uses."""

    family: int
    sockaddr: SockAddr
    host_header: str


async def resolve(target: Target) -> Endpoint:
    """Resolve ``target`` once (numeric hosts need no lookup) into an :class:`Endpoint`."""
    infos = await trio.socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    if not infos:
        raise OSError(f"cannot resolve {target}")
    family, _, _, _, sockaddr = infos[0]
    return Endpoint(family=family, sockaddr=_inet(sockaddr), host_header=str(target))


def as_target(target: Target | str) -> Target:
    """Accept a :class:`Target` or its ``HOST:PORT`` text."""
    return target if isinstance(target, Target) else Target.parse(target)


def unreachable(target: Target, timeout: float = PREFLIGHT_TIMEOUT) -> str | None:
    """Why a connection to ``target`` cannot be opened now, or None when one opens (and is
    closed at once): the check before an attack, so a wrong address fails in one line."""
    try:
        with socket.create_connection((target.host, target.port), timeout=timeout):
            return None
    except TimeoutError:
        return "connect timed out"
    except OSError as exc:
        return exc.strerror or str(exc)
