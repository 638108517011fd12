"""3. Slowloris: one header byte per second; how long until each server cuts the connection.

Every server runs at the same time with one trickling client each, so the long watch (past
65 s is "never") is paid once for all of them rather than once per server.
"""

from __future__ import annotations

import select
import socket
import time
from contextlib import ExitStack
from dataclasses import dataclass

from ..context import Context
from ..raw_http import status_of
from ..result import Column, Row, Section, Verdict
from ..serve import Running, running
from ..settings_for import slowloris
from ..stats import fmt_s
from .common import MEASURE_ERRORS, failed, ours

__all__ = ["TRICKLE", "Cut", "run"]

# A request head that never ends: after these bytes, one more header byte each second.
TRICKLE = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slowloris: "
_INTERVAL = 1.0
_RDHUP = getattr(select, "EPOLLRDHUP", 0x2000)
# A cut within this of the configured request_timeout is "at" it.
TOLERANCE = 1.0


def _byte(i: int) -> bytes:
    return TRICKLE[i : i + 1] if i < len(TRICKLE) else b"a"


def _how(sock: socket.socket) -> str:
    try:
        data = sock.recv(4096)
    except BlockingIOError:
        return ""
    except OSError:
        return "reset"
    if not data:
        return "closed"
    status = status_of(data)
    return f"answered {status}" if status else "sent data"


def trickle(servers: list[Running], cap: float) -> dict[str, tuple[float | None, str]]:
    """One slowloris client per server; returns name -> (seconds until cut or None, how)."""
    ep = select.epoll()
    clients: dict[int, tuple[Running, socket.socket]] = {}
    results: dict[str, tuple[float | None, str]] = {}
    for server in servers:
        try:
            sock = socket.create_connection(server.address, timeout=2.0)
        except OSError as exc:
            results[server.contender.name] = (0.0, f"connect failed: {exc}")
            continue
        sock.setblocking(False)
        clients[sock.fileno()] = (server, sock)
        ep.register(sock.fileno(), select.EPOLLIN | _RDHUP)
    began = time.monotonic()
    sent = 0
    try:
        while clients and (now := time.monotonic()) < began + cap:
            due = began + sent * _INTERVAL
            if now >= due:
                for fd, (server, sock) in list(clients.items()):
                    try:
                        sock.send(_byte(sent))
                    except OSError:
                        results[server.contender.name] = (now - began, "reset on send")
                        ep.unregister(fd)
                        sock.close()
                        del clients[fd]
                sent += 1
                continue
            for fd, _ in ep.poll(min(due - now, began + cap - now)):
                server, sock = clients[fd]
                how = _how(sock)
                if not how:
                    continue
                results[server.contender.name] = (time.monotonic() - began, how)
                ep.unregister(fd)
                sock.close()
                del clients[fd]
    finally:
        for server, sock in clients.values():
            results[server.contender.name] = (None, f"still open after {cap:g} s")
            sock.close()
        ep.close()
    return results


@dataclass(kw_only=True)
class Cut(Row):
    """When (and how) one server cut its trickling client."""

    request_timeout: str  # what the server was told
    cut_s: float | None  # None: still open at the end of the watch
    how: str


def run(ctx: Context) -> Section[Cut]:
    timeout = ctx.sizes.slowloris_request_timeout
    cap = ctx.sizes.slowloris_cap
    section = Section(
        key="slowloris",
        title=f"3. Slowloris (one header byte per second), watched up to {cap:g} s",
        kind=Cut,
        columns=[
            Column("contender", "server"),
            Column("request_timeout", "request_timeout given"),
            Column("cut_s", "cut after", _seconds),
            Column("how", "how"),
        ],
    )
    ctx.say(f"[slowloris] all {len(ctx.contenders)} servers at once, up to {cap:g} s")
    with ExitStack() as stack:
        servers: list[Running] = []
        for contender in ctx.contenders:
            try:
                servers.append(
                    stack.enter_context(
                        running(ctx.children, contender, slowloris(timeout), ctx.pinning)
                    )
                )
            except MEASURE_ERRORS as exc:
                section.rows.append(failed(contender, exc))
        results = trickle(servers, cap)
    for server in servers:
        cut, how = results[server.contender.name]
        given = f"{timeout:g} s" if server.contender.takes_request_timeout else "(none)"
        section.rows.append(
            Cut(
                contender=server.contender.name,
                request_timeout=given,
                cut_s=None if cut is None else round(cut, 2),
                how=how,
            )
        )
    section.notes.append(
        "Our servers ran with --request-timeout as given; the others as they ship. "
        "A server that answers at once has not parsed the head (socketserver reads once)."
    )
    for row in ours(section):
        cut_s = row.cut_s
        section.verdicts.append(
            Verdict(
                f"{row.contender}: slowloris cut at request_timeout ({timeout:g} s, "
                f"+-{TOLERANCE:g} s)",
                f"cut after {_seconds(cut_s)} ({row.how})",
                cut_s is not None and abs(cut_s - timeout) <= TOLERANCE,
            )
        )
    return section


def _seconds(value: object) -> str:
    return fmt_s(value) if isinstance(value, int | float) else "never"
