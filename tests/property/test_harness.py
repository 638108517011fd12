"""What the in-process harness leaves of the caller's process while it observes a run."""

from __future__ import annotations

import dataclasses
import gc
import time
from collections.abc import Callable

from chaos.plan import ClientSpec, Plan
from chaos.testing.bounds import Bounds
from chaos.testing.checker import check
from chaos.testing.harness import observe
from toolkit import ServerConfig
from toolkit.connection import Connection
from toolkit.pool import WorkerPool

CONFIG = ServerConfig(idle_timeout=0.2, request_timeout=0.3, write_timeout=0.2, workers=2)


def test_collections_during_an_observation_leave_the_callers_heap_unscanned() -> None:
    # A user's process, not this suite's (whose fixture freezes the heap for every test): a
    # full collection of a big heap there stopped the server and its clients alike.
    gc.unfreeze()
    kept = [[] for _ in range(20_000)]  # the caller's heap: tracked objects it holds
    frozen: list[int] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            frozen.append(gc.get_freeze_count())

    plan = Plan(clients=(ClientSpec(kind="probe", params={"repeat": 5}, count=10),), horizon=0.5)
    gc.callbacks.append(seen)
    try:
        observe(CONFIG, plan, recovery=False)
    finally:
        gc.callbacks.remove(seen)
    # Its server's start and shutdown run outside the frozen part; the run is inside it.
    assert frozen, "no collection ran during the observation"
    assert max(frozen) >= len(kept), f"every collection scanned the caller's heap: {frozen}"


def test_the_recovery_probe_waits_for_the_workers_to_be_idle_again(monkeypatch) -> None:
    # One worker, no queue: a worker descheduled between closing its connection and going
    # back to the pool (as on a loaded machine) turns the recovery probe away if the probe
    # comes as soon as nothing is open.
    real = WorkerPool.start

    def slow_to_return(self: WorkerPool, run: Callable[[Connection], None]) -> None:
        def serve_then_stall(conn: Connection) -> None:
            run(conn)  # closed and logged by now: nothing is open
            time.sleep(0.1)  # the point: a worker kept from the CPU before it returns

        real(self, serve_then_stall)

    monkeypatch.setattr(WorkerPool, "start", slow_to_return)
    config = dataclasses.replace(
        CONFIG, dispatch="on-accept", workers=1, max_pending=0, idle_timeout=0.03
    )
    silent = ClientSpec(kind="never_send", params={"hold": 0.075}, count=1)
    observation = observe(config, Plan(clients=(silent,), horizon=0.6))
    violations = check(observation, Bounds.from_config(config))
    assert "recovery" not in {v.invariant for v in violations}, violations
