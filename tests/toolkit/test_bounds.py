"""The bounds table, proven row by row in both dispatch modes and with both HTTP parsers: each
scripted hostile client holds its slot and a worker no longer than `toolkit.bounds` says, and
ends as it should."""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from toolkit import DISPATCH_MODES, HTTP_PARSERS, CloseReason, Server, ServerConfig
from toolkit.bounds import BEHAVIOURS, bound, bounds_for, markdown

from .conftest import TOLERANCE
from .hostile import SCRIPTS, Outcome

# Short deadlines, each a different length so a bound that sums the wrong ones shows.
CONFIG = {
    "idle_timeout": 0.25,
    "request_timeout": 0.5,
    "write_timeout": 0.3,
    "queue_timeout": 0.4,
    # A worker for each behaviour: they all run at once, and none may wait for another.
    "workers": 8,
    "max_pending": 8,
}
ENDS = {
    "never-sends": {CloseReason.IDLE_TIMEOUT},
    "trickles-head": {CloseReason.REQUEST_TIMEOUT},
    "trickles-body": {CloseReason.REQUEST_TIMEOUT},
    "never-reads": {CloseReason.WRITE_TIMEOUT},
    "body-never-reads": {CloseReason.WRITE_TIMEOUT},
    "pipelining": {CloseReason.REQUEST_TIMEOUT},
    "half-close": {CloseReason.COMPLETED},
    "reset": {CloseReason.RESET, CloseReason.PEER_CLOSED},
}
ANSWERS = {
    "trickles-head": [408],
    "trickles-body": [408],
    "pipelining": [200, 200, 200, 408],
    "half-close": [200],
}


def statuses(answer: bytes) -> list[int]:
    return [int(code) for code in re.findall(rb"HTTP/1\.1 (\d{3}) ", answer)]


# Dispatch and parser are separate layers, so not every pair is run: each dispatch mode with
# the default parser, and each other parser with readiness, where the parser also tells the
# I/O thread when a head is whole (the blocking reads of on-accept are in test_http, per parser).
PAIRS = [(d, HTTP_PARSERS[0]) for d in DISPATCH_MODES]
PAIRS += [("readiness", p) for p in HTTP_PARSERS[1:]]


@pytest.mark.parametrize(("dispatch", "parser"), PAIRS)
def test_every_hostile_client_holds_a_slot_and_a_worker_no_longer_than_its_bound(
    make_server: Callable[..., Server], dispatch: str, parser: str
) -> None:
    # One client per behaviour, all at once on one server: each is judged on its own record,
    # and the run lasts as long as the slowest row, not the sum of the rows.
    server = make_server(dispatch=dispatch, http_parser=parser, **CONFIG)
    with ThreadPoolExecutor(len(BEHAVIOURS)) as pool:
        ran = pool.map(lambda b: SCRIPTS[b](server), BEHAVIOURS)
        outcomes = dict(zip(BEHAVIOURS, ran, strict=True))
    judged = {b: _broken(server, dispatch, b, o) for b, o in outcomes.items()}
    broken = [f"{b}: {why}" for b, why in judged.items() if why is not None]
    assert not broken, broken


def _broken(server: Server, dispatch: str, behaviour: str, outcome: Outcome) -> str | None:
    """How ``outcome`` breaks ``behaviour``'s row of the bounds table, or None."""
    row = bound(dispatch, behaviour)
    record = outcome.record
    if record.reason not in ENDS[behaviour]:
        return f"ended {record.reason}"
    if behaviour in ANSWERS and statuses(outcome.answer) != ANSWERS[behaviour]:
        return f"answered {outcome.answer!r}"
    slot = row.slot.seconds(server.config, work=outcome.work)
    if slot is not None and outcome.slot > slot + TOLERANCE:
        return f"slot held {outcome.slot:.3f} s > {row.slot.formula()}"
    held = record.worker_longest
    if row.since == "reset" and record.dispatched is not None:
        held -= outcome.since - record.dispatched  # the hold before the reset is not its
    worker = row.worker.seconds(server.config, work=outcome.work)
    if worker is not None and held > worker + TOLERANCE:
        return f"worker held {held:.3f} s > {row.worker.formula()}"
    if behaviour == "pipelining":
        # No total bound, but the last request is cut at request_timeout from its first
        # byte; with readiness, no worker waited while a request was incomplete.
        if outcome.slot > CONFIG["request_timeout"] + TOLERANCE:
            return f"last request held {outcome.slot:.3f} s"
        if dispatch == "readiness" and record.worker_longest >= TOLERANCE:
            return f"a worker waited {record.worker_longest:.3f} s for a request"
        if record.responses != 3:
            return f"{record.responses} responses"
    return None


def test_bounds_for_turns_each_row_into_seconds() -> None:
    config = ServerConfig(dispatch="readiness", **CONFIG)  # type: ignore[arg-type]
    table = bounds_for(config, work=0.1)
    assert table["never-sends"] == (0.25, 0.0)
    assert table["trickles-head"] == (pytest.approx(0.75), 0.0)
    assert table["body-never-reads"] == (pytest.approx(1.55), pytest.approx(0.9))
    assert table["pipelining"] == (None, pytest.approx(0.4))
    on_accept = bounds_for(ServerConfig(dispatch="on-accept", **CONFIG))  # type: ignore[arg-type]
    assert on_accept["never-sends"] == (0.25, 0.25) and on_accept["pipelining"] == (None, None)


def test_the_readme_shows_the_bounds_table() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert markdown() in readme
