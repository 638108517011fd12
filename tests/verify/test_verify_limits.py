"""The two limit checks judged from hand-made records, and the plan the calibration makes:
a rejection is recognised by what it is, the limit read from the wire, and where this machine
cannot drive a check the verdict is inconclusive with the numbers, never FAIL."""

from __future__ import annotations

import dataclasses
import socket
import struct
import time

import pytest
import trio

from chaos.protocols import HTTP, POSTGRES, RAW, SMTP, SSH
from chaos.record import ClientRecord, Outcome
from chaos.target import Target
from chaos.verify import Expectations, ProbeState, ProbeView, Verdict, VerifySettings
from chaos.verify.calibration import Calibration, measure
from chaos.verify.checks import max_connections, max_served
from chaos.verify.checks.holding import DRAIN_SHARE, doubling, plan_holding
from chaos.verify.checks.max_connections import Fate, Step, fate, read_limit
from chaos.verify.checks.max_served import Observation, observe, read_served
from chaos.verify.checks.timing import judge_timeout
from chaos.verify.ramp import let_go
from chaos.verify.stages.base import RunState
from chaos.verify.stages.concurrency import idle_hint, silent_for

TARGET = Target(host="127.0.0.1", port=9)
T0 = 100.0
BUSY = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
OK = ProbeView(state=ProbeState.OK, latency=0.001, status=200, started=T0)
REFUSED = ProbeView(state=ProbeState.REJECTED, latency=0.001, status=503, started=T0)


def settings(**expect) -> VerifySettings:
    return VerifySettings(target=TARGET, expectations=Expectations(**expect), tolerance=0.1)


def holder(started: float, *, end: float | None = None, **fields) -> ClientRecord:
    """A holder that started at T0 + ``started`` s and connected a millisecond later; the
    server ended it at T0 + ``end`` s, or it was held until we closed it at T0 + 60 s."""
    base = dict(
        kind="holder",
        index=0,
        local_port=40000,
        started=T0 + started,
        connected=T0 + started + 0.001,
        outcome=Outcome.HELD_TO_END,
        closed=T0 + 60,
    )
    if end is not None:
        base.update(server_eof=T0 + end, outcome=Outcome.CLOSED_BY_SERVER, closed=T0 + end)
    return ClientRecord(**{**base, **fields})


def step(
    fated,
    count: int,
    began: float,
    probe: ProbeView | None = OK,
    *,
    waiting: int | None = None,
    queued: int | None = None,
    again: tuple[ProbeView, ...] = (),
) -> Step:
    """The step whose probe began at T0 + ``began`` and ended 10 ms later (its probes asked
    again within that too)."""
    ended = T0 + began + 0.01
    return Step.seen(fated, count, T0 + began, ended, probe, waiting, queued, again)


def test_a_rejection_reply_is_one_however_late_the_accept_queue_lets_it_arrive():
    late = holder(0.0, end=3.0, reply_head=BUSY, first_byte=T0 + 3.0)
    assert fate(late, HTTP, idle=5.0, tolerance=0.1) is Fate.REJECTED
    # The same reply to a keep-alive request turned the request away, not the connection.
    kept = holder(
        0.0,
        end=3.0,
        reply_head=BUSY,
        first_byte=T0 + 3.0,
        detail={"messages": 1, "kept_alive_after": 2.5},
    )
    assert fate(kept, HTTP, idle=5.0, tolerance=0.1) is Fate.DROPPED
    assert (
        fate(
            holder(0.0, outcome=Outcome.REFUSED, connected=None, closed=None),
            HTTP,
            idle=None,
            tolerance=0.1,
        )
        is Fate.REJECTED
    )
    unaccepted = holder(0.0, connected=None, closed=None, outcome=Outcome.CONNECT_TIMEOUT)
    assert fate(unaccepted, HTTP, idle=None, tolerance=0.1) is Fate.UNACCEPTED


def test_a_silent_close_is_told_by_the_probe_and_the_idle_timeout():
    soon = holder(0.0, end=0.4)
    # The server refused the step's probe too: the close was a rejection.
    assert fate(soon, RAW, idle=5.0, tolerance=0.1, refused_by=T0 + 0.5) is Fate.REJECTED
    # It served the probe: it closed an old idle connection to make room (nginx).
    assert fate(soon, RAW, idle=5.0, tolerance=0.1) is Fate.EVICTED
    # As late as the idle timeout: that timeout, whatever the probe did.
    idle = holder(0.0, end=5.05)
    assert fate(idle, RAW, idle=5.0, tolerance=0.1, refused_by=T0 + 6) is Fate.DROPPED
    # No idle timeout known: nothing is too soon for one; only the refused probe tells.
    assert fate(soon, RAW, idle=None, tolerance=0.1) is Fate.DROPPED
    assert fate(soon, RAW, idle=None, tolerance=0.1, refused_by=T0 + 0.5) is Fate.REJECTED


def test_a_holder_closed_after_an_error_answer_was_refused_not_evicted():
    # PostgreSQL trusting the client, then without the database it named: nothing is held,
    # and it says why; that is no eviction to make room.
    auth_ok = "R\x00\x00\x00\x08\x00\x00\x00\x00"
    error = 'SFATAL\x00VFATAL\x00C3D000\x00Mdatabase "x" does not exist\x00\x00'
    head = auth_ok + "E" + struct.pack("!i", len(error) + 4).decode("latin-1") + error
    refused = holder(0.0, end=0.002, reply_head=head, first_byte=T0 + 0.002)
    assert fate(refused, POSTGRES, idle=2.0, tolerance=0.1) is Fate.DROPPED
    # The same close with no answer reads as the eviction it is for a silent holder.
    assert fate(holder(0.0, end=0.002), POSTGRES, idle=2.0, tolerance=0.1) is Fate.EVICTED


def test_a_silent_holder_timed_out_with_a_408_was_dropped_by_the_idle_timeout_not_evicted():
    # cheroot's timeout: a 408 written as it cuts a client that sent nothing. What the server
    # sends unasked is no activity: the idle clock ran from the connect.
    timed_out = "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n"
    detail = {"last_reply": T0 + 2.0, "last_reply_head": timed_out}
    record = holder(0.0, end=2.0, reply_head=timed_out, first_byte=T0 + 2.0, detail=detail)
    assert fate(record, HTTP, idle=2.0, tolerance=0.1) is Fate.DROPPED
    # Cut that soon after an answer to a message of ours, it made room.
    answered = {**detail, "messages": 1, "kept_alive_after": 1.9, "last_answer": T0 + 1.9}
    soon = holder(0.0, end=2.0, reply_head=timed_out, first_byte=T0 + 1.9, detail=answered)
    assert fate(soon, HTTP, idle=2.0, tolerance=0.1) is Fate.EVICTED


def test_a_holder_answered_with_connection_close_had_its_keep_alive_refused_not_evicted():
    # cheroot past its keep_alive_conn_limit answers a keep-alive request and says it closes.
    closing = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
    kept = closing.replace("Connection: close", "Connection: keep-alive")
    detail = {"messages": 1, "kept_alive_after": 1.0, "last_answer": T0 + 1.001}
    after = dict(end=1.002, first_byte=T0 + 1.001, detail=detail)
    declined = holder(0.0, reply_head=closing, **after)
    assert fate(declined, HTTP, idle=5.0, tolerance=0.1) is Fate.DECLINED
    # No limit shown, and the reader told why the holders went.
    fated = [(declined, Fate.DECLINED), *((holder(0.01 * n), Fate.HELD) for n in range(1, 4))]
    steps = [step(fated, 4, began=2.0)]
    result = max_connections.judge(read_limit(fated, steps), steps, settings(max_connections=4))
    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.measured == (
        "no rejection up to 3 held at once (1 closed by the server after 1.0 s, each answering "
        "a keep-alive, saying it would close)"
    )
    # The same close after an answer that kept the connection open makes room: nginx's.
    assert fate(holder(0.0, reply_head=kept, **after), HTTP, idle=5.0, tolerance=0.1) is (
        Fate.EVICTED
    )
    # Kept alive at first, the last answer saying it closes: refused all the same.
    later = dict(after, detail={**detail, "last_reply_head": closing})
    assert fate(holder(0.0, reply_head=kept, **later), HTTP, idle=5.0, tolerance=0.1) is (
        Fate.DECLINED
    )


def test_a_slot_an_earlier_stage_still_held_leaves_the_limit_to_a_later_rejection():
    # Limit 4; one slot still taken by an earlier stage's connection (a PostgreSQL backend
    # exiting) when the ramp began: the fourth holder turned away with three open. Freed,
    # the sixth was held, and the seventh turned away with four open.
    records = [holder(0.001 * n) for n in range(3)]
    records.append(holder(0.003, end=0.004, reply_head=BUSY))
    records += [holder(0.2), holder(0.3, end=0.301, reply_head=BUSY)]
    fated = [(r, fate(r, HTTP, idle=5.0, tolerance=0.1)) for r in records]
    assert [f for _, f in fated].count(Fate.REJECTED) == 2
    steps = [step(fated, 4, began=0.1), step(fated, 6, began=0.4)]
    limit = read_limit(fated, steps)
    assert limit.held == 4 and limit.how.startswith("HTTP/1.1 503")
    assert max_connections.judge(limit, steps, settings(max_connections=4)).verdict is Verdict.PASS


def test_a_slot_the_last_probe_still_held_leaves_the_limit_to_what_was_held_at_once():
    # Limit 4: three held, then the step's probe (its slot freed late), so the fourth holder
    # was turned away with three open; the fifth was held, four at once, and the next
    # step's probe refused.
    records = [holder(0.001 * n) for n in range(3)]
    records += [holder(0.2, end=0.201, reply_head=BUSY), holder(0.3)]
    fated = [(r, fate(r, HTTP, idle=5.0, tolerance=0.1)) for r in records]
    steps = [step(fated, 3, began=0.1), step(fated, 5, began=0.4, probe=REFUSED)]
    limit = read_limit(fated, steps)
    assert (limit.held, limit.peak) == (4, 4)
    assert max_connections.judge(limit, steps, settings(max_connections=4)).verdict is Verdict.PASS
    assert max_connections.judge(limit, steps, settings(max_connections=3)).verdict is Verdict.FAIL


def test_every_holder_turned_away_with_none_held_leaves_the_limit_undecided():
    # Its slots taken by connections that were not ours (exim's children of an earlier
    # burst, still resolving its address): the first holder is already refused.
    records = [
        holder(0.001 * n, end=0.001 * n + 0.001, reply_head="421 Too many\r\n") for n in range(3)
    ]
    fated = [(r, fate(r, SMTP, idle=None, tolerance=0.1)) for r in records]
    steps = [step(fated, 3, began=0.1, probe=REFUSED)]
    limit = read_limit(fated, steps)
    assert limit.held == 0
    result = max_connections.judge(limit, steps, settings(max_connections=20))
    assert result.verdict is Verdict.INCONCLUSIVE, result.measured
    assert "turned away with none of ours open" in result.reason


def test_the_limit_is_the_holders_started_before_the_first_rejection_and_still_open():
    # Four held; the fifth turned away 2 s later (the accept queue lagged), the sixth too.
    records = [holder(0.001 * n) for n in range(4)]
    records += [holder(0.004, end=2.0, reply_head=BUSY), holder(0.005, end=2.1, reply_head=BUSY)]
    # One of the four dropped only later: it was open when the fifth was turned away.
    records[1] = holder(0.001, end=4.0)
    fated = [(r, fate(r, HTTP, idle=None, tolerance=0.1)) for r in records]
    steps = [step(fated, 6, began=2.5, probe=REFUSED)]
    limit = read_limit(fated, steps)
    assert limit.held == 4 and limit.how.startswith("HTTP/1.1 503")
    right = max_connections.judge(limit, steps, settings(max_connections=4))
    assert right.verdict is Verdict.PASS and right.value == 4
    assert right.measured == "4 held, the next rejected (HTTP/1.1 503 Service Unavailable)"
    wrong = max_connections.judge(limit, steps, settings(max_connections=5))
    assert wrong.verdict is Verdict.FAIL and "expected 5 held at once" in wrong.reason


def test_a_holder_refused_after_the_probe_was_never_held():
    # PostgreSQL under a starved CPU: the twenty-first holder's backend sent "too many
    # clients" only after the step's probe had been refused; at the probe, 21 were open.
    too_many = "E\x00\x00\x00\x10SFATAL\x00C53300\x00\x00"
    records = [holder(0.001 * n) for n in range(20)]
    records.append(holder(0.02, end=0.6, reply_head=too_many, first_byte=T0 + 0.6))
    fated = [(r, fate(r, POSTGRES, idle=2.0, tolerance=0.1)) for r in records]
    assert fated[-1][1] is Fate.REJECTED
    steps = [step(fated, 21, began=0.5, probe=REFUSED)]
    assert (steps[0].held, steps[0].quiet) == (20, 20)
    limit = read_limit(fated, steps)
    assert limit.held == 20, limit


def test_a_server_that_evicts_idle_connections_holds_what_it_held_when_quiet():
    # Three held when the first probe began; the fourth and fifth evicted the two oldest.
    records = [holder(0.0, end=0.21), holder(0.001, end=0.21), holder(0.002)]
    records += [holder(0.2), holder(0.201)]
    fated = [(r, fate(r, HTTP, idle=5.0, tolerance=0.1)) for r in records]
    assert [f for _, f in fated].count(Fate.EVICTED) == 2
    steps = [step(fated, 3, began=0.1), step(fated, 5, began=0.3)]
    limit = read_limit(fated, steps)
    assert limit.held == 3 and "oldest idle ones were closed" in limit.how
    assert max_connections.judge(limit, steps, settings(max_connections=3)).verdict is Verdict.PASS
    assert max_connections.judge(limit, steps, settings(max_connections=5)).verdict is Verdict.FAIL


def test_a_server_that_closes_each_one_past_its_limit_is_not_said_to_evict_the_oldest():
    # sshd past MaxStartups, spoken to as raw: ten held, the eleventh told "Exceeded
    # MaxStartups" and closed at once, a reply the raw profile reads as an answer.
    records = [holder(0.001 * n) for n in range(10)]
    told = "Exceeded MaxStartups\r\n"
    records.append(holder(0.2, end=0.201, reply_head=told, first_byte=T0 + 0.2005))
    fated = [(r, fate(r, RAW, idle=3.0, tolerance=0.1)) for r in records]
    assert fated[-1][1] is Fate.EVICTED
    steps = [step(fated, 10, began=0.1), step(fated, 11, began=0.3)]
    limit = read_limit(fated, steps)
    assert limit.held == 10, limit
    assert "oldest" not in limit.how, limit.how
    told_so = "told 'Exceeded MaxStartups', 1 in all"
    assert limit.how == f"past it each new one was closed at once, {told_so}"


MAX_STARTUPS = "Exceeded MaxStartups\r\n"


def ssh_holders(count: int, *, turned_away: int = 0) -> list[tuple[ClientRecord, Fate]]:
    """``count`` sshd holders held, then ``turned_away`` told Exceeded MaxStartups at once."""
    records = [holder(0.001 * n) for n in range(count)]
    records += [
        holder(0.1 + 0.001 * n, end=0.102 + 0.001 * n, reply_head=MAX_STARTUPS)
        for n in range(turned_away)
    ]
    return [(r, fate(r, SSH, idle=3.0, tolerance=0.1)) for r in records]


def test_a_limit_that_drops_at_random_is_told_from_one_that_does_not():
    # OpenSSH's MaxStartups 10:30:20: past 10 unauthenticated, each new one dropped at random.
    fated = ssh_holders(11, turned_away=1)
    mixed = (OK, REFUSED, OK, REFUSED, REFUSED, OK, OK, REFUSED)
    steps = [step(fated, 10, 0.05), step(fated, 12, began=0.2, probe=REFUSED, again=mixed)]
    assert steps[-1].at_random
    limit = read_limit(fated, steps)
    # Eleven held, and a probe answered beside them: twelve at once.
    assert (limit.random_from, limit.held) == (11, 12), limit
    assert "at random (with 11 held, 4 of 8 probes answered: Exceeded MaxStartups)" in limit.how
    judged = {
        promise: max_connections.judge(limit, steps, settings(max_connections=promise))
        for promise in (10, 12, 20)
    }
    assert judged[10].verdict is Verdict.FAIL, judged[10]
    assert judged[10].measured.startswith("11 to 12 held at once; past 11 it turns"), judged[10]
    # Past what was seen, a random drop may or may not hold as many: never a pass.
    for promise in (12, 20):
        assert judged[promise].verdict is Verdict.INCONCLUSIVE, judged[promise]
        assert "a limit that drops at random" in judged[promise].reason
    assert max_connections.judge(limit, steps, settings()).verdict is Verdict.INFO
    # A hard MaxStartups 10: every probe asked again is turned away too; one limit, passed.
    fated = ssh_holders(10, turned_away=2)
    steps = [step(fated, 12, began=0.2, probe=REFUSED, again=(REFUSED,) * 8)]
    hard = read_limit(fated, steps)
    assert not steps[0].at_random and hard.random_from is None and hard.held == 10, hard
    right = max_connections.judge(hard, steps, settings(max_connections=10))
    assert right.verdict is Verdict.PASS, right


def test_a_probe_asked_again_and_answered_counts_one_more_held_and_no_limit_seen():
    # The step's probe turned away while a slot was still taken (the calibration's last
    # connections, their sshd children still exiting), then every probe after it answered:
    # the server held nine and a tenth at once, and nothing says it drops at random.
    fated = ssh_holders(9, turned_away=1)
    steps = [step(fated, 10, began=0.2, probe=REFUSED, again=(OK,) * 8)]
    limit = read_limit(fated, steps)
    assert not steps[0].at_random and limit.random_from is None
    assert limit.held == 10, limit
    # So the rejection showed no limit: room was made after it. Undecided, unless fewer than
    # were seen at once were promised.
    assert limit.room == "every probe asked again with 9 held was answered", limit
    promised = max_connections.judge(limit, steps, settings(max_connections=10))
    assert promised.verdict is Verdict.INCONCLUSIVE, promised
    assert "the rejections came while others took slots" in promised.reason
    fewer = max_connections.judge(limit, steps, settings(max_connections=9))
    assert fewer.verdict is Verdict.FAIL, fewer
    # Room made by an idle timeout is no such thing: five held, the sixth told 503 with five
    # open, then one cut idle before the top's probes, all answered with four held.
    records = [holder(0.001 * n) for n in range(5)]
    records.append(holder(0.1, end=0.101, reply_head=BUSY))
    records[0] = holder(0.0, end=0.15)
    fated = [(r, fate(r, HTTP, idle=0.15, tolerance=0.05)) for r in records]
    steps = [step(fated, 5, began=0.05), step(fated, 6, began=0.2, again=(OK,) * 4)]
    cut_idle = read_limit(fated, steps)
    assert (cut_idle.held, cut_idle.room) == (5, ""), cut_idle
    passed = max_connections.judge(cut_idle, steps, settings(max_connections=5))
    assert passed.verdict is Verdict.PASS, passed
    # One of ours closed while the probe was asked again: its slot may be what answered.
    fated = ssh_holders(11)
    fated[0] = (holder(0.0, end=0.205), Fate.DROPPED)
    steps = [step(fated, 11, began=0.2, probe=REFUSED, again=(OK, REFUSED) * 4)]
    assert steps[0].held != steps[0].quiet and not steps[0].at_random


def test_holders_the_server_dropped_leave_the_limit_undecided_never_failed():
    # Promised 10; only 8 ever open at once, two cut by an idle timeout while the rest opened.
    records = [holder(0.0, end=5.0), holder(0.01, end=5.01)] + [
        holder(5.1 + n / 100) for n in range(8)
    ]
    fated = [(r, fate(r, HTTP, idle=5.0, tolerance=0.1)) for r in records]
    steps = [step(fated, 10, began=6.0)]
    limit = read_limit(fated, steps)
    result = max_connections.judge(limit, steps, settings(max_connections=10))
    assert result.verdict is Verdict.INCONCLUSIVE
    assert (
        "no rejection up to 8 held at once (2 closed by the server after 5.0 s)" in result.measured
    )
    assert "11 were needed" in result.reason
    # Held more at once than promised, with no rejection: that is broken.
    assert max_connections.judge(limit, steps, settings(max_connections=7)).verdict is Verdict.FAIL
    # Held only by the kernel: a probe that got no answer counts nothing before it as held.
    stalled = [
        step(
            fated,
            10,
            began=6.0,
            probe=ProbeView(state=ProbeState.STALLED, latency=None, status=None, started=T0),
        )
    ]
    assert read_limit(fated, stalled).peak == 0


def test_limits_held_short_of_the_promise_say_how_the_holding_was_planned():
    # Planned silent holders, tight inside a 0.2 s idle timeout; the machine then opened them
    # slower than calibrated, and the server's idle timeout cut them before 11 were open.
    plan = plan_holding(
        settings(max_connections=10, max_served=10), calibration(65, None), idle=0.2, time_left=60
    )
    assert plan.undecidable is None and "tight inside the 0.20 s idle timeout" in plan.why
    records = [holder(0.0, end=0.2), holder(0.01, end=0.21)] + [
        holder(0.3 + n / 100) for n in range(8)
    ]
    fated = [(r, fate(r, HTTP, idle=0.2, tolerance=0.1)) for r in records]
    steps = [step(fated, 11, began=1.0)]
    limit = max_connections.judge(
        read_limit(fated, steps), steps, settings(max_connections=10), plan=plan.to_json()
    )
    assert limit.verdict is Verdict.INCONCLUSIVE
    assert limit.reason.endswith(f"11 were needed; planned: {plan.why}")
    served = read_served([observe(0, OK), observe(8, OK)])
    row = max_served.judge(served, settings(max_served=10), top=11, planned=plan.why)
    assert row.verdict is Verdict.INCONCLUSIVE
    assert row.reason.endswith(f"requests answered with up to 8 held; planned: {plan.why}")
    assert "connections/s" in plan.why


def test_requests_served_is_exact_only_between_an_answer_and_a_refusal():
    exact = read_served([observe(0, OK), observe(5, OK), observe(6, REFUSED), observe(8, REFUSED)])
    assert exact.exact and (exact.answered, exact.refused) == (5, 6)
    result = max_served.judge(exact, settings(max_served=6), top=8)
    assert result.verdict is Verdict.PASS and result.value == 6
    assert result.measured.startswith("6 open: a request answered with 5 held, refused with 6")
    assert max_served.judge(exact, settings(max_served=7), top=8).verdict is Verdict.FAIL
    gap = read_served([observe(4, OK), observe(8, REFUSED)])
    assert gap.gap == 3
    assert (
        max_served.judge(gap, settings(max_served=6), top=8, why="no time left").verdict
        is Verdict.INCONCLUSIVE
    )
    assert max_served.judge(gap, settings(max_served=3), top=8).verdict is Verdict.FAIL
    never = read_served([observe(0, OK), observe(32, OK)])
    assert max_served.judge(never, settings(max_served="none"), top=32).verdict is Verdict.PASS
    assert max_served.judge(never, settings(max_served=10), top=32).verdict is Verdict.FAIL
    # A probe that got no answer decides nothing.
    assert observe(
        4, ProbeView(state=ProbeState.STALLED, latency=None, status=None, started=T0)
    ) == Observation(held=4, served=None, seen="stalled")
    assert observe(4, None).seen == "no probe"


def test_a_request_refused_with_none_of_ours_open_decides_no_limit_on_requests():
    # A Redis with a password answers our PING -NOAUTH whatever is held: refused at 0 held,
    # and at every count after it. That is no limit on connections of ours.
    refused = read_served([observe(n, REFUSED) for n in (0, 1, 2, 4)])
    for promise in (50, "none"):
        result = max_served.judge(refused, settings(max_served=promise), top=50)
        assert result.verdict is Verdict.INCONCLUSIVE, (promise, result.measured)
        assert result.reason.endswith("refused with none of ours open, so not for ours")
    # Answered with none held, refused with one: that one is ours.
    one = read_served([observe(0, OK), observe(1, REFUSED)])
    assert max_served.judge(one, settings(max_served=50), top=50).verdict is Verdict.FAIL


def calibration(connect: float, serve: float | None, accept: float | None = None) -> Calibration:
    return Calibration(
        connect_rate=connect,
        accept_rate=accept,
        serve_rate=serve,
        opened=200,
        tried=200,
        answered=50,
    )


def test_the_server_accepting_slower_than_we_connect_paces_the_plan():
    # 200 connects in 10 ms, the probe behind them answered 100 ms after the first.
    burst = [holder(0.00005 * n, connected=T0 + 0.00005 * n + 0.00001) for n in range(200)]
    after = ProbeView(state=ProbeState.OK, latency=0.002, status=200, started=T0 + 0.098)
    timed = measure(burst, [], after=after)
    assert timed.connect_rate == pytest.approx(200 / 0.00996, rel=0.01)
    assert timed.accept_rate == pytest.approx(2_000, rel=0.01)
    assert "the server accepted 2,000/s" in timed.describe()
    refused = ProbeView(state=ProbeState.REJECTED, latency=0.002, status=503, started=T0 + 0.098)
    assert measure(burst, [], after=refused).accept_rate is None
    # Our 20,000/s would open 2,001 well inside the 0.2 s idle timeout; the server's 2,000/s
    # takes a second, so silent holders would be cut: the plan says so in numbers.
    promised = settings(max_connections=2_000, idle_timeout=0.2)
    plan = plan_holding(promised, calibration(20_000, 3_000, accept=2_000), idle=0.2, time_left=60)
    assert plan.opening == pytest.approx(2_001 / 2_000)
    assert plan.undecidable is not None and plan.undecidable.startswith(
        "opened 20,000 connections/s, the server accepted 2,000 connections/s: holding 2,001 "
        "takes 1.00 s, past what the 0.20 s idle timeout allows"
    )
    fast = plan_holding(promised, calibration(2_000, 3_000, accept=20_000), idle=5.0, time_left=60)
    assert fast.opening == pytest.approx(2_001 / 2_000) and "accepted" not in fast.why


def test_a_slow_client_makes_the_plan_say_inconclusive_with_its_numbers():
    promised = settings(max_connections=10_000, max_served=10_000, idle_timeout=5.0)
    slow = plan_holding(promised, calibration(500, 300), idle=5.0, time_left=60)
    assert slow.counts == (9_999, 10_000, 10_001)
    assert slow.undecidable == (
        "opened 500 connections/s: holding 10,001 takes 20.00 s, past what the 5.00 s idle "
        "timeout allows; keeping them alive needs 4,000 requests/s, more than 50% of the "
        "300/s the server answered"
    )
    fast = plan_holding(promised, calibration(20_000, 3_000), idle=5.0, time_left=60)
    assert fast.undecidable is None and fast.message == "" and "holders stay silent" in fast.why
    short = plan_holding(promised, calibration(20_000, 3_000), idle=5.0, time_left=1.0)
    assert short.undecidable is not None and "1.0 s were left" in short.undecidable
    capped = settings(max_connections=10_000, idle_timeout=5.0).__class__(
        target=TARGET, expectations=Expectations(max_connections=10_000), connect_rate=100
    )
    assert (
        "opened 100 connections/s"
        in plan_holding(capped, calibration(20_000, 3_000), idle=5.0, time_left=600).why
    )
    raw = VerifySettings(
        target=TARGET, protocol="raw", expectations=Expectations(max_connections=100)
    )
    none = plan_holding(raw, calibration(50, 3_000), idle=1.0, time_left=60)
    assert none.undecidable is not None and "raw has no keep-alive message" in none.undecidable


def test_holding_a_little_past_the_idle_timeout_by_the_calibration_is_tried_unless_capped():
    # 10,001 at 1,850/s takes 5.41 s, past 90% of a 5 s idle timeout but within 120%: the
    # burst the calibration timed may be slower than the ramp, so silent holders try.
    promised = settings(max_connections=10_000, idle_timeout=5.0)
    near = plan_holding(promised, calibration(1_850, 300), idle=5.0, time_left=60)
    assert near.undecidable is None and near.message == "", near.undecidable
    assert "about the 5.00 s idle timeout: holders stay silent" in near.why
    # Our own rate capped there by --connect-rate is no estimate: it is what the ramp does.
    capped = dataclasses.replace(promised, connect_rate=1_850)
    held = plan_holding(capped, calibration(20_000, 300), idle=5.0, time_left=60)
    assert held.undecidable is not None and "past what the 5.00 s idle timeout" in held.undecidable
    far = plan_holding(promised, calibration(1_500, 300), idle=5.0, time_left=60)  # 6.67 s
    assert far.undecidable is not None and "past what the 5.00 s idle timeout" in far.undecidable


def test_a_cheap_keep_alive_holds_past_a_short_idle_timeout():
    search = plan_holding(settings(), calibration(5_000, 5_000), idle=0.3, time_left=20)
    assert search.searching and search.counts == doubling(256) == (1, 2, 4, 8, 16, 32, 64, 128, 256)
    assert search.message.startswith("GET / HTTP/1.1") and search.interval == pytest.approx(0.15)
    unknown = plan_holding(settings(), calibration(5_000, 2_000), idle=None, time_left=20)
    assert unknown.message == "" and "no idle timeout is known" in unknown.why
    timed_out = plan_holding(settings(), None, idle=1.0, time_left=20)
    assert (
        timed_out.undecidable is not None and "could not time our connects" in timed_out.undecidable
    )


def test_no_row_claims_a_probe_that_did_not_run():
    fated = [(holder(0.001 * n), Fate.HELD) for n in range(2)]
    steps = [step(fated, 1, began=0.1), step(fated, 2, began=0.2, probe=None)]
    limit = max_connections.judge(read_limit(fated, steps), steps, settings())
    assert limit.measured == "no rejection up to 2 held at once (no probe ran at 2)"
    served = read_served([observe(s.held, s.probe) for s in steps])
    row = max_served.judge(served, settings(), top=2)
    assert row.measured == "requests answered with up to 2 held"  # what the one probe saw
    assert "every step" not in limit.measured + row.measured


STALLED = ProbeView(state=ProbeState.STALLED, latency=None, status=None, started=T0)


def test_a_server_that_stops_accepting_shows_its_limit_by_the_probe_left_in_its_queue():
    # waitress past its connection limit: 19 holders connected, the 19th never taken from
    # the accept queue, and the probe left there with it when it gave up.
    fated = [(holder(n / 1000), Fate.HELD) for n in range(19)]
    steps = [step(fated, 19, began=1.0, probe=STALLED, waiting=1, queued=2)]
    limit = read_limit(fated, steps)
    assert limit.held == 18
    assert "waited in the kernel's accept queue" in limit.how
    assert max_connections.judge(limit, steps, settings(max_connections=18)).verdict is Verdict.PASS
    wrong = max_connections.judge(limit, steps, settings(max_connections=20))
    assert wrong.verdict is Verdict.FAIL and "18 held at once" in wrong.reason
    # Where the kernel could not be read, or the server may have been still taking them: no
    # limit is read from a probe left unanswered.
    unread = [step(fated, 19, began=1.0, probe=STALLED)]
    assert read_limit(fated, unread).held is None


def test_a_probe_accepted_but_unanswered_shows_no_connection_limit():
    # gunicorn with its threads all taken by silent holders: the probe was accepted (the
    # queue is empty) but never answered; that is a server short of workers.
    fated = [(holder(n / 1000), Fate.HELD) for n in range(8)]
    steps = [step(fated, 8, began=1.0, probe=STALLED, waiting=0, queued=0)]
    limit = read_limit(fated, steps)
    assert limit.held is None and limit.stalled
    result = max_connections.judge(limit, steps, settings(max_connections=8))
    assert result.verdict is Verdict.INCONCLUSIVE, result.measured


def test_holders_still_in_the_accept_queue_are_not_counted_as_held():
    # 101 holders at a server taking 98 at most: three wait in its accept queue. Its idle
    # timeout then closes the 98 it took, takes the rest and answers the probe late. At the
    # probe's start 101 were open, but never more than 98 were held: not "held more than
    # the 100 promised".
    fated = [(holder(n / 1000, end=3.0), Fate.DROPPED) for n in range(98)]
    fated += [(holder(n / 1000), Fate.HELD) for n in range(98, 101)]
    late = ProbeView(state=ProbeState.QUEUED, latency=1.95, status=200, started=T0 + 1.0)
    steps = [step(fated, 101, began=1.0, probe=late, waiting=3, queued=0)]
    limit = read_limit(fated, steps)
    assert limit.peak == 98
    result = max_connections.judge(limit, steps, settings(max_connections=100))
    assert result.verdict is Verdict.INCONCLUSIVE, result.measured
    assert "no rejection up to 98 held at once" in result.measured


def test_a_stall_is_read_only_when_the_server_takes_the_holders_well_within_the_probe():
    plan = plan_holding(
        settings(max_connections=100), calibration(20_000, None, 10_000), idle=None, time_left=60
    )
    assert plan.drains(101, 2.0 * DRAIN_SHARE)
    assert not plan.drains(10_000, 2.0 * DRAIN_SHARE)
    unknown = plan_holding(
        settings(max_connections=100), calibration(20_000, None), idle=None, time_left=60
    )
    assert not unknown.drains(1, 2.0)


def test_earlier_probes_taken_and_never_answered_widen_the_limit_read_from_the_queue():
    # gunicorn, its four threads stuck on silent holders: the probes with 4 and 8 held were
    # taken and never answered (we closed them; it may not have noticed), then with 32 held
    # the probe and 12 holders waited in the accept queue: 20 of ours held, and up to 2 more
    # slots were the earlier probes'.
    fated = [(holder(n / 1000), Fate.HELD) for n in range(32)]
    steps = [
        step(fated, 4, began=0.01, probe=STALLED, waiting=0, queued=0),
        step(fated, 8, began=0.02, probe=STALLED, waiting=0, queued=0),
        step(fated, 32, began=1.0, probe=STALLED, waiting=12, queued=13),
    ]
    limit = read_limit(fated, steps)
    assert (limit.held, limit.lingering) == (20, 2)
    for promised, verdict in ((20, Verdict.INCONCLUSIVE), (22, Verdict.INCONCLUSIVE)):
        result = max_connections.judge(limit, steps, settings(max_connections=promised))
        assert result.verdict is verdict, (promised, result.measured)
    assert "20 to 22 held at once" in result.measured
    for promised in (19, 23):
        result = max_connections.judge(limit, steps, settings(max_connections=promised))
        assert result.verdict is Verdict.FAIL, (promised, result.measured)


def test_a_probe_the_server_took_and_never_answered_is_a_request_refused():
    # Seen in the accept queue (none there: the server took it), a probe with no answer in
    # its time was refused; unseen, it may only have been slow, and decides nothing.
    refused = max_served.observe(4, STALLED, queued=0)
    assert refused.served is False and "accepted, never answered" in refused.seen
    assert max_served.observe(4, STALLED, queued=1).served is False
    assert max_served.observe(4, STALLED).served is None
    served = read_served([observe(3, OK), refused])
    assert served.exact and "accepted, never answered" in served.refusal


def test_requests_served_say_how_the_holders_held():
    served = read_served([observe(3, OK), max_served.observe(4, STALLED, queued=0)])
    for held_as in ("the holders silent", "the holders kept alive"):
        result = max_served.judge(served, settings(max_served=4), top=4, held_as=held_as)
        assert result.verdict is Verdict.PASS and result.measured.endswith(f"; {held_as}")
    loose = max_served.judge(read_served([observe(3, OK)]), settings(), top=4, held_as="x")
    assert loose.measured == "requests answered with up to 3 held; x"


def test_a_request_answered_with_so_many_held_lifts_a_rejection_that_came_one_short():
    # PostgreSQL on a starved machine: an earlier connection's backend had not exited when
    # the 20th holder came, so it was turned away with 19 open; a request answered with 19
    # held (max-served's bisection) had shown 20 at once.
    records = [holder(0.001 * n) for n in range(19)]
    records += [holder(0.02, end=0.021, reply_head=BUSY), holder(0.03, end=0.031, reply_head=BUSY)]
    fated = [(r, fate(r, HTTP, idle=5.0, tolerance=0.1)) for r in records]
    steps = [step(fated, 21, began=0.1, probe=REFUSED)]
    assert read_limit(fated, steps).held == 19
    limit = read_limit(fated, steps, served=20)
    assert limit.held == 20
    assert max_connections.judge(limit, steps, settings(max_connections=20)).verdict is Verdict.PASS


def test_a_silent_client_seen_held_through_the_cap_makes_a_quick_close_an_eviction():
    # dovecot past its client_limit closes its oldest clients before they log in; its own
    # idle timeout is minutes, past the idle check's cap. Held silent through the cap, a
    # close at once is no idle timeout: they were evicted, not dropped.
    chosen = settings()
    state = RunState(chosen, lambda _: None, chosen.schedule())
    assert silent_for(state) is None
    state.results["idle-timeout"] = judge_timeout("idle-timeout", chosen, [None])
    cap = chosen.timeout_cap("idle-timeout")
    assert idle_hint(state) is None and silent_for(state) == cap
    evicted = holder(0.1, end=0.11)
    assert fate(evicted, RAW, idle=silent_for(state), tolerance=0.1) is Fate.EVICTED
    assert fate(evicted, RAW, idle=None, tolerance=0.1) is Fate.DROPPED
    # A timeout measured is what it is.
    state.results["idle-timeout"] = judge_timeout("idle-timeout", chosen, [2.0])
    assert idle_hint(state) == silent_for(state) == 2.0


def test_the_ramp_waits_for_the_server_to_let_go_of_our_closed_connections():
    # A server that keeps its end open after our close (sshd's child still exiting, holding
    # a MaxStartups slot) is waited for, up to the deadline; once it closes, no longer.
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        ours = socket.create_connection(("127.0.0.1", port))
        theirs, _ = listener.accept()
        local = ours.getsockname()[1]
        ours.close()
        target = Target(host="127.0.0.1", port=port)
        began = time.monotonic()
        assert not trio.run(let_go, [local], target, began + 0.1)
        assert time.monotonic() - began >= 0.1
        theirs.close()
        assert trio.run(let_go, [local], target, time.monotonic() + 5.0)
