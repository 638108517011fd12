"""The bounds table: how long each hostile client behaviour may hold a slot and a worker.

One declaration serves the README's table, the tests that prove each row in both dispatch
modes, and property tests that generate clients: `bounds_for(config)` turns each row's terms
into seconds. A slot is counted from the accept (or the reset) to the close the event log
records; a worker, as the longest continuous hold. After a close that sends a final status
the descriptor may linger `LINGER_TIMEOUT` more (`state.py`), outside the slot.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import DISPATCH_MODES, ServerConfig
from .state import LINGER_TIMEOUT

__all__ = ["BEHAVIOURS", "TERMS", "Bound", "Limit", "bound", "bounds_for", "markdown", "rows"]

# Each term is a ServerConfig field, or `work`: the app's own time per request (0 for
# http-hello, the delay for sleep), which no client behaviour can stretch.
TERMS = {
    "idle_timeout": "idle",
    "request_timeout": "request",
    "write_timeout": "write",
    "queue_timeout": "queue",
    "work": "work",
}

BEHAVIOURS = {
    "never-sends": "connects and never sends",
    "trickles-head": "trickles its request head",
    "trickles-body": "sends a head, then trickles the body",
    "never-reads": "sends a request, never reads the (large) response",
    "body-never-reads": "sends a head and a body, never reads the response",
    "pipelining": "keeps alive or pipelines in any pattern, e.g. the end of one request with "
    "the first byte of the next, then a trickle",
    "half-close": "sends a request and shuts its sending side",
    "reset": "resets the connection (RST) at any point",
}


@dataclass(frozen=True, slots=True)
class Limit:
    """A sum of terms (empty: zero), or None for no total bound; `note` says what still holds."""

    terms: tuple[str, ...] | None
    note: str = ""

    def seconds(self, config: ServerConfig, work: float = 0.0) -> float | None:
        if self.terms is None:
            return None
        return sum(work if t == "work" else float(getattr(config, t)) for t in self.terms)

    def formula(self) -> str:
        if self.terms is None:
            text = "no total bound"
        else:
            text = " + ".join(TERMS[t] for t in self.terms) or "0"
        return f"{text} ({self.note})" if self.note else text


@dataclass(frozen=True, slots=True)
class Bound:
    """One row for one dispatch mode: the longest hold of a slot and of a worker, counted from
    `since` ("accept", or "reset" for a client that resets)."""

    behaviour: str
    dispatch: str
    slot: Limit
    worker: Limit
    since: str = "accept"


_PER_REQUEST = "each silence <= idle, each request <= request, each response <= write"
_SERVED = ("idle_timeout", "request_timeout", "queue_timeout", "work", "write_timeout")


def _row(
    behaviour: str,
    readiness: tuple[Limit, Limit],
    on_accept: tuple[Limit, Limit],
    since: str = "accept",
) -> None:
    for dispatch, (slot, worker) in (("readiness", readiness), ("on-accept", on_accept)):
        _ROWS[dispatch][behaviour] = Bound(behaviour, dispatch, slot, worker, since)


_ROWS: dict[str, dict[str, Bound]] = {mode: {} for mode in DISPATCH_MODES}
_row(
    "never-sends",
    (Limit(("idle_timeout",)), Limit(())),
    (Limit(("idle_timeout",)), Limit(("idle_timeout",))),
)
_row(
    "trickles-head",
    (Limit(("idle_timeout", "request_timeout")), Limit(())),
    (
        Limit(("idle_timeout", "queue_timeout", "request_timeout")),
        Limit(("idle_timeout", "request_timeout")),
    ),
)
_row(
    "trickles-body",
    (Limit(("idle_timeout", "request_timeout", "queue_timeout")), Limit(("request_timeout",))),
    (
        Limit(("idle_timeout", "queue_timeout", "request_timeout")),
        Limit(("idle_timeout", "request_timeout")),
    ),
)
_row(
    "never-reads",
    (Limit(_SERVED), Limit(("work", "write_timeout"))),
    (Limit(_SERVED), Limit(("idle_timeout", "request_timeout", "work", "write_timeout"))),
)
_row(
    "body-never-reads",
    (Limit(_SERVED), Limit(("request_timeout", "work", "write_timeout"))),
    (Limit(_SERVED), Limit(("idle_timeout", "request_timeout", "work", "write_timeout"))),
)
_row(
    "pipelining",
    (
        Limit(None, _PER_REQUEST),
        Limit(
            ("work", "write_timeout"),
            "per response already whole in the buffer, one at a time while other connections"
            " wait for a worker; none while the next request is incomplete",
        ),
    ),
    (Limit(None, _PER_REQUEST), Limit(None, "the whole connection: " + _PER_REQUEST)),
)
_row(
    "half-close",
    (Limit(_SERVED), Limit(("work", "write_timeout"))),
    (Limit(_SERVED), Limit(("idle_timeout", "request_timeout", "work", "write_timeout"))),
)
_AFTER_RESET = (
    Limit(("queue_timeout",), "from the reset; 0 unless it waits for a worker"),
    Limit((), "from the reset"),
)
_row("reset", _AFTER_RESET, _AFTER_RESET, since="reset")


def rows(dispatch: str) -> tuple[Bound, ...]:
    """Every row for `dispatch` ("readiness" or "on-accept"), in the README's order."""
    return tuple(_ROWS[dispatch][behaviour] for behaviour in BEHAVIOURS)


def bound(dispatch: str, behaviour: str) -> Bound:
    """The row for `behaviour` (a key of BEHAVIOURS) under `dispatch`."""
    return _ROWS[dispatch][behaviour]


def bounds_for(
    config: ServerConfig, *, work: float = 0.0
) -> dict[str, tuple[float | None, float | None]]:
    """Behaviour -> (slot seconds, worker seconds) under `config` (None: no total bound)."""
    return {
        row.behaviour: (row.slot.seconds(config, work), row.worker.seconds(config, work))
        for row in rows(config.dispatch_mode)
    }


def markdown() -> str:
    """The README's table, drawn from the rows above."""
    lines = [
        "| client behaviour | readiness: slot | readiness: worker | on-accept: slot "
        "| on-accept: worker |",
        "|---|---|---|---|---|",
    ]
    for behaviour, what in BEHAVIOURS.items():
        ready, accept = _ROWS["readiness"][behaviour], _ROWS["on-accept"][behaviour]
        cells = [what, ready.slot.formula(), ready.worker.formula()]
        cells += [accept.slot.formula(), accept.worker.formula()]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append(
        f"\nAfter a final status (408, 413, 400, 503) the descriptor lingers up to "
        f"{LINGER_TIMEOUT:g} s more, draining,\noutside the slot."
    )
    return "\n".join(lines)
