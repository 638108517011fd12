"""What the in-process harness leaves of the caller's process while it observes a run."""

from __future__ import annotations

import gc

from chaos.plan import ClientSpec, Plan
from chaos.testing.harness import observe
from toolkit import ServerConfig

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
    assert frozen, "no collection ran during the observation"
    assert min(frozen) >= len(kept), f"collections scanned the caller's heap: {min(frozen)}"
