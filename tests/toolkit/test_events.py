from __future__ import annotations

import threading

from toolkit import CloseReason, EventLog


def test_each_connection_closes_once_and_a_second_close_is_counted_as_a_bug() -> None:
    log = EventLog()
    conn = log.accepted(("127.0.0.1", 5000))
    log.admitted(conn)
    assert log.closed(conn, CloseReason.COMPLETED, 10, 20) is True
    assert log.closed(conn, CloseReason.RESET) is False
    stats = log.stats()
    assert stats.closed == 1
    assert stats.duplicate_closes == 1
    assert stats.reasons == {"completed": 1}
    (record,) = log.records()
    assert record.reason is CloseReason.COMPLETED
    assert (record.bytes_in, record.bytes_out, record.peer_port) == (10, 20, 5000)
    assert record.accepted <= record.admitted <= record.closed  # type: ignore[operator]


def test_counters_survive_records_rolling_off() -> None:
    log = EventLog(capacity=3)
    for i in range(10):
        conn = log.accepted(("127.0.0.1", i))
        log.closed(conn, CloseReason.IDLE_TIMEOUT)
    assert len(log.records()) == 3
    assert [r.peer_port for r in log.records()] == [7, 8, 9]
    stats = log.stats()
    assert (stats.accepted, stats.closed, stats.reasons["idle_timeout"]) == (10, 10, 10)


def test_rejected_connections_never_count_as_open() -> None:
    log = EventLog()
    conn = log.accepted(("127.0.0.1", 1))
    log.closed(conn, CloseReason.REJECTED_OVERLOAD)
    stats = log.stats()
    assert (stats.open, stats.max_open) == (0, 0)


def test_gauges_keep_high_water_marks() -> None:
    log = EventLog()
    for _ in range(3):
        log.gauge("busy", 1)
    log.gauge("busy", -2)
    stats = log.stats()
    assert (stats.busy, stats.max_busy) == (1, 3)


def test_a_gauge_counted_elsewhere_is_read_with_the_stats_and_wakes_its_waiters() -> None:
    log = EventLog()
    counted = {"value": 0, "peak": 0}
    log.count_elsewhere("parked", lambda: (counted["value"], counted["peak"]))

    def park_two_take_one() -> None:
        counted.update(value=2, peak=2)
        log.moved()
        counted.update(value=1)
        log.moved()

    threading.Timer(0.02, park_two_take_one).start()
    assert log.wait_for(lambda s: s.parked == 1, timeout=5.0)
    stats = log.stats()
    assert (stats.parked, stats.max_parked) == (1, 2)
    counted.update(value=3)  # read between the move and its mark's: the mark is never behind
    stats = log.stats()
    assert (stats.parked, stats.max_parked) == (3, 3)


def test_wait_for_wakes_on_change() -> None:
    log = EventLog()
    conn = log.accepted(("127.0.0.1", 1))
    threading.Timer(0.02, log.closed, args=(conn, CloseReason.COMPLETED)).start()
    assert log.wait_for(lambda s: s.closed == 1, timeout=5.0)
    assert not log.wait_for(lambda s: s.closed == 2, timeout=0.02)


def test_concurrent_logging_loses_nothing() -> None:
    log = EventLog(capacity=10)

    def churn() -> None:
        for _ in range(500):
            conn = log.accepted(("127.0.0.1", 1))
            log.admitted(conn)
            log.closed(conn, CloseReason.COMPLETED)

    threads = [threading.Thread(target=churn) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    stats = log.stats()
    assert (stats.accepted, stats.closed, stats.open) == (2000, 2000, 0)
    assert stats.reasons == {"completed": 2000}
