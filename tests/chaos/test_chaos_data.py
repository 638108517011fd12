"""Plans, records and results: validated on construction, exact through JSON."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chaos import FAULTS, ChaosResult, ClientRecord, ClientSpec, Outcome, Plan, Target
from chaos.faults import SlowlorisParams
from chaos.params import FaultParams
from chaos.result import Distribution, percentile

times = st.floats(min_value=0, max_value=1e6, allow_nan=False)


@st.composite
def records(draw) -> ClientRecord:
    started = draw(times)
    later = st.none() | st.floats(min_value=started, max_value=started + 100)
    outcome = draw(st.sampled_from(Outcome))
    return ClientRecord(
        kind=draw(st.sampled_from(sorted(FAULTS))),
        index=draw(st.integers(0, 10**5)),
        local_port=draw(st.none() | st.integers(1, 65535)),
        started=started,
        connected=draw(later),
        first_byte=draw(later),
        server_eof=draw(later),
        reset=draw(later),
        closed=draw(later),
        bytes_sent=draw(st.integers(0, 10**9)),
        outcome=outcome,
        error="OSError: boom" if outcome is Outcome.ERROR else None,
        status=draw(st.none() | st.integers(100, 599)),
        detail=draw(
            st.dictionaries(st.text(max_size=5), st.integers() | st.booleans(), max_size=3)
        ),
    )


specs = st.builds(
    ClientSpec,
    kind=st.sampled_from(["never_send", "slowloris", "probe", "flood"]),
    params=st.just({}) | st.builds(dict, connect_timeout=st.floats(0.01, 10)),
    count=st.integers(1, 100),
    start=st.floats(0, 5),
)
plans = st.builds(
    Plan,
    clients=st.lists(specs, min_size=1, max_size=4),
    horizon=st.floats(6, 100),
    seed=st.integers(0, 2**32),
    target=st.none() | st.just("127.0.0.1:8080") | st.just("[::1]:9"),
)


@given(records())
def test_record_round_trips_through_json_text(record):
    assert ClientRecord.from_json(json.dumps(record.to_json())) == record


@given(plans)
def test_plan_round_trips_through_json_text(plan):
    again = Plan.from_json(json.dumps(plan.to_json()))
    assert again == plan and again.total_clients == plan.total_clients


@given(st.lists(records(), max_size=20), plans)
def test_result_summaries_survive_json(recs, plan):
    result = ChaosResult(plan=plan, records=recs, started=0.0, ended=1.0, target="127.0.0.1:1")
    again = ChaosResult.from_json(json.dumps(result.to_json()))
    assert again == result
    assert sum(again.counts.values()) == len(recs)
    assert again.closed_after == result.closed_after


def test_specs_store_every_default_so_replays_are_exact():
    spec = ClientSpec(kind="slowloris", params={"hold": 1})
    assert spec.params["interval"] == 1.0 and spec.params["path"] == "/"


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: ClientSpec(kind="nope"), "kind"),
        (lambda: ClientSpec(kind="never_send", params={"hold": -1}), "hold"),
        (lambda: ClientSpec(kind="never_send", params={"hold": "x"}), "hold"),
        (lambda: ClientSpec(kind="never_send", params={"holdd": 1}), "holdd"),
        (lambda: ClientSpec(kind="half_close", params={"when": "during"}), "when"),
        (lambda: ClientSpec(kind="flood", params={"replace": 1}), "replace"),
        (lambda: ClientSpec(kind="never_send", count=0), "count"),
        (lambda: ClientSpec(kind="never_send", start=-1), "start"),
        (lambda: Plan(clients=[], horizon=1), "clients"),
        (lambda: Plan(clients=[ClientSpec(kind="probe")], horizon=0), "horizon"),
        (lambda: Plan(clients=[ClientSpec(kind="probe", start=2)], horizon=1), "clients"),
        (lambda: Plan(clients=[ClientSpec(kind="probe")], horizon=1, seed=-1), "seed"),
        (lambda: Plan(clients=[ClientSpec(kind="probe")], horizon=1, target="nope"), "target"),
        (lambda: Plan.from_json("{"), "plan"),
        (lambda: Plan.from_json({"clients": [], "horizon": 1, "extra": 1}), "extra"),
        (lambda: Target.parse("127.0.0.1:99999"), "port"),
        (lambda: ClientRecord.from_json({"outcome": "bad"}), "outcome"),
        (
            lambda: ClientRecord(
                kind="x",
                index=0,
                local_port=None,
                started=1.0,
                closed=0.5,
                outcome=Outcome.COMPLETED,
            ),
            "closed",
        ),
        (
            lambda: ClientRecord(
                kind="x", index=0, local_port=None, started=1.0, outcome=Outcome.ERROR
            ),
            "error",
        ),
    ],
)
def test_bad_input_raises_value_error_naming_the_field(build, field):
    with pytest.raises(ValueError, match=field):
        build()


def test_server_closed_after_uses_the_first_of_eof_and_reset():
    base = dict(kind="k", index=0, local_port=1, started=1.0, outcome=Outcome.CLOSED_BY_SERVER)
    assert (
        ClientRecord(**base, connected=2.0, server_eof=2.5, reset=2.25).server_closed_after == 0.25
    )
    assert ClientRecord(**base, connected=2.0).server_closed_after is None
    assert ClientRecord(**base, server_eof=3.0).server_closed_after is None


def test_distribution_uses_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    dist = Distribution.of(values)
    assert (dist.min, dist.p50, dist.p99, dist.max) == (1.0, 50.0, 99.0, 100.0)
    assert percentile([3.0], 0.99) == 3.0 and Distribution.of([]) is None


def test_targets_parse_and_print_both_families():
    assert str(Target.parse("[::1]:80")) == "[::1]:80"
    assert Target.parse("localhost:1").is_loopback()
    assert not Target.parse("192.0.2.1:80").is_loopback()


def test_a_spec_of_a_parameter_object_is_parsed_once_and_names_its_kind():
    params = SlowlorisParams(interval=0.5, hold=3.0)
    spec = ClientSpec.of(params, count=2)
    assert spec == ClientSpec(kind="slowloris", params={"interval": 0.5, "hold": 3.0}, count=2)
    assert spec.parsed() == params and spec.parsed() is spec.parsed()
    with pytest.raises(ValueError, match="params"):
        ClientSpec.of(FaultParams())
