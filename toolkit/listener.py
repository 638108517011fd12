"""The listening socket: bound, with a real backlog (the kernel's queue of unaccepted peers)."""

from __future__ import annotations

import socket
import sys

__all__ = ["INHERITS_NODELAY", "open_listener"]

# Whether a socket accepted from a listener with TCP_NODELAY has it too: Linux makes each
# accepted socket as a copy of its listener, options included. There, a connection need not
# set it again (a system call per connection).
INHERITS_NODELAY = sys.platform.startswith("linux")


def open_listener(host: str, port: int, backlog: int) -> socket.socket:
    """Bind and listen on `host:port` (IPv4 or IPv6 literal or name) with `backlog`; with
    TCP_NODELAY, for the sockets it accepts (`INHERITS_NODELAY`)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, type_, proto, _, address = infos[0]
    sock = socket.socket(family, type_, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock
