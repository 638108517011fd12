"""The connection state machine, with plain numbers for time: no sockets, no sleeping."""

from __future__ import annotations

import pytest

from toolkit import CloseReason, RequestTooLarge, ServerConfig
from toolkit.state import LINGER_TIMEOUT, ConnectionState, Phase, Place

CONFIG = ServerConfig(
    idle_timeout=1.0,
    request_timeout=3.0,
    write_timeout=2.0,
    queue_timeout=0.5,
    max_request_bytes=100,
)
IDLE, REQUEST, WRITE, QUEUE = (
    CloseReason.IDLE_TIMEOUT,
    CloseReason.REQUEST_TIMEOUT,
    CloseReason.WRITE_TIMEOUT,
    CloseReason.REJECTED_QUEUE_TIMEOUT,
)


def on_worker(accepted: float = 0.0) -> ConnectionState:
    state = ConnectionState(CONFIG, accepted)
    state.queued(accepted)
    state.taken(accepted)
    return state


def test_waiting_for_a_request_is_bounded_by_idle_timeout_from_the_accept() -> None:
    state = on_worker(accepted=10.0)
    assert state.phase is Phase.AWAITING and state.awaiting
    assert state.reading(10.6) == (11.0, IDLE)  # the 0.6 s spent before the read counts
    assert state.next_deadline() == (11.0, IDLE)


def test_request_deadline_counts_from_the_first_byte_however_bytes_trickle() -> None:
    state = on_worker(accepted=10.0)
    assert state.received(10.0, 1) is True  # the connection's first byte
    assert state.reading(10.5) == (11.0, IDLE)  # idle since the last byte
    state.received(10.9, 1)
    state.received(11.8, 1)
    state.received(12.7, 1)
    assert state.reading(12.7) == (13.0, REQUEST)  # 3 s from the first byte, not the last
    assert state.first_byte == 10.0 and state.bytes_in == 4


def test_size_cap_counts_the_whole_request_and_the_budget_stops_one_past_it() -> None:
    state = on_worker()
    state.received(0.0, 60)
    assert state.receive_budget() == 41  # reading 41 more proves the request too large
    with pytest.raises(RequestTooLarge):
        state.received(0.1, 41)


def test_each_response_has_its_own_write_deadline() -> None:
    state = on_worker()
    state.received(0.0, 10)
    state.request_complete()
    assert state.phase is Phase.PROCESSING
    assert state.next_deadline() is None  # the app's own time is not the client's to bound
    assert state.writing(5.0) == 7.0
    assert state.phase is Phase.WRITING and state.next_deadline() == (7.0, WRITE)
    state.wrote(6.5, 100)
    assert state.writing(6.5) == 7.0  # the same response: the clock runs on
    state.response_complete(carried=5)  # a pipelined request was read along with it
    assert state.responses == 1
    assert state.writing(9.0) == 11.0  # the next response starts its own clock


def test_carried_bytes_start_the_next_request_when_they_arrived() -> None:
    state = on_worker()
    state.received(4.0, 40)  # request N and the first bytes of N+1 in one read
    state.request_complete()
    state.writing(4.1)
    state.wrote(4.1, 20)
    state.response_complete(carried=7)
    assert state.phase is Phase.READING and not state.awaiting
    assert state.request_bytes == 7
    assert state.reading(4.2) == (5.1, IDLE)  # idle from the response, request from 4.0
    state.received(5.0, 1)
    state.received(5.9, 1)
    state.received(6.8, 1)
    assert state.reading(6.8) == (7.0, REQUEST)


def test_after_a_response_the_connection_awaits_idle_from_the_last_write() -> None:
    state = on_worker()
    state.received(0.0, 90)
    state.writing(0.1)
    state.wrote(0.3, 10)
    state.response_complete()
    assert state.awaiting and state.reading(0.4) == (1.3, IDLE)
    assert state.received(50.0, 90) is False  # the size cap is per request; not the first byte


def test_an_interim_response_leaves_the_request_open_and_starts_no_response_clock() -> None:
    state = on_worker()
    state.received(0.0, 10)
    assert state.interim_deadline(0.5) == 2.5
    state.wrote(0.5, 25)
    assert state.phase is Phase.READING and state.reading(0.6) == (1.5, IDLE)
    state.received(1.0, 5)
    state.request_complete()
    assert state.writing(9.0) == 11.0


def test_a_session_serving_several_requests_per_call_still_gets_a_clock_per_request() -> None:
    state = on_worker()
    state.received(0.0, 5)
    state.writing(0.0)  # an answer ends the request even without request_complete
    state.wrote(0.1, 5)
    assert state.reading(0.2) == (1.1, IDLE)  # reading again: the next request
    state.received(0.5, 5)
    assert state.responses == 1
    assert state.writing(10.0) == 12.0


def test_parked_deadline_is_the_read_deadline() -> None:
    state = ConnectionState(CONFIG, 0.0)
    state.parked()
    assert state.next_deadline() == (1.0, IDLE)
    state.received(0.9, 3)
    assert state.next_deadline() == (1.9, IDLE)  # the idle clock restarts at every byte
    assert state.expired(1.8) is None
    assert state.expired(1.9) is IDLE


def test_a_queued_connection_waits_queue_timeout_and_is_cut_earlier_only_if_silent() -> None:
    silent = ConnectionState(ServerConfig(idle_timeout=0.2, queue_timeout=5.0), 0.0)
    silent.queued(0.0)
    assert silent.next_deadline() == (0.2, IDLE)
    silent.input_waiting()  # it has spoken, though nothing was read yet
    assert silent.next_deadline() == (5.0, QUEUE)
    ready = ConnectionState(CONFIG, 0.0)
    ready.parked()
    ready.received(0.4, 10)
    ready.queued(0.6)
    assert ready.next_deadline() == (1.1, QUEUE)  # no read deadline while a worker is awaited


def test_worker_time_totals_and_longest_hold() -> None:
    state = ConnectionState(CONFIG, 0.0)
    assert state.taken(1.0) is True
    state.released(1.5)
    state.parked()
    assert state.taken(3.0) is False  # only the first take is the dispatch
    state.released(3.2)
    assert (state.worker_time, state.worker_longest) == (pytest.approx(0.7), 0.5)


def test_close_happens_once_and_ends_the_hold_then_lingers_to_its_deadline() -> None:
    state = on_worker(accepted=0.0)
    assert state.close(2.0, CloseReason.TOO_LARGE) is True
    assert state.close(2.1, CloseReason.RESET) is False
    assert state.reason is CloseReason.TOO_LARGE and state.worker_longest == 2.0
    assert state.place is Place.CLOSED and state.next_deadline() is None
    state.lingering()
    assert state.next_deadline() == (2.0 + LINGER_TIMEOUT, CloseReason.TOO_LARGE)


def test_clean_close_reason_depends_on_whether_anything_was_answered() -> None:
    state = on_worker()
    assert state.clean_close_reason() is CloseReason.PEER_CLOSED
    state.received(0.0, 1)
    state.writing(0.0)
    state.response_complete()
    assert state.clean_close_reason() is CloseReason.COMPLETED
