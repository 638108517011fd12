"""Segments split a plan into disjoint parts, whoever computes them; merging their results
gives back the one-process result. Pure: no sockets."""

from __future__ import annotations

import dataclasses
import itertools
import json
from fractions import Fraction

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from chaos import ChaosResult, ClientRecord, ClientSpec, Outcome, Plan
from chaos.engine.segment import WHOLE, Segment, position, uncovered
from chaos.engine.sources import PortLimitError, choose_sources
from chaos.merge import merge, shifted
from chaos.runner import clients_in, plan_groups

PORTS = (40000, 40999)  # a range of 1,000 ports, so the numbers below stay small


def test_positions_are_the_van_der_corput_sequence():
    assert [position(i) for i in range(8)] == [Fraction(n, 8) for n in (0, 4, 2, 6, 1, 5, 3, 7)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0/4", (0, Fraction(1, 4))),
        ("3/4", (Fraction(3, 4), 1)),
        ("1/4:1/2", (Fraction(1, 4), Fraction(1, 2))),
        ("0:1", (0, 1)),
    ],
)
def test_segments_parse_as_index_of_parts_or_as_a_fraction_range(text, expected):
    segment = Segment.parse(text)
    assert (segment.start, segment.end) == expected
    assert Segment.parse(str(segment)) == segment


@pytest.mark.parametrize("text", ["4/4", "1/0", "a/b", "1/2:1/4", "0:3/2", "", "2"])
def test_bad_segments_name_the_field(text):
    with pytest.raises(ValueError, match="segment"):
        Segment.parse(text)


cuts = st.lists(
    st.fractions(min_value=0, max_value=1, max_denominator=64), min_size=0, max_size=6
).map(lambda xs: sorted({Fraction(0), Fraction(1), *xs}))


@given(cuts, st.integers(1, 400))
def test_any_tiling_puts_every_client_in_exactly_one_segment(bounds, clients):
    tiles = [Segment(a, b) for a, b in itertools.pairwise(bounds)]
    assert uncovered(tiles) == ([], [])
    owners = [[t for t in tiles if t.holds(i)] for i in range(clients)]
    assert all(len(o) == 1 for o in owners)
    # Evenly spread: each segment holds its share of any prefix, give or take a few.
    for tile in tiles:
        mine = sum(1 for o in owners if o[0] is tile)
        assert abs(mine - float(tile.end - tile.start) * clients) <= 2 + clients.bit_length()


def test_equal_parts_are_even_to_one_client_and_split_each_spec():
    plan = Plan(
        clients=[ClientSpec(kind="flood", count=1001), ClientSpec(kind="probe", count=7)],
        horizon=5,
    )
    parts = WHOLE.split(4)
    counts = clients_in(plan, parts)
    assert sum(counts) == 1008 and max(counts) - min(counts) <= 1
    for part in parts:
        flood, probes = plan_groups(plan, part)
        assert 250 <= len(flood.positions) <= 251 and 1 <= len(probes.positions) <= 2
        assert probes.first == 1001


def test_uncovered_names_gaps_and_overlaps():
    gaps, overlaps = uncovered(
        [Segment.parse("0/4"), Segment.parse("1/4:3/4"), Segment.parse("1/2:1")]
    )
    assert gaps == [] and overlaps == [Segment.parse("1/2:3/4")]
    gaps, _ = uncovered([Segment.parse("0/4"), Segment.parse("3/4")])
    assert gaps == [Segment.parse("1/4:3/4")]


def a_result() -> ChaosResult:
    """A one-process result with every kind of record: several sessions per client, probes."""
    plan = Plan(
        clients=[
            ClientSpec(kind="flood", params={"hold": 1.0, "replace": True}, count=12),
            ClientSpec(kind="probe", params={"repeat": 2}, count=3),
            ClientSpec(kind="never_send", count=5),
        ],
        horizon=10,
        seed=3,
    )
    records = []
    for index in range(20):
        kind = "flood" if index < 12 else "probe" if index < 15 else "never_send"
        for generation in range(1 + index % 3 if kind != "never_send" else 1):
            start = 100.0 + index * 0.01 + generation
            records.append(
                ClientRecord(
                    kind=kind,
                    index=index,
                    local_port=1000 + index,
                    started=start,
                    connected=start + 0.001,
                    server_eof=start + 0.2 + index / 100 if index % 2 else None,
                    closed=start + 0.5,
                    outcome=Outcome.CLOSED_BY_SERVER if index % 2 else Outcome.HELD_TO_END,
                    status=200 if kind == "probe" else None,
                    detail={"generation": generation, "available": index % 3 == 0},
                )
            )
    return ChaosResult(
        plan=plan, records=records, started=100.0, ended=112.0, target="127.0.0.1:1", notes=["x"]
    )


def split(result: ChaosResult, parts: list[Segment], shift: float = 0.0) -> list[ChaosResult]:
    """``result`` as its segments would have left it, each started ``shift`` s apart."""
    out = []
    for number, part in enumerate(parts):
        offset = number * shift
        out.append(
            dataclasses.replace(
                result,
                records=tuple(shifted(r, offset) for r in result.records if part.holds(r.index)),
                started=result.started + offset,
                ended=result.ended + offset,
                segment=part,
            )
        )
    return out


@pytest.mark.parametrize("parts", [1, 2, 4, 3])
def test_merging_the_segments_of_a_result_gives_back_the_result(parts):
    whole = a_result()
    merged = merge(split(whole, WHOLE.split(parts)))
    assert merged == whole
    assert merged.counts == whole.counts
    assert merged.closed_after == whole.closed_after and merged.probe == whole.probe
    assert [r.index for r in merged.records] == [r.index for r in whole.records]


def test_segments_from_hosts_with_other_clocks_are_aligned_on_their_start():
    whole = a_result()
    merged = merge(list(reversed(split(whole, WHOLE.split(4), shift=5000.0))))
    assert merged.ended == pytest.approx(whole.ended)
    assert len(merged.records) == len(whole.records)
    for got, want in zip(merged.records, whole.records, strict=True):
        assert (got.index, got.detail) == (want.index, want.detail)
        for name in ("started", "connected", "server_eof", "closed"):
            assert getattr(got, name) == pytest.approx(getattr(want, name), abs=1e-6)


def test_merge_round_trips_through_json_and_refuses_what_does_not_fit():
    whole = a_result()
    pieces = split(whole, WHOLE.split(4))
    again = [ChaosResult.from_json(json.dumps(p.to_json())) for p in pieces]
    assert merge(again) == whole
    assert merge(pieces[:2]).segment == Segment.parse("0:1/2")
    with pytest.raises(ValueError, match="no result covers 1/4:1/2"):
        merge([pieces[0], pieces[2]])
    with pytest.raises(ValueError, match="more than one result"):
        merge([pieces[0], pieces[0]])
    other = dataclasses.replace(pieces[1], plan=dataclasses.replace(whole.plan, seed=4))
    with pytest.raises(ValueError, match="another plan"):
        merge([pieces[0], other])
    with pytest.raises(ValueError, match="nothing"):
        merge([])


def test_a_loopback_plan_past_one_address_is_spread_and_a_remote_one_refused():
    import socket

    assert choose_sources(socket.AF_INET, "127.0.0.1", 500, ports=PORTS).addresses == ()
    spread = choose_sources(socket.AF_INET, "127.0.0.1", 1800, ports=PORTS)
    assert spread.addresses == ("127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4")
    assert [spread.of(i) for i in range(5)] == [*spread.addresses, "127.0.0.1"]
    with pytest.raises(
        PortLimitError, match=r"1,800 connections.*1,000 ephemeral ports.*at least 2"
    ):
        choose_sources(socket.AF_INET, "192.0.2.1", 1800, ports=PORTS)
    given = choose_sources(socket.AF_INET, "192.0.2.1", 1800, ["10.0.0.1", "10.0.0.2"], ports=PORTS)
    assert given.addresses == ("10.0.0.1", "10.0.0.2")
    with pytest.raises(PortLimitError, match=r"\[?::1"):
        choose_sources(socket.AF_INET6, "::1", 1800, ports=PORTS)
    with pytest.raises(ValueError, match="source"):
        choose_sources(socket.AF_INET, "127.0.0.1", 1, ["::1"], ports=PORTS)


@given(
    st.fractions(min_value=0, max_value=1, max_denominator=1000),
    st.fractions(min_value=0, max_value=1, max_denominator=1000),
    st.integers(min_value=0, max_value=2**40),
)
def test_holds_places_a_client_as_its_position_does(a: Fraction, b: Fraction, index: int) -> None:
    assume(a != b)
    segment = Segment(min(a, b), max(a, b))
    assert segment.holds(index) == (segment.start <= position(index) < segment.end)
    plan = Plan(clients=[ClientSpec(kind="flood", count=40)], horizon=1.0)
    assert clients_in(plan, [segment]) == [
        sum(segment.start <= position(i) < segment.end for i in range(40))
    ]
