"""The judges are pure functions over records: tested here without a socket, each shown to
pass what holds and to fail what does not."""

from __future__ import annotations

import dataclasses

import pytest

import chaos.verify as verify_api
from chaos.engine.kernel import parse_listen_overflows
from chaos.record import ClientRecord, Outcome
from chaos.target import Target
from chaos.verify import Expectations, ProbeState, Verdict, VerifySettings, parse_expectations
from chaos.verify.checks.half_close import judge as judge_half_close
from chaos.verify.checks.idle_timeout import judge as judge_idle
from chaos.verify.checks.max_connections import Step, levels
from chaos.verify.checks.max_connections import judge as judge_limit
from chaos.verify.checks.timing import judge_seconds
from chaos.verify.observe import ProbeView, rejected_at_once, view_probe
from chaos.verify.output.text import format_table, summary_line
from chaos.verify.output.timeline import build_timeline
from chaos.verify.stages import stage_named
from chaos.verify.verdict import CheckResult
from toolkit import ServerConfig

TARGET = Target(host="127.0.0.1", port=9)
T0 = 100.0


def record(kind="never_send", **fields) -> ClientRecord:
    base = dict(kind=kind, index=0, local_port=40000, started=T0, outcome=Outcome.HELD_TO_END)
    return ClientRecord(**{**base, **fields})


def settings(**expect) -> VerifySettings:
    return VerifySettings(target=TARGET, expectations=Expectations(**expect), tolerance=0.1)


def test_every_public_name_exists():
    for name in verify_api.__all__:
        assert hasattr(verify_api, name), name


def test_expectations_parse_and_come_from_a_toolkit_config():
    parsed = parse_expectations(["idle-timeout=5", "max-connections=none", "half-close=close"])
    assert parsed.given() == {"idle-timeout": 5.0, "max-connections": "none", "half-close": "close"}
    on_accept = ServerConfig(dispatch="on-accept", workers=3, max_pending=4)
    assert Expectations.from_config(on_accept).max_connections == 7
    readiness = ServerConfig(dispatch="readiness", max_connections=50)
    assert Expectations.from_config(readiness).max_connections == 50
    default = ServerConfig()  # the pool's own default dispatch decides the limit
    expected = 10_000 if default.dispatch_mode == "readiness" else 72
    assert Expectations.from_config(default).max_connections == expected
    threads = ServerConfig(model="thread-per-connection")
    assert Expectations.from_config(threads).max_connections is None
    merged = Expectations.from_config(on_accept).merged(parse_expectations(["idle-timeout=1"]))
    assert merged.idle_timeout == 1.0 and merged.max_connections == 7


def test_seconds_within_tolerance_pass_and_outside_fail():
    expect = Expectations(idle_timeout=5.0)
    ok = judge_seconds("idle-timeout", expect, [5.04, 4.97], cap=8, tolerance=0.1)
    assert ok.verdict is Verdict.PASS and ok.value == pytest.approx(5.005)
    late = judge_seconds("idle-timeout", expect, [5.04, 5.2], cap=8, tolerance=0.1)
    assert late.verdict is Verdict.FAIL and "measured 5.20 s" in late.reason


def test_no_close_is_none_within_cap_never_a_number():
    for expect, verdict in ((None, Verdict.INFO), ("none", Verdict.PASS), (2.0, Verdict.FAIL)):
        result = judge_seconds(
            "idle-timeout", Expectations(idle_timeout=expect), [None, None], cap=3, tolerance=0.1
        )
        assert result.measured == "none within 3 s"
        assert result.value is None
        assert result.verdict is verdict
    closed = judge_seconds(
        "idle-timeout", Expectations(idle_timeout="none"), [1.0], cap=3, tolerance=0.1
    )
    assert closed.verdict is Verdict.FAIL


def test_idle_judge_measures_from_connect_to_the_servers_close():
    closed = record(connected=T0 + 0.001, server_eof=T0 + 2.001, outcome=Outcome.CLOSED_BY_SERVER)
    held = record(connected=T0 + 0.001)
    assert judge_idle([closed], settings(idle_timeout=2.0)).verdict is Verdict.PASS
    mixed = judge_idle([closed, held], settings(idle_timeout=2.0))
    assert mixed.verdict is Verdict.FAIL and mixed.measured.startswith("inconsistent")


def test_probe_states():
    def probe(**fields):
        return view_probe(record(kind="probe", **fields), protocol="http", limit=1.0)

    done = dict(connected=T0, outcome=Outcome.COMPLETED)
    assert probe(**done, status=200, detail={"latency": 0.01}).state is ProbeState.OK
    assert probe(**done, status=200, detail={"latency": 1.5}).state is ProbeState.QUEUED
    assert probe(**done, status=503, detail={"latency": 0.01}).state is ProbeState.REJECTED
    assert probe(outcome=Outcome.REFUSED).state is ProbeState.REJECTED
    assert probe(connected=T0).state is ProbeState.STALLED
    assert probe(outcome=Outcome.CONNECT_TIMEOUT).state is ProbeState.STALLED


def test_a_busy_reply_is_a_rejection_not_a_timeout():
    busy = record(
        connected=T0, server_eof=T0 + 0.002, bytes_received=90, outcome=Outcome.CLOSED_BY_SERVER
    )
    timed_out = record(connected=T0, server_eof=T0 + 2.0, outcome=Outcome.CLOSED_BY_SERVER)
    assert rejected_at_once(busy, protocol="http", window=0.25)
    assert not rejected_at_once(timed_out, protocol="http", window=0.25)
    answered = record(kind="half_close", connected=T0, server_eof=T0 + 0.002, status=200)
    assert not rejected_at_once(answered, protocol="http", window=0.25)


def test_limit_is_the_held_count_where_rejections_begin():
    ok = ProbeView(state=ProbeState.OK, latency=0.001, status=200, started=T0)
    busy = ProbeView(state=ProbeState.REJECTED, latency=0.001, status=503, started=T0)
    steps = [
        Step(level=4, held=4, rejected=0, unaccepted=0, dropped=0, probe=ok),
        Step(level=8, held=6, rejected=2, unaccepted=0, dropped=0, probe=busy),
    ]
    right = judge_limit(steps, settings(max_connections=6))
    assert right.verdict is Verdict.PASS and right.value == 6
    assert "probes rejected (503 after 1.0 ms) from 8 held" in right.measured
    wrong = judge_limit(steps, settings(max_connections=7))
    assert wrong.verdict is Verdict.FAIL and "expected 7" in wrong.reason
    unlimited = judge_limit(steps[:1], settings(max_connections=6), cut="the time slice ended")
    assert unlimited.verdict is Verdict.FAIL and unlimited.value is None
    assert levels(10001, 256) == [1, 2, 4, 8, 16, 32, 64, 128, 256, 10001]
    assert levels(100, 256) == [1, 2, 4, 8, 16, 32, 64, 100]


def test_half_close_answers():
    answered = record(
        kind="half_close",
        connected=T0,
        status=200,
        outcome=Outcome.CLOSED_BY_SERVER,
        server_eof=T0 + 0.01,
        detail={"got_response": True},
    )
    silent = record(
        kind="half_close", connected=T0, outcome=Outcome.CLOSED_BY_SERVER, server_eof=T0 + 0.01
    )
    assert judge_half_close([answered], settings(half_close="respond")).verdict is Verdict.PASS
    closing = judge_half_close([silent], settings(half_close="respond"))
    assert closing.verdict is Verdict.FAIL and closing.value == "close"


def test_timeline_counts_states_from_the_records():
    records = [
        record(connected=T0 + 0.1, server_eof=T0 + 0.5, outcome=Outcome.CLOSED_BY_SERVER),
        record(connected=T0 + 0.1, reset=T0 + 0.3, outcome=Outcome.RESET_BY_SERVER),
        record(outcome=Outcome.REFUSED),
        record(connected=T0 + 0.2, closed=T0 + 0.9),
    ]
    timeline = build_timeline(records, [], started=T0, ended=T0 + 1.0)
    assert timeline.totals == {"connections": 4, "closed_by_server": 1, "reset": 1, "refused": 1}
    at = {round(t, 2): i for i, t in enumerate(timeline.times)}
    assert timeline.series["open"][at[0.25]] == 3
    assert timeline.series["open"][at[0.6]] == 1
    assert timeline.series["connecting"][at[0.15]] == 1
    assert timeline.series["closed_by_server"][-1] == 1


def test_listen_overflows_parse():
    text = "TcpExt: SyncookiesSent ListenOverflows ListenDrops\nTcpExt: 1 42 43\nIpExt: a\n"
    assert parse_listen_overflows(text) == 42
    assert parse_listen_overflows("IpExt: x\nIpExt: 1\n") is None


def test_a_budget_too_small_for_the_checks_is_refused():
    with pytest.raises(ValueError, match="budget: 5 s is less than"):
        VerifySettings(target=TARGET, budget=5)
    plan = VerifySettings(target=TARGET).schedule()
    assert plan.total <= 60 and plan.needed <= plan.total


def test_table_and_summary_name_the_failures():
    rows = [
        CheckResult(
            check="idle-timeout",
            expected="5 s",
            measured="7.00 s",
            verdict=Verdict.FAIL,
            reason="expected 5 s ± 0.25 s, measured 7.00 s",
        ),
        CheckResult(check="hogging", expected=None, measured="probes 4/4 ok", verdict=Verdict.INFO),
    ]
    table = format_table(rows)
    assert table.splitlines()[0].split() == ["check", "expected", "measured", "verdict"]
    assert "idle-timeout: expected 5 s" in table
    assert summary_line(rows, 1.0).startswith("FAILED: 1 of 1 expectations (idle-timeout)")


def test_the_stage_table_is_the_run_order_and_an_unknown_stage_is_an_error():
    schedule = VerifySettings(target=TARGET).schedule()
    assert list(schedule.slices) == [stage.name for stage in verify_api.STAGES]
    assert schedule.keep["max-connections"] < schedule.slices["max-connections"]
    with pytest.raises(ValueError, match="unknown stage 'nope'"):
        stage_named("nope")


def test_the_export_holds_every_setting_the_command_takes():
    run = verify_api.VerifyRun(
        settings=VerifySettings(target=TARGET, raw_payload="PING\r\n"),
        results=(),
        stages=(),
        spans=(),
        started=T0,
        ended=T0 + 1,
        wall_started=0.0,
        source="hand-made",
    )
    exported = verify_api.run_to_json(run)["settings"]
    declared = {f.name for f in dataclasses.fields(VerifySettings)} - {"target", "expectations"}
    assert set(exported) == declared
    assert exported["raw_payload"] == "PING\r\n"
