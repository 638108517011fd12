"""The checker catches what the naive servers really do, and Hypothesis shrinks the evidence."""

from __future__ import annotations

import dataclasses

from hypothesis import HealthCheck, Phase, find, settings

from chaos.plan import ClientSpec, Plan
from chaos.testing.bounds import Bounds
from chaos.testing.checker import check
from chaos.testing.harness import observe
from chaos.testing.strategies import chaos_plans
from toolkit import ServerConfig

BASE = ServerConfig(
    idle_timeout=0.08,
    request_timeout=0.15,
    write_timeout=0.1,
    queue_timeout=0.1,
    workers=2,
    max_pending=1,
    shutdown_grace=0.02,
)
SILENT = ClientSpec(kind="never_send", params={"hold": 0.3}, count=2)
PROBES = ClientSpec(kind="probe", params={}, count=2, start=0.02)


def violations(
    config: ServerConfig, plan: Plan, expect: Bounds | None = None, recovery: bool = True
) -> set[str]:
    observation = observe(config, plan, recovery=recovery)
    found = check(observation, expect or Bounds.from_config(config))
    return {v.invariant for v in found}


def test_iterative_model_stalls_the_acceptor() -> None:
    # Each silent client holds the only thread for its idle timeout: longer than the lag bound.
    config = dataclasses.replace(BASE, model="iterative", idle_timeout=0.25)
    assert "accept_lag" in violations(config, Plan(clients=(SILENT, PROBES), horizon=0.5))


def test_thread_per_connection_breaks_the_pool_bound() -> None:
    # Six silent clients held past their connects (the server's idle timeout, not BASE's
    # 80 ms, ends them): all are open at once even when a loaded machine connects slowly.
    config = dataclasses.replace(BASE, model="thread-per-connection", idle_timeout=0.5)
    plan = Plan(
        clients=(ClientSpec(kind="never_send", params={"hold": 0.4}, count=6),), horizon=0.6
    )
    assert {"busy_limit", "open_limit"} <= violations(config, plan)


def test_a_server_with_only_an_idle_timeout_lets_slowloris_live() -> None:
    # The server really enforces only its idle timeout; the promise was a 0.15 s request deadline.
    lax = dataclasses.replace(BASE, request_timeout=30.0)
    promised = Bounds.from_config(BASE)
    plan = Plan(
        clients=(ClientSpec(kind="slowloris", params={"interval": 0.02, "hold": 0.5}),), horizon=0.7
    )
    assert violations(lax, plan, promised) == {"request_timeout"}
    assert violations(BASE, plan) == set()  # the real deadline holds it


def test_hypothesis_shrinks_a_failing_plan_to_a_minimal_one() -> None:
    # Tight bounds keep each evaluation short: a 0.1 s stall already breaks a 0.07 s lag bound.
    config = dataclasses.replace(BASE, model="iterative", idle_timeout=0.1)
    expect = Bounds.from_config(config, tolerance=0.02)
    plans = chaos_plans(
        kinds=("never_send", "probe", "slowloris", "garbage"),
        max_specs=4,
        max_start=0.02,
        max_hold=0.15,
    )

    def stalls(plan: Plan) -> bool:
        return "accept_lag" in violations(config, plan, expect, recovery=False)

    minimal = find(
        plans,
        stalls,
        settings=settings(
            max_examples=40,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            # find() prints no explanation, and the explain phase (which arguments could vary
            # freely) costs ten times the search and the shrink together.
            phases=[phase for phase in Phase if phase is not Phase.explain],
        ),
    )
    assert minimal.total_clients <= 2, minimal
    assert stalls(minimal)  # the shrunk plan still shows the violation
