"""Run a chaos plan against an in-process toolkit server and gather what the checker judges.

The server and the clients share one monotonic clock, so every client record joins its server
record by port. After the plan, the harness waits for the server to drain (bounded by its own
timeouts), sends one recovery probe, shuts the server down and counts leftover threads and
descriptors. While it runs, the heap the caller had is frozen: in a big test process a full
collection of it stops the server and the clients timing it alike, for a tenth of a second.
"""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Iterator

import trio

from toolkit import Server, ServerConfig

from ..engine.fdlimit import open_fds
from ..faults.probe import probe
from ..plan import Plan
from ..runner import run
from .checker import Observation

__all__ = ["heap_frozen", "observe", "settle_time"]


def settle_time(config: ServerConfig) -> float:
    """Longest any connection can outlive the plan before the server's own deadlines end it."""
    longest = config.queue_timeout + config.idle_timeout + config.request_timeout
    return longest + config.write_timeout + 1.0


@contextlib.contextmanager
def heap_frozen() -> Iterator[None]:
    """Objects made before the block are not scanned by the collections during it (a timed
    block in a big process pays for its own garbage only)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def observe(
    config: ServerConfig, plan: Plan, *, handler: str = "http-hello", recovery: bool = True
) -> Observation:
    """Run `plan` against a fresh server built from `config`; everything needed to judge it."""
    fds_before = open_fds()
    server = Server(config, handler)
    host, port = server.start()
    target = f"{host}:{port}"
    try:
        with heap_frozen():
            result = run(plan, target=target)
            # Quiet means every connection the plan made was accepted and has ended (a
            # flood's dead connections may still sit in the backlog when the clients are
            # done), and every worker is idle again: one that has closed its connection but
            # not yet gone back to the pool still turns a newcomer away.
            made = sum(1 for record in result.records if record.connected is not None)
            server.log.wait_for(
                lambda s: s.closed >= made and s.open == 0 and s.busy == 0, settle_time(config)
            )
            recovered = None
            if recovery:
                recovered = trio.run(functools.partial(probe, target))
    finally:
        server.shutdown()
    leaked = [t.name for t in server.threads()]
    stats = server.stats()
    return Observation(
        clients=result.records,
        server=server.log.records(),
        stats=stats,
        recovery=recovered,
        leaked_threads=tuple(sorted(leaked)),
        leaked_fds=max(0, open_fds() - fds_before),
        log_complete=stats.accepted <= config.log_capacity,
    )
