"""The machinery under every fault: sessions, slots, the exchange loop, seeded payloads, limits.

:class:`Crowd` places and runs clients; :class:`Session` is one connection, the one place a
socket error becomes an outcome; :func:`exchange` is the loop most faults are; a
:class:`Swarm` runs a :class:`Script` for thousands of connections in one epoll loop (the fast
path); the payload functions make seeded bytes; :func:`ensure_capacity` fits a run in the
open-file limit; :func:`listen_overflows` reads the kernel's accept-queue overflow counter, and
:func:`accept_queue` how many wait in one port's accept queue.
"""

from __future__ import annotations

from .crowd import Crowd, Group
from .exchange import Pace, exchange, listen_only, trickle
from .fdlimit import FdBudget, FdLimitError, ensure_capacity, open_fds
from .kernel import accept_queue, listen_overflows, parse_accept_queue, parse_listen_overflows
from .payload import client_rng, faker_text, letters, random_bytes
from .session import Session
from .slot import Slot
from .swarm import Listener, Script, Swarm, SwarmSlot

__all__ = [
    "Crowd",
    "FdBudget",
    "FdLimitError",
    "Group",
    "Listener",
    "Pace",
    "Script",
    "Session",
    "Slot",
    "Swarm",
    "SwarmSlot",
    "accept_queue",
    "client_rng",
    "ensure_capacity",
    "exchange",
    "faker_text",
    "letters",
    "listen_only",
    "listen_overflows",
    "open_fds",
    "parse_accept_queue",
    "parse_listen_overflows",
    "random_bytes",
    "trickle",
]
