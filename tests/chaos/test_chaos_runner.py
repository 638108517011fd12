"""The runner: one nursery, bounded by the horizon, reproducible by seed, leak-free."""

from __future__ import annotations

import json
import resource
import time

import pytest
import trio

import chaos
from chaos import ChaosResult, ClientSpec, FdLimitError, Outcome, Plan
from chaos import runner as runner_module
from chaos.engine.fdlimit import RESERVE, ensure_capacity, open_fds
from chaos.testing.bounds import widened
from chaos.verify.lateness import sampling

# trio.run start-up and teardown on a busy two-core machine.
OVERHEAD = 0.3


def read_all(conn) -> None:
    conn.read_all()


# Every hold leaves room to send everything even on a machine four times slower: the bytes are
# compared whole (under half a CPU, Faker's first text came after a 0.1 s hold had ended), and
# the trickles hold this long anyway.
HOLD = 0.5
REPLAYABLE = [
    ClientSpec(kind="garbage", params={"size": 500, "hold": HOLD}, count=3),
    ClientSpec(kind="garbage", params={"size": 500, "mode": "faker", "hold": HOLD}, count=2),
    ClientSpec(
        kind="slow_send", params={"size": 64, "chunk": 16, "interval": 0.01, "hold": HOLD}, count=2
    ),
    ClientSpec(
        kind="slow_body",
        params={"content_length": 40, "chunk": 8, "interval": 0.01, "hold": HOLD},
    ),
    ClientSpec(kind="reset", params={"size": 100, "data": "random", "delay": 0.05}, count=2),
    ClientSpec(kind="oversized", params={"size": 2000, "hold": HOLD}),
    ClientSpec(kind="half_close", params={"hold": HOLD}),
    ClientSpec(kind="slowloris", params={"interval": 0.02, "hold": 0.15}),
]


def wire_bytes(server, result: ChaosResult) -> dict[int, bytes]:
    """What the server received from each client, by plan index."""
    out = {}
    for record in result.records:
        server.find(record.local_port, "closed")
        events = [
            e for e in server.events if e[0] == record.local_port and e[1] in ("eof", "reset")
        ]
        out[record.index] = events[0][3]
    return out


def test_same_plan_and_seed_send_the_same_bytes(serve):
    server = serve(read_all)
    plan = Plan(clients=REPLAYABLE, horizon=1.0, seed=7)
    first = chaos.run(plan, target=server.target)
    second = chaos.run(plan, target=server.target)
    other = chaos.run(Plan(clients=REPLAYABLE, horizon=1.0, seed=8), target=server.target)
    a, b, c = (wire_bytes(server, r) for r in (first, second, other))
    loris = next(r.index for r in first.records if r.kind == "slowloris")
    for index in a:
        if index == loris:
            # A time-bounded trickle sends a prefix of the same seeded stream.
            shorter, longer = sorted((a[index], b[index]), key=len)
            assert longer.startswith(shorter) and len(shorter) > 100
            continue
        assert a[index] == b[index], first.records[index]
        assert first.records[index].sent_digest == second.records[index].sent_digest
        assert len(a[index]) == first.records[index].bytes_sent
    random_kinds = [r.index for r in first.records if r.kind in ("garbage", "reset")]
    assert all(a[i] != c[i] for i in random_kinds)
    assert a[0] != a[1], "clients of one spec draw from different seeds"


def test_result_round_trips_through_json(serve):
    server = serve(read_all)
    result = chaos.run(Plan(clients=REPLAYABLE[:3], horizon=1.0, seed=3), target=server.target)
    text = json.dumps(result.to_json())
    again = ChaosResult.from_json(json.loads(text))
    assert again == result
    assert ChaosResult.from_json(text) == result
    assert again.counts == result.counts and again.closed_after == result.closed_after


def test_horizon_cancels_everything_and_leaks_no_socket(hold_server):
    before = open_fds()
    plan = Plan(
        clients=[ClientSpec(kind="never_send", params={"hold": 10.0}, count=50)], horizon=0.2
    )
    started = time.monotonic()
    with sampling() as lateness:
        result = chaos.run(plan, target=hold_server.target)
    assert time.monotonic() - started < 0.2 + OVERHEAD + lateness.worst
    assert result.counts["held_to_end"] == 50
    # Closing fifty sockets takes a loaded machine longer: the slack widens with its load,
    # and with how late this process woke while it ran.
    prompt = 0.2 + widened(0.05) + lateness.worst
    late = [r.closed - result.started for r in result.records]
    assert all(0.2 <= closed <= prompt for closed in late), (max(late), prompt)
    assert hold_server.wait_idle(50)
    assert open_fds() == before


def test_clients_the_horizon_ends_before_they_start_are_counted(hold_server):
    plan = Plan(clients=[ClientSpec(kind="flood", params={"rate": 10.0}, count=10)], horizon=0.25)
    result = chaos.run(plan, target=hold_server.target)
    # Three are due before the horizon (0, 0.1 and 0.2 s in); on a machine that wakes this
    # process late, the third may not have started by then. Every other one is counted.
    started = len(result.records)
    assert 1 <= started <= 3 and result.not_started == 10 - started, (started, result.not_started)
    assert [r.index for r in result.records] == list(range(started))


def test_probes_summarise_availability(serve):
    def answer(conn) -> None:
        conn.read_request()
        conn.respond(503 if conn.port % 2 else 200)
        conn.read_all()

    server = serve(answer)
    plan = Plan(
        clients=[ClientSpec(kind="probe", params={"repeat": 5, "interval": 0.02}, count=2)],
        horizon=1.0,
    )
    result = chaos.run(plan, target=server.target)
    summary = result.probe
    ok = sum(1 for r in result.records if r.status == 200)
    assert summary.total == 10 and summary.available == ok
    assert summary.availability == ok / 10
    if ok < 10:
        assert summary.first_unavailable == min(
            r.started for r in result.records if r.status == 503
        )
    strict = chaos.run(plan, target=server.target, predicate=lambda r: False)
    assert strict.probe.available == 0


def test_progress_reports_while_running(hold_server, monkeypatch):
    monkeypatch.setattr(runner_module, "PROGRESS_INTERVAL", 0.05)
    seen = []
    plan = Plan(clients=[ClientSpec(kind="never_send", params={"hold": 0.3}, count=5)], horizon=1)
    trio.run(lambda: chaos.run_plan(plan, target=hold_server.target, progress=seen.append))
    assert len(seen) >= 3
    assert all(p.total == 5 for p in seen) and max(p.open for p in seen) == 5


def test_run_without_any_target_is_refused():
    plan = Plan(clients=[ClientSpec(kind="never_send")], horizon=1)
    with pytest.raises(ValueError, match="target"):
        chaos.run(plan)


@pytest.fixture
def low_soft_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (open_fds() + 100, hard))
    yield hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_soft_limit_is_raised_when_a_plan_needs_it(low_soft_limit):
    hard = low_soft_limit
    budget = ensure_capacity(500)
    assert budget.raised and budget.soft >= budget.in_use + 500 + RESERVE
    assert resource.getrlimit(resource.RLIMIT_NOFILE) == (budget.soft, hard)


def test_plan_past_the_hard_limit_is_refused_before_any_connection(hold_server):
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    plan = Plan(clients=[ClientSpec(kind="flood", count=min(hard + 1, 100_000))], horizon=1)
    with pytest.raises(FdLimitError, match="hard limit"):
        chaos.run(plan, target=hold_server.target)
    assert hold_server.accepted == 0


def test_refused_and_timeout_outcomes_have_no_connection(closed_port):
    plan = Plan(clients=[ClientSpec(kind="never_send", count=3)], horizon=1)
    result = chaos.run(plan, target=f"127.0.0.1:{closed_port}")
    assert result.counts["refused"] == 3
    assert all(r.connected is None and r.outcome is Outcome.REFUSED for r in result.records)
