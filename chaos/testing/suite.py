"""The client-side chaos suite: aim it at any server with

    pytest --pyargs chaos.suite --chaos-target HOST:PORT --chaos-idle-timeout 5 ...

Each promise given as an option is checked from the wire; without `--chaos-target` the suite
attacks a fresh toolkit server, which is how the project tests the suite itself.
"""

from __future__ import annotations

import pytest
from hypothesis import given

from chaos.faults import NeverSendParams, ProbeParams, SlowlorisParams, SlowReadParams
from chaos.faults.registry import FAULTS
from chaos.plan import ClientSpec, Plan
from chaos.record import Outcome
from chaos.result import ChaosResult
from chaos.testing.plugin import ChaosSession
from chaos.testing.strategies import LARGE_RESPONSE, chaos_plans

__all__ = [
    "HOGGING",
    "HOSTILE",
    "MARGIN",
    "PROBES",
    "test_non_readers_are_cut_at_the_write_timeout",
    "test_serves_again_after_hostile_input",
    "test_silent_clients_are_cut_at_the_idle_timeout",
    "test_stays_available_while_connections_are_hogged",
    "test_trickled_requests_are_cut_at_the_request_deadline",
]

# Attacks that hold connections open: a server should stay available while they last.
HOGGING = tuple(kind for kind, fault in FAULTS.items() if fault.traits.holds)
# Attacks that send hostile input and leave: a server should serve again once they are done.
HOSTILE = tuple(kind for kind, fault in FAULTS.items() if fault.traits.hostile)
# Extra seconds past a deadline before a held client gives up: room to see the server act.
MARGIN = 0.2


def _held_past(chaos: ChaosSession, setting: float | None, what: str) -> float:
    if setting is None:
        pytest.skip(f"the target promises no {what} (pass --chaos-{what.replace('_', '-')})")
    return setting + 3 * chaos.expect.tolerance + MARGIN


def _assert_clean(chaos: ChaosSession, result: ChaosResult) -> None:
    violations = chaos.violations(result)
    assert not violations, "\n".join(map(str, violations))


def test_silent_clients_are_cut_at_the_idle_timeout(chaos: ChaosSession) -> None:
    hold = _held_past(chaos, chaos.expect.idle_timeout, "idle_timeout")
    result = chaos.run([ClientSpec.of(NeverSendParams(hold=hold), count=3)], horizon=hold + 1)
    _assert_clean(chaos, result)
    assert (
        result.counts.get(Outcome.CLOSED_BY_SERVER.value, 0)
        + result.counts.get(Outcome.RESET_BY_SERVER.value, 0)
        == 3
    )


def test_trickled_requests_are_cut_at_the_request_deadline(chaos: ChaosSession) -> None:
    hold = _held_past(chaos, chaos.expect.request_timeout, "request_timeout")
    # Trickle well inside the idle timeout, so only the request deadline can cut it.
    interval = min((chaos.expect.idle_timeout or 1.0) / 4, 0.5)
    result = chaos.run(
        [ClientSpec.of(SlowlorisParams(interval=interval, hold=hold), count=2)],
        horizon=hold + 1,
    )
    _assert_clean(chaos, result)
    assert not result.counts.get(Outcome.HELD_TO_END.value)


def test_non_readers_are_cut_at_the_write_timeout(chaos: ChaosSession) -> None:
    hold = _held_past(chaos, chaos.expect.write_timeout, "write_timeout")
    params = SlowReadParams(path=LARGE_RESPONSE, never_read=True, rcvbuf=4096, hold=hold)
    result = chaos.run([ClientSpec.of(params)], horizon=hold + 1)
    _assert_clean(chaos, result)
    assert not result.counts.get(Outcome.HELD_TO_END.value)


PROBES = ClientSpec.of(ProbeParams(repeat=3, interval=0.05), start=0.05)


@given(plan=chaos_plans(kinds=HOGGING, max_specs=2, max_hold=0.3))
def test_stays_available_while_connections_are_hogged(chaos: ChaosSession, plan: Plan) -> None:
    with_probes = Plan(clients=(*plan.clients, PROBES), horizon=plan.horizon, seed=plan.seed)
    _assert_clean(chaos, chaos.run(with_probes))


@given(plan=chaos_plans(kinds=HOSTILE, max_specs=3, max_hold=0.2))
def test_serves_again_after_hostile_input(chaos: ChaosSession, plan: Plan) -> None:
    chaos.run(plan)
    after = chaos.probe()
    assert after.detail.get("available"), f"not served after the attack: {after}"
