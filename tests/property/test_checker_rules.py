"""Each checker rule on hand-made records: it catches the violation and passes the clean case."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from chaos.record import ClientRecord, Outcome
from chaos.testing.bounds import Bounds
from chaos.testing.checker import Observation, check, check_wire, join
from toolkit import CloseReason, ConnectionRecord, EventLog

EXPECT = Bounds(
    idle_timeout=0.1,
    request_timeout=0.3,
    write_timeout=0.2,
    queue_timeout=0.1,
    workers=2,
    max_pending=1,
    max_open=3,
    accept_lag=0.05,
    tolerance=0.05,
)
T0 = 1000.0


def client(kind: str, port: int, **fields: Any) -> ClientRecord:
    base: dict[str, Any] = {
        "kind": kind,
        "index": port % 100,
        "local_port": port,
        "started": T0,
        "connected": T0,
        "outcome": Outcome.CLOSED_BY_SERVER,
    }
    base.update(fields)
    return ClientRecord(**base)


def server(port: int, reason: str, closed: float, **fields: Any) -> ConnectionRecord:
    base: dict[str, Any] = {
        "id": port,
        "peer_host": "127.0.0.1",
        "peer_port": port,
        "accepted": T0 + 0.001,
        "admitted": T0 + 0.001,
        "dispatched": T0 + 0.002,
        "first_byte": None,
        "closed": closed,
        "reason": CloseReason(reason),
        "bytes_in": 0,
        "bytes_out": 0,
    }
    base.update(fields)
    return ConnectionRecord(**base)


def stats_for(records: list[ConnectionRecord], **overrides: Any):
    log = EventLog()
    base = log.stats()
    reasons: dict[str, int] = {}
    for r in records:
        reasons[str(r.reason)] = reasons.get(str(r.reason), 0) + 1
    values = {
        "accepted": len(records),
        "closed": len(records),
        "reasons": reasons,
        "max_busy": 1,
        "max_open": 1,
        "max_pending": 0,
    }
    values.update(overrides)
    return dataclasses.replace(base, **values)


def judge(clients: list[ClientRecord], records: list[ConnectionRecord], **stats: Any):
    obs = Observation(clients=clients, server=records, stats=stats_for(records, **stats))
    return [v.invariant for v in check(obs, EXPECT)]


def test_a_clean_run_has_no_violations() -> None:
    c = [client("never_send", 1), client("slowloris", 2, first_sent=T0 + 0.001)]
    s = [
        server(1, "idle_timeout", T0 + 0.002 + 0.12),
        server(2, "request_timeout", T0 + 0.32, first_byte=T0 + 0.003),
    ]
    assert judge(c, s) == []


@pytest.mark.parametrize(
    ("kind", "reason", "closed", "first_byte", "invariant"),
    [
        ("never_send", "peer_closed", 0.5, None, "idle_timeout"),  # held past the idle timeout
        ("never_send", "shutdown", 0.5, None, "idle_timeout"),
        ("never_send", "idle_timeout", 0.3, None, "idle_timeout"),  # fired, but late
        ("slowloris", "peer_closed", 0.9, 0.003, "request_timeout"),
        ("slow_body", "idle_timeout", 0.5, 0.003, "request_timeout"),
        ("slow_read", "peer_closed", 0.9, 0.003, "write_timeout"),
        ("never_send", "idle_timeout", 0.05, None, "early_close"),
        ("slowloris", "request_timeout", 0.2, 0.003, "early_close"),
    ],
)
def test_timeout_rules_catch_late_and_early_closes(
    kind: str, reason: str, closed: float, first_byte: float | None, invariant: str
) -> None:
    fb = None if first_byte is None else T0 + first_byte
    c = [client(kind, 1, first_sent=fb)]
    s = [server(1, reason, T0 + closed, first_byte=fb)]
    assert judge(c, s) == [invariant]


@pytest.mark.parametrize("reason", ["completed", "rejected_overload", "bad_request"])
def test_an_explained_close_is_no_timeout_violation(reason: str) -> None:
    c = [client("slowloris", 1, first_sent=T0 + 0.001)]
    s = [server(1, reason, T0 + 0.002, first_byte=T0 + 0.001)]
    assert judge(c, s) == []


def test_accept_lag_and_slow_rejection_are_caught() -> None:
    c = [client("probe", 1), client("probe", 2)]
    s = [
        server(1, "completed", T0 + 0.5, accepted=T0 + 0.4, admitted=T0 + 0.4),
        server(2, "rejected_overload", T0 + 0.3, accepted=T0 + 0.001, admitted=None),
    ]
    assert sorted(judge(c, s)) == ["accept_lag", "reject_lag"]


def test_limits_from_high_water_marks_and_from_replayed_records() -> None:
    assert sorted(judge([], [], max_busy=3, max_pending=2)) == ["busy_limit", "pending_limit"]
    overlapping = [server(p, "completed", T0 + 1.0) for p in range(1, 5)]  # 4 open at once
    assert judge([], overlapping) == ["open_limit"]
    staggered = [
        server(p, "completed", T0 + p, accepted=T0 + p - 1, admitted=T0 + p - 1)
        for p in range(1, 5)
    ]
    assert judge([], staggered) == []


def test_lost_unclosed_and_miscounted_connections_are_caught() -> None:
    c = [client("probe", 7)]
    assert judge(c, []) == ["lost"]
    open_record = server(1, "completed", T0 + 1)
    open_record = dataclasses.replace(open_record, closed=None, reason=None)
    assert judge([], [open_record], closed=0, reasons={}) == ["unclosed", "counts"]
    assert judge([], [], duplicate_closes=1) == ["duplicate_close"]
    assert judge([], [], handler_errors=2) == ["handler_error"]


def test_recovery_and_leaks_are_caught() -> None:
    failed = client("probe", 9, status=503, outcome=Outcome.COMPLETED, detail={"available": False})
    obs = Observation(
        clients=[],
        server=[],
        stats=stats_for([]),
        recovery=failed,
        leaked_threads=("toolkit-worker-0",),
        leaked_fds=2,
    )
    assert [v.invariant for v in check(obs, EXPECT)] == ["recovery", "leak", "leak"]


def test_join_pairs_reused_ports_by_time() -> None:
    first = client("probe", 5, connected=T0)
    second = client("probe", 5, started=T0 + 5, connected=T0 + 5)
    early = server(5, "completed", T0 + 1, accepted=T0 + 0.001)
    late = server(5, "completed", T0 + 6, accepted=T0 + 5.001)
    pairs, unclaimed = join([second, first], [late, early])
    assert {(c.connected, s.accepted) for c, s in pairs if s} == {
        (T0, T0 + 0.001),
        (T0 + 5, T0 + 5.001),
    }
    assert unclaimed == []


def test_wire_checker_judges_close_times_and_availability() -> None:
    quiet = client("never_send", 1, server_eof=T0 + 0.12)
    kept = client("never_send", 2, outcome=Outcome.HELD_TO_END, closed=T0 + 2.0)
    early = client("never_send", 3, server_eof=T0 + 0.02)
    trickle = client("slowloris", 4, first_sent=T0, server_eof=T0 + 0.9)
    busy = client("probe", 5, status=503, outcome=Outcome.COMPLETED, detail={"available": False})
    ok = client("probe", 6, status=200, outcome=Outcome.COMPLETED, detail={"available": True})
    violations = check_wire([quiet, kept, early, trickle, busy, ok], EXPECT)
    assert [(v.invariant, v.connection) for v in violations] == [
        ("idle_timeout", "never_send#2 port 2"),
        ("early_close", "never_send#3 port 3"),
        ("request_timeout", "slowloris#4 port 4"),
        ("availability", "probe#5 port 5"),
    ]


def test_the_wire_checker_counts_an_early_close_from_before_the_connect() -> None:
    # Our connect stamp came 30 ms after we began connecting (a loaded machine): the server's
    # idle clock may have started at the beginning, so a close 0.08 s after the stamp is on
    # time for 0.1 s; one 0.08 s after the beginning is still early.
    stamped_late = client("never_send", 1, connected=T0 + 0.03, server_eof=T0 + 0.11)
    early = client("never_send", 2, connected=T0 + 0.03, server_eof=T0 + 0.08)
    # The same for a deadline counted from the first byte (0.3 s here), stamped 0.2 s late.
    sent_late = client("slowloris", 3, first_sent=T0 + 0.2, server_eof=T0 + 0.31)
    sent_early = client("slowloris", 4, first_sent=T0 + 0.2, server_eof=T0 + 0.25)
    violations = check_wire([stamped_late, early, sent_late, sent_early], EXPECT)
    assert [(v.invariant, v.connection) for v in violations] == [
        ("early_close", "never_send#2 port 2"),
        ("early_close", "slowloris#4 port 4"),
    ]


def test_expectations_validate_and_follow_the_config() -> None:
    from toolkit import ServerConfig

    with pytest.raises(ValueError, match="tolerance"):
        Bounds(tolerance=0)
    with pytest.raises(ValueError, match="workers"):
        Bounds(workers=-1)
    on_accept = Bounds.from_config(ServerConfig(workers=3, max_pending=2, dispatch="on-accept"))
    assert on_accept.max_open == 5
    parked = Bounds.from_config(ServerConfig(dispatch="readiness", max_connections=50))
    assert parked.max_open == 50
    capped = ServerConfig(dispatch="on-accept", workers=3, max_pending=2, max_connections=4)
    assert Bounds.from_config(capped).max_open == 4  # the on-accept pool rejects at 4 too
