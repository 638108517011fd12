"""The judges are pure functions over records: tested here without a socket, each shown to
pass what holds and to fail what does not."""

from __future__ import annotations

import dataclasses
import functools
from xml.etree import ElementTree

import pytest

import chaos.verify as verify_api
from chaos.engine.kernel import parse_listen_overflows
from chaos.protocols import HTTP, RAW, SMTP
from chaos.record import ClientRecord, Outcome
from chaos.target import Target
from chaos.verify import Expectations, ProbeState, Verdict, VerifySettings, parse_expectations
from chaos.verify.checks import half_close
from chaos.verify.checks.half_close import judge as judge_half_close
from chaos.verify.checks.idle_timeout import judge as judge_idle
from chaos.verify.checks.keepalive_timeout import judge as judge_keepalive
from chaos.verify.checks.request_timeout import judge as judge_request
from chaos.verify.checks.timing import excuse_lag, judge_seconds
from chaos.verify.checks.write_timeout import judge as judge_write
from chaos.verify.observe import turned_away, view_probe
from chaos.verify.output.junit import render_junit
from chaos.verify.output.text import format_table, summary_line
from chaos.verify.output.timeline import build_timeline
from chaos.verify.stages import stage_named
from chaos.verify.verdict import CheckResult, exit_code, undecided
from toolkit import ServerConfig

TARGET = Target(host="127.0.0.1", port=9)
T0 = 100.0


def record(kind="never_send", **fields) -> ClientRecord:
    base = dict(kind=kind, index=0, local_port=40000, started=T0, outcome=Outcome.HELD_TO_END)
    return ClientRecord(**{**base, **fields})


def hand_made(results, settings: VerifySettings | None = None, **extra) -> verify_api.VerifyRun:
    """A run with these results and nothing behind them."""
    return verify_api.VerifyRun(
        settings=settings or VerifySettings(target=TARGET),
        results=tuple(results),
        stages=(),
        spans=(),
        started=T0,
        ended=T0 + 1,
        wall_started=0.0,
        source="hand-made",
        **extra,
    )


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


def test_a_close_late_by_no_more_than_the_machines_own_lag_is_undecided_not_failed():
    # A write timeout of 1 s seen at 1.43 s on a machine whose baseline probe took 214 ms.
    expect = Expectations(write_timeout=1.0)
    late = judge_seconds("write-timeout", expect, [1.43], cap=4, tolerance=0.25)
    assert late.verdict is Verdict.FAIL
    excused = excuse_lag(late, expect, lag=0.214)
    assert excused.verdict is Verdict.INCONCLUSIVE and excused.measured == late.measured
    assert "this machine lagged 214 ms" in excused.reason
    # Later than the lag explains, early, or on a quick machine: still the server's.
    assert excuse_lag(late, expect, lag=0.1).verdict is Verdict.FAIL
    early = judge_seconds("write-timeout", expect, [0.5], cap=4, tolerance=0.25)
    assert excuse_lag(early, expect, lag=1.0).verdict is Verdict.FAIL
    never = judge_seconds("write-timeout", expect, [None], cap=4, tolerance=0.25)
    assert excuse_lag(never, expect, lag=1.0).verdict is Verdict.FAIL
    ok = judge_seconds("write-timeout", expect, [1.1], cap=4, tolerance=0.25)
    assert excuse_lag(ok, expect, lag=1.0) is ok


def stalled_reader(closed: float, *, whole: bool) -> ClientRecord:
    """A client that never read, whose server's socket closed ``closed`` s after the answer
    began (its FIN came after what was left, read then); ``whole``: the answer was all there."""
    return record(
        "slow_read",
        connected=T0,
        first_sent=T0,
        last_sent=T0,
        first_byte=T0 + 0.01,
        server_closed=T0 + 0.01 + closed,
        server_eof=T0 + closed + 0.3,
        outcome=Outcome.CLOSED_BY_SERVER,
        detail={"got_response": whole, "never_read": True},
    )


def test_a_plain_close_on_a_stalled_answer_is_timed_when_its_socket_closed_not_at_its_fin():
    expect = settings(write_timeout=2.0)
    cut = judge_write([stalled_reader(2.0, whole=False)], expect)
    assert cut.verdict is Verdict.PASS and cut.value == pytest.approx(2.0), cut.measured
    assert "its answer unsent" in cut.measured
    # All of it written before the close: nothing was cut, so nothing to time.
    whole = judge_write([stalled_reader(2.0, whole=True)], expect)
    assert whole.verdict is Verdict.INCONCLUSIVE and whole.value is None
    assert "wrote its whole answer" in whole.reason


def test_a_silent_client_the_server_never_accepted_or_accepted_late_says_so():
    held = record(connected=T0, outcome=Outcome.HELD_TO_END, detail={"unaccepted": True})
    result = judge_idle([held], settings(idle_timeout=1.0))
    assert result.verdict is Verdict.FAIL and result.value is None
    assert result.measured.startswith("none within") and "never accepted" in result.measured
    cut = record(connected=T0, server_eof=T0 + 1.0, outcome=Outcome.CLOSED_BY_SERVER)
    assert judge_idle([cut], settings(idle_timeout=1.0)).measured == "1.00 s"
    # nginx's "listen ... deferred": its kernel held the silent client a second, then nginx
    # timed it out a second later.
    late = dataclasses.replace(cut, server_eof=T0 + 2.03, detail={"accepted": T0 + 1.01})
    result = judge_idle([late], settings(idle_timeout=1.0))
    assert result.verdict is Verdict.FAIL
    assert result.measured == "2.03 s (the server accepted it 1.01 s after the handshake)"
    prompt = dataclasses.replace(cut, detail={"accepted": T0 + 0.01})
    assert judge_idle([prompt], settings(idle_timeout=1.0)).measured == "1.00 s"


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
        return view_probe(record(kind="probe", **fields), limit=1.0)

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
    assert turned_away(busy, HTTP, window=0.25)
    assert not turned_away(timed_out, HTTP, window=0.25)
    answered = record(kind="half_close", connected=T0, server_eof=T0 + 0.002, status=200)
    assert not turned_away(answered, HTTP, window=0.25)


def test_a_rejection_is_recognised_by_what_it_is_however_late_it_comes():
    late = record(
        connected=T0,
        server_eof=T0 + 3.0,  # an accept queue that lagged three seconds
        bytes_received=90,
        reply_head="HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
        outcome=Outcome.CLOSED_BY_SERVER,
    )
    assert turned_away(late, HTTP, window=0.25)
    assert not turned_away(late, RAW, window=0.25)  # raw knows no rejection reply


BANNER = "220 mail.example ESMTP ready\r\n"


def test_a_trickled_request_cut_with_a_rejection_status_is_timed_and_one_answered_is_not():
    # gunicorn's sync worker killed by its timeout writes a 500: the deadline's answer, as a
    # 408 is. A 400 answers the request instead: there is no deadline to time.
    def cut(status: int, reason: str, after: float) -> ClientRecord:
        head = f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        return record(
            kind="slowloris",
            connected=T0,
            first_sent=T0,
            status=status,
            reply_head=head,
            server_eof=T0 + after,
            outcome=Outcome.CLOSED_BY_SERVER,
        )

    timed = judge_request([cut(500, "Internal Server Error", 1.05)], settings(request_timeout=1))
    assert timed.verdict is Verdict.PASS and timed.measured == "1.05 s (500)", timed.measured
    answered = judge_request([cut(400, "Bad Request", 0.05)], settings(request_timeout=1))
    assert answered.verdict is Verdict.INCONCLUSIVE
    assert "answered 400 and closed" in answered.measured


def kept_alive(head: str, *, closed_after: float) -> ClientRecord:
    """The keep-alive check's client: its request answered with ``head`` 1 ms in, then the
    server's close ``closed_after`` seconds after that answer."""
    return record(
        kind="holder",
        connected=T0,
        first_sent=T0,
        reply_head=head,
        server_eof=T0 + 0.001 + closed_after,
        outcome=Outcome.CLOSED_BY_SERVER,
        detail={"last_reply": T0 + 0.001, "last_reply_head": head},
    )


def test_a_goodbye_written_as_the_keep_alive_timeout_fires_is_not_where_it_counts_from():
    # vsftpd: NOOP answered at once, then "421 Timeout." as idle_session_timeout (3 s) fires,
    # and the close. Timed from the last reply, that was 0.00 s.
    ftp = dataclasses.replace(
        settings(keepalive_timeout=3),
        protocol="custom",
        speaks_first=True,
        match="220",
        reject="421",
        send="NOOP\r\n",
    )
    head = "220 (vsFTPd 3.0.3)\r\n"
    answered = record(
        kind="holder",
        connected=T0,
        first_sent=T0,
        reply_head=head,
        server_eof=T0 + 3.002,
        outcome=Outcome.CLOSED_BY_SERVER,
        detail={"last_answer": T0 + 0.001, "last_reply": T0 + 3.001, "last_reply_head": "421"},
    )
    timed = judge_keepalive([answered], ftp)
    assert timed.verdict is Verdict.PASS and timed.value == pytest.approx(3.001), timed


def test_a_server_that_says_it_closes_after_each_answer_keeps_nothing_alive():
    # gunicorn's sync worker: the keep-alive request answered, saying so, and the connection
    # closed at once. That is no keep-alive timeout of 0 s.
    closing = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
    said_so = kept_alive(closing, closed_after=0.001)
    measured = judge_keepalive([said_so], settings())
    assert measured.verdict is Verdict.INFO and measured.value is None
    assert measured.measured.startswith("none kept")
    promised = judge_keepalive([said_so], settings(keepalive_timeout=5))
    assert promised.verdict is Verdict.FAIL and "none kept" in promised.reason
    # Closed as soon without saying so, it is timed as it is.
    kept = closing.replace("close", "keep-alive")
    silent = dataclasses.replace(
        said_so, reply_head=kept, detail={**said_so.detail, "last_reply_head": kept}
    )
    assert judge_keepalive([silent], settings()).value == pytest.approx(0.001)
    # HTTP/1.0 closes unless it says keep-alive (http.server as it ships).
    old = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"
    for head, none_kept in (
        (old, True),
        (old.replace("\r\n", "\r\nConnection: keep-alive\r\n", 1), False),
    ):
        one_oh = dataclasses.replace(
            said_so, reply_head=head, detail={**said_so.detail, "last_reply_head": head}
        )
        assert (judge_keepalive([one_oh], settings()).value is None) is none_kept, head


def test_the_keep_alive_timeout_a_server_says_follows_the_one_measured():
    # Node 20 answers "Keep-Alive: timeout=2" and closes the idle connection 3 s later.
    says = "HTTP/1.1 200 OK\r\nKeep-Alive: timeout=2, max=100\r\nContent-Length: 2\r\n\r\nok"
    node = kept_alive(says, closed_after=3.0)
    late = judge_keepalive([node], settings(keepalive_timeout=2))
    assert late.verdict is Verdict.FAIL and late.value == pytest.approx(3.0)
    assert late.measured == "3.00 s (the answer said Keep-Alive: timeout=2)"
    silent = says.replace("Keep-Alive: timeout=2, max=100\r\n", "")
    plain = dataclasses.replace(node, reply_head=silent)
    assert judge_keepalive([plain], settings()).measured == "3.00 s"
    for header, seconds in (("timeout=5", 5.0), ("max=9, Timeout=0.5", 0.5), ("timeout=x", None)):
        head = says.replace("timeout=2, max=100", header).encode()
        assert HTTP.advertised_idle(head) == seconds, header


def test_a_speaker_first_servers_greeting_answers_nothing():
    # A trickled SMTP command cut at 2 s: the banner every client gets is no answer to it.
    trickled = functools.partial(
        record, kind="slow_send", connected=T0, first_sent=T0, outcome=Outcome.CLOSED_BY_SERVER
    )
    smtp = dataclasses.replace(settings(request_timeout=2.0), protocol="smtp")
    greeted = trickled(server_eof=T0 + 2.0, bytes_received=len(BANNER), reply_head=BANNER)
    assert judge_request([greeted], smtp).verdict is Verdict.PASS
    # A 421 after the banner is the deadline announced, as HTTP's 408.
    closing = BANNER + "421 4.4.2 timeout, closing\r\n"
    announced = trickled(server_eof=T0 + 2.0, bytes_received=len(closing), reply_head=closing)
    assert judge_request([announced], smtp).verdict is Verdict.PASS
    # Anything else after it answers the trickle: nothing to time.
    error = BANNER + "500 5.5.2 line too long\r\n"
    answered = trickled(server_eof=T0 + 0.1, bytes_received=len(error), reply_head=error)
    result = judge_request([answered], smtp)
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "answered 25 bytes and closed" in result.measured, result.measured
    # A silent holder that got only the banner before an idle close was not turned away.
    banner_only = record(
        connected=T0,
        server_eof=T0 + 0.1,
        bytes_received=len(BANNER),
        reply_head=BANNER,
        outcome=Outcome.CLOSED_BY_SERVER,
    )
    assert not turned_away(banner_only, SMTP, window=0.25)
    assert turned_away(banner_only, RAW, window=0.25)  # bytes nobody asked for, then gone
    assert SMTP.greeting(BANNER.encode()) == len(BANNER) and HTTP.greeting(b"HTTP/1.1") == 0


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


def test_a_server_that_speaks_first_gets_no_half_close_client_only_the_reason():
    # Its greeting would come whatever the client sent: no answer can be told from it, and a
    # client half-closing before the greeting was only ever seen as one turned away.
    for protocol in ("smtp", "ssh", "mysql"):
        speaker = dataclasses.replace(settings(half_close="respond"), protocol=protocol)
        assert half_close.roles(speaker) == [], protocol
        why = judge_half_close([], speaker)
        assert why.verdict is Verdict.INCONCLUSIVE and "speak first" in why.reason, why
    assert len(half_close.roles(settings(half_close="respond"))) == 1


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
    with pytest.raises(ValueError, match="send: a custom protocol needs"):
        VerifySettings(target=TARGET, protocol="custom")
    with pytest.raises(ValueError, match="match: only the custom protocol"):
        VerifySettings(target=TARGET, protocol="redis", match="x")
    plan = VerifySettings(target=TARGET).schedule()
    assert plan.total <= 60 and plan.needed <= plan.total


def test_three_verdicts_three_exit_codes_and_junit_shows_each():
    rows = {
        "pass": CheckResult(
            check="idle-timeout", expected="5 s", measured="5.00 s", verdict=Verdict.PASS
        ),
        "info": CheckResult(
            check="hogging", expected=None, measured="probes 4/4 ok", verdict=Verdict.INFO
        ),
        "open": undecided(
            "max-connections", Expectations(max_connections=9), "the machine is too slow"
        ),
        "fail": CheckResult(
            check="half-close",
            expected="close",
            measured="respond",
            verdict=Verdict.FAIL,
            reason="expected close",
        ),
    }
    assert rows["open"].verdict is Verdict.INCONCLUSIVE and "too slow" in rows["open"].reason
    assert exit_code([rows["pass"], rows["info"]]) == 0
    assert exit_code([rows["pass"], rows["open"]]) == 3
    assert exit_code([rows["open"], rows["fail"]]) == 1
    assert summary_line([rows["pass"], rows["open"]], 1.0).startswith(
        "INCONCLUSIVE: 1 of 2 expectations could not be decided here (max-connections); "
        "the other 1 hold"
    )
    assert "FAILED: 1 of 3 expectations (half-close); 1 inconclusive" in summary_line(
        [rows["pass"], rows["open"], rows["fail"]], 1.0
    )
    assert "max-connections: expected 9, but the machine is too slow" in format_table(
        list(rows.values())
    )
    run = hand_made(rows.values())
    data = verify_api.run_to_json(run)
    page = verify_api.render_html(data)
    assert 'class="summary failed"' in page and 'class="verdict inconclusive"' in page
    suite = ElementTree.fromstring(render_junit(data))
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("4", "1", "1")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert cases["half-close"].find("failure").get("message") == "expected close"
    assert "inconclusive: expected 9" in cases["max-connections"].find("skipped").get("message")
    assert (
        cases["idle-timeout"].find("failure") is None
        and cases["idle-timeout"].find("skipped") is None
    )


def test_a_run_is_judged_again_against_other_promises_from_its_evidence():
    closed = record(connected=T0 + 0.001, server_eof=T0 + 2.001, outcome=Outcome.CLOSED_BY_SERVER)
    first = settings(idle_timeout=2.0)
    run = hand_made(
        [judge_idle([closed], first)],
        first,
        judges={"idle-timeout": functools.partial(judge_idle, [closed])},
    )
    assert run.exit_code == 0
    again = run.judged(Expectations(idle_timeout=3.0))
    assert again.exit_code == 1 and "measured 2.00 s" in again.results[0].reason
    assert again.results[0].value == run.results[0].value  # the same evidence


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
    run = hand_made((), VerifySettings(target=TARGET, protocol="custom", send="PING\r\n"))
    exported = verify_api.run_to_json(run)["settings"]
    declared = {f.name for f in dataclasses.fields(VerifySettings)} - {"target", "expectations"}
    assert set(exported) == declared
    assert exported["send"] == "PING\r\n"


def test_the_table_wraps_a_long_measured_cell_and_says_why_not_measured_once():
    flood = (
        "2000: 2000 established (0 closed by server), 0 refused, 0 timed out; probe after: "
        "ok (0.9 ms); ListenOverflows +0"
    )
    why = (
        "opened 33,703 connections/s, the server accepted 2,168 connections/s: holding 10,001 "
        "takes 4.61 s, past what the 5.00 s idle timeout allows"
    )
    rows = [
        CheckResult(check="flood", expected="survives", measured=flood, verdict=Verdict.PASS),
        CheckResult(
            check="max-connections",
            expected="10000",
            measured=f"not measured: {why}",
            verdict=Verdict.INCONCLUSIVE,
            reason=f"expected 10000, but {why}",
        ),
        CheckResult(check="idle-timeout", expected="5 s", measured="5.00 s", verdict=Verdict.PASS),
    ]
    lines = format_table(rows).splitlines()
    column = lines[0].index("verdict")
    table, reasons = lines[:-1], lines[-1:]
    starts = [line for line in table if not line.startswith("   ")]  # not a wrapped cell's
    verdicts = {line.split()[0]: line[column:] for line in starts}
    assert verdicts == {
        "check": "verdict",
        "flood": "pass",
        "max-connections": "inconclusive",
        "idle-timeout": "pass",
    }
    assert max(len(line) for line in table) <= column + len("inconclusive")
    cell = slice(lines[0].index("measured"), column)
    assert " ".join(line[cell].strip() for line in lines[1:3]) == flood
    assert "not measured (why: below)" in lines[3]
    assert reasons == [f"  max-connections: expected 10000, but {why}"]
