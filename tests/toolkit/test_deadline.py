"""The deadline bookkeeping, with plain numbers for time: no sockets, no sleeping."""

from __future__ import annotations

import pytest

from toolkit.deadline import Deadlines, Phase
from toolkit.errors import IdleTimeout, RequestTimeout, RequestTooLarge, WriteTimeout


def make(since: float = 0.0) -> Deadlines:
    return Deadlines(
        idle_timeout=1.0, request_timeout=3.0, write_timeout=2.0, max_bytes=100, since=since
    )


def test_waiting_for_a_request_is_bounded_by_idle_timeout_only() -> None:
    d = make(since=10.0)
    assert d.read_timeout(10.0) == (1.0, IdleTimeout)
    assert d.awaiting


def test_the_idle_clock_runs_from_the_accept_not_from_the_first_read() -> None:
    d = make(since=10.0)
    assert d.read_timeout(10.6) == (pytest.approx(0.4), IdleTimeout)  # 0.6 s spent queued
    assert d.read_timeout(12.0) == (0.0, IdleTimeout)  # only what already arrived may be read


def test_request_deadline_counts_from_the_first_byte_however_bytes_trickle() -> None:
    d = make(since=10.0)
    d.read_timeout(10.0)
    assert d.bytes_read(10.0, 1) is True
    assert d.read_timeout(10.5) == (pytest.approx(0.5), IdleTimeout)  # idle since the last byte
    d.bytes_read(11.4, 1)
    d.bytes_read(12.3, 1)
    timeout, error = d.read_timeout(12.3)
    assert error is RequestTimeout
    assert timeout == pytest.approx(0.7)
    with pytest.raises(RequestTimeout):
        d.read_timeout(13.0)


def test_size_cap_counts_the_whole_request() -> None:
    d = make()
    d.read_timeout(0.0)
    d.bytes_read(0.0, 60)
    with pytest.raises(RequestTooLarge):
        d.bytes_read(0.1, 41)


def test_write_deadline_is_total_from_the_first_write() -> None:
    d = make()
    d.read_timeout(0.0)
    d.bytes_read(0.0, 10)
    assert d.write_timeout(5.0) == pytest.approx(2.0)
    assert d.phase is Phase.WRITING
    assert d.write_timeout(6.5) == pytest.approx(0.5)
    with pytest.raises(WriteTimeout):
        d.write_timeout(7.0)


def test_next_read_after_a_response_starts_a_fresh_request() -> None:
    d = make()
    d.read_timeout(0.0)
    d.bytes_read(0.0, 90)
    d.write_timeout(0.1)
    d.bytes_written(0.1)
    assert d.read_timeout(0.3) == (pytest.approx(0.8), IdleTimeout)  # idle since the response
    assert d.bytes_read(50.0, 90) is True  # the size cap is per request


def test_request_done_stops_the_request_clock() -> None:
    d = make()
    d.read_timeout(0.0)
    d.bytes_read(0.0, 1)
    d.request_done()
    assert d.phase is Phase.PROCESSING
    # Work between request and response is not charged to either deadline.
    assert d.write_timeout(100.0) == pytest.approx(2.0)
