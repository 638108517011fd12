"""``flood`` classifies every connection, fills a backlog, replaces drops, and scales to 5,000."""

from __future__ import annotations

import itertools
import resource
import time

import pytest
import trio

import chaos
from chaos import ClientSpec, Outcome, Plan
from chaos.engine.fdlimit import open_fds
from chaos.testing.bounds import widened
from chaos.verify.lateness import sampled

CONCURRENT = 5000
# How long each of them is held, and how much longer the run may take to open and close them.
HOLD_ALL, HORIZON_PAST_HOLD = 2.5, 5.5
# threading.Event.wait may wake up to a millisecond early, so lower bounds allow that much.
EARLY = 0.002
# Our own stamping of a start, past the schedule: a task switch or two.
SLACK = 0.005


def run(fn, *args, **kwargs):
    return trio.run(lambda: fn(*args, **kwargs))


def test_flood_against_a_closed_port_is_refused_every_time(closed_port):
    records = run(chaos.flood, f"127.0.0.1:{closed_port}", connections=20)
    assert [r.outcome for r in records] == [Outcome.REFUSED] * 20
    assert all(r.connected is None for r in records)


def test_flood_past_a_full_backlog_times_out_the_rest(serve):
    # A listen backlog of 1 that is never accepted: Linux completes backlog + 1 handshakes
    # and drops later SYNs, whose retransmission (1 s) comes after our 0.3 s timeout.
    server = serve(lambda conn: None, backlog=1, accept=False)
    records = run(
        chaos.flood, server.target, connections=10, rate=100, hold=0.0, connect_timeout=0.3
    )
    outcomes = [r.outcome for r in records]
    opened = outcomes.count(Outcome.COMPLETED)
    assert 1 <= opened <= 3
    assert outcomes.count(Outcome.CONNECT_TIMEOUT) == 10 - opened
    late = [r for r in records if r.outcome is Outcome.CONNECT_TIMEOUT]
    assert all(r.connected is None for r in late)


def test_flood_rate_staggers_connection_starts(hold_server):
    rate, count = 50, 10

    async def flood() -> tuple[list, float, float]:
        async with sampled() as lateness:
            called = time.monotonic()
            records = await chaos.flood(hold_server.target, connections=count, rate=rate)
        return records, called, lateness.worst

    records, called, lag = trio.run(flood)
    # Client i starts i / rate after the flood's start, on an absolute schedule: never before
    # that (the start is after the call), and one started late (a loaded machine, this process
    # woken late) is followed by the next on time, so the first and the last are (count - 1) /
    # rate apart but for how late this process woke. The first one may start late by the
    # flood's own setup too, which no oversleep measures: only the last one's lateness bounds
    # the span from above.
    starts = [r.started for r in sorted(records, key=lambda r: r.index)]
    for i, started in enumerate(starts):
        assert started - called >= i / rate - EARLY, (i, started - called)
    span, planned = starts[-1] - starts[0], (count - 1) / rate
    assert span <= planned + lag + SLACK, (span, lag)
    assert {r.outcome for r in records} == {Outcome.COMPLETED}


def drop_after(delay: float):
    def handler(conn) -> None:
        conn.stop.wait(delay)

    return handler


def test_flood_replaces_connections_the_server_drops(serve):
    drop, hold = 0.05, 1.0
    server = serve(drop_after(drop))
    records = run(chaos.flood, server.target, connections=3, hold=hold, replace=True)
    for slot in range(3):
        mine = [r for r in records if r.index == slot]
        # At least two replacements in a row, with room for a reconnect a slow machine takes
        # five times a drop for; never more than the drops the hold has room for.
        assert 3 <= len(mine) <= hold / drop + 1
        assert [r.detail.get("generation", 0) for r in mine] == list(range(len(mine)))
        assert all(r.outcome is not Outcome.ERROR for r in mine)
        # Held until the server dropped it: measured from the server's accept, since under
        # load our connect stamp comes after the server has started counting.
        for record in mine[:-1]:
            ended = record.server_ended_at
            accepted, _ = server.find(record.local_port, "accepted", by=ended)
            assert ended - accepted >= 0.05 - EARLY, record
    # Every record is a connection of its own. A port may come back on loopback once the
    # server has closed its connection first, but never while that connection was open.
    for port in {r.local_port for r in records}:
        same = sorted((r for r in records if r.local_port == port), key=lambda r: r.connected)
        for before, after in itertools.pairwise(same):
            assert before.ended_at is not None and before.ended_at <= after.connected, same


def test_flood_without_replace_keeps_the_drop(serve):
    server = serve(drop_after(0.05))
    records = run(chaos.flood, server.target, connections=3, hold=0.4)
    assert len(records) == 3
    assert all(r.server_closed_after is not None for r in records)


@pytest.mark.skipif(
    resource.getrlimit(resource.RLIMIT_NOFILE)[1] < 2 * CONCURRENT + 200,
    reason="open-file hard limit too low for both ends of 5,000 connections",
)
def test_one_process_holds_5000_concurrent_connections_without_leaks(hold_server):
    before = open_fds()
    # Held long enough that the last connect (about 0.5 s in here, 2 s on a machine four
    # times slower, longer while its CPUs are oversubscribed) comes before the first close.
    hold = widened(HOLD_ALL)
    plan = Plan(
        clients=[ClientSpec(kind="flood", params={"hold": hold}, count=CONCURRENT)],
        horizon=hold + widened(HORIZON_PAST_HOLD),
    )
    started = time.monotonic()
    result = chaos.run(plan, target=hold_server.target)
    assert time.monotonic() - started < plan.horizon
    assert result.counts["held_to_end"] == CONCURRENT
    assert hold_server.peak == CONCURRENT
    # Every connection was open at once: the last one opened before the first one closed.
    records = result.records
    assert max(r.connected for r in records) < min(r.closed for r in records)
    assert len({r.local_port for r in records}) == CONCURRENT
    # The server closes its end on our FIN; then no descriptor of either end is left.
    assert hold_server.wait_idle(CONCURRENT), f"server still holds {hold_server.open} connections"
    assert open_fds() == before
