"""Every row of the toolkit's bounds table as scripted clients, and the judge of one such client.

:func:`example` is the plain script of a row (the property tests' explicit example);
:func:`behaviour_scripts` draws the row's variations for Hypothesis: split or trickled in
other pieces and paces, late or early, with HEAD, ``Expect: 100-continue``, pipelining, and
what else keeps the client inside the row. Every pace is a fraction of the server's idle
timeout, so only the deadline the row is about can end the client. :func:`judge` holds one
client, by the server's record of it, to what :mod:`toolkit.bounds` allows its row: the slot
(accept or reset to close), the worker's longest hold, and for pipelining, where there is no
total bound, the longest stretch without an answer (idle + request) and, with readiness, no
worker waiting while the next request is incomplete.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from hypothesis import strategies as st

from toolkit import ConnectionRecord, ServerConfig
from toolkit.bounds import BEHAVIOURS, bound

from ..faults.scripted import ScriptedParams
from ..record import ClientRecord
from ..script.steps import (
    Part,
    Pause,
    Repeat,
    Reply,
    Reset,
    Send,
    Shut,
    Step,
    StopReading,
    Trickle,
    format_steps,
)
from ..script.strategies import DEFAULT_LARGE_PATH, Script
from .checker.violation import Violation

__all__ = ["ROW_RCVBUF", "Behaviour", "behaviour_scripts", "example", "judge", "params_for"]

# A non-reader's receive buffer: small, so the server's write blocks after a few kilobytes.
ROW_RCVBUF = 4096
# Bytes a trickle that must never end has to send: more than any request deadline lets it.
ENDLESS = 100_000
# Pieces of a body that trickles within its request deadline.
SHORT_BODY = 4


@dataclass(frozen=True)
class Behaviour:
    """A row's client: its script, and whether it reads what it is sent."""

    name: str
    script: Script

    @property
    def rcvbuf(self) -> int | None:
        return None if self.script.reads_promptly else ROW_RCVBUF


def _p(name: str, value: str | int | bytes | None = None) -> Part:
    return Part(name, value)


def _large(method: str = "GET") -> str:
    return f"{method} {DEFAULT_LARGE_PATH}"


# --- the plain script of each row, paced at a third of the idle timeout ----------------------


def _examples(idle: float) -> dict[str, tuple[Step, ...]]:
    pace = round(idle / 3, 6)
    return {
        "never-sends": (),
        "trickles-head": (
            Pause(round(idle / 2, 6)),  # the first byte comes late, inside idle
            Send((_p("line"), _p("literal", b"X-a: "))),
            Trickle((_p("body", ENDLESS),), pace),
        ),
        "trickles-body": (
            Send((_p("line", "POST"), _p("header"), _p("length", ENDLESS), _p("end"))),
            Trickle((_p("body", ENDLESS),), pace),
        ),
        "never-reads": (StopReading(), Send((_p("request", _large()),))),
        "body-never-reads": (
            StopReading(),
            Send((_p("line", _large("POST")), _p("header"), _p("length", SHORT_BODY), _p("end"))),
            Trickle((_p("body", SHORT_BODY),), pace),
        ),
        # Each request ends with the first byte of the next; the rest of it trickles. After
        # two such cycles the next request only ever trickles, until its request deadline.
        "pipelining": (
            Send((_p("request"), _p("next", 1))),
            Reply(),
            Trickle((_p("rest"),), round(pace / 4, 6)),
            Send((_p("end"), _p("next", 1))),
            Repeat(1, 3),
            Reply(),
            Trickle((_p("rest"), _p("body", ENDLESS)), pace),
        ),
        "half-close": (Send((_p("request"),)), Shut()),
        "reset": (Send((_p("line"), _p("header"))), Pause(pace), Reset()),
    }


def example(behaviour: str, config: ServerConfig) -> Behaviour:
    """The plain client of row ``behaviour`` for a server configured as ``config``."""
    scripts = _examples(config.idle_timeout)
    if behaviour not in scripts:
        raise ValueError(f"behaviour: expected one of {', '.join(BEHAVIOURS)}, got {behaviour!r}")
    return Behaviour(behaviour, Script(scripts[behaviour]))


# --- variations, for Hypothesis ----------------------------------------------------------------


def _fraction(idle: float, low: float, high: float) -> st.SearchStrategy[float]:
    """Seconds between ``low`` and ``high`` idle timeouts, in twentieths of one."""
    return st.integers(round(low * 20), round(high * 20)).map(lambda n: round(n * idle / 20, 6))


def _row_strategies(config: ServerConfig) -> dict[str, st.SearchStrategy[tuple[Step, ...]]]:
    idle, request = config.idle_timeout, config.request_timeout
    inside = _fraction(idle, 0.1, 0.5)  # a gap well inside idle
    size = st.sampled_from((1, 2, 4))

    @st.composite
    def head(draw: st.DrawFn, *, method: str = "GET", parts: tuple[Part, ...] = ()) -> list[Step]:
        """A whole head in one to three writes (cut after its line, before its end), each gap
        inside idle."""
        whole = (_p("line", method), _p("header"), *parts, _p("end"))
        cuts = draw(st.sampled_from(((), (1,), (1, len(whole) - 1))))
        bounds = [0, *cuts, len(whole)]
        steps: list[Step] = []
        for low, high in itertools.pairwise(bounds):
            if steps:
                steps.append(Pause(draw(inside)))
            steps.append(Send(whole[low:high]))
        return steps

    @st.composite
    def trickles_head(draw: st.DrawFn) -> tuple[Step, ...]:
        late = draw(_fraction(idle, 0.0, 0.5))
        prefix = [_p("line")] + [
            _p("header", f"X-{n}: {n}") for n in range(draw(st.integers(0, 3)))
        ]
        steps: list[Step] = [Pause(late)] if late else []
        steps.append(Trickle((*prefix, _p("literal", b"X-a: ")), draw(inside), draw(size)))
        steps.append(Trickle((_p("body", ENDLESS),), draw(inside), draw(size)))
        return tuple(steps)

    @st.composite
    def trickles_body(draw: st.DrawFn) -> tuple[Step, ...]:
        expect = draw(st.booleans())
        parts = (_p("length", ENDLESS), *((_p("expect"),) if expect else ()))
        steps = draw(head(method="POST", parts=parts))
        steps.append(Trickle((_p("body", ENDLESS),), draw(inside), draw(size)))
        return tuple(steps)

    @st.composite
    def never_reads(draw: st.DrawFn) -> tuple[Step, ...]:
        return (StopReading(), *draw(head(method=_large())))

    @st.composite
    def body_never_reads(draw: st.DrawFn) -> tuple[Step, ...]:
        body = draw(st.integers(1, SHORT_BODY))
        steps = [StopReading(), *draw(head(method=_large("POST"), parts=(_p("length", body),)))]
        # The whole body inside the request deadline: only the write deadline can end it.
        every = draw(_fraction(idle, 0.0, min(0.5, request / idle / (body + 1))))
        steps.append(Trickle((_p("body", body),), every))
        return tuple(steps)

    cycle: st.SearchStrategy[list[Step]] = st.one_of(
        st.builds(lambda g: [Send((_p("request"),)), Reply(), Pause(g)], inside),
        st.lists(st.sampled_from(("GET", "HEAD")), min_size=2, max_size=3).map(
            lambda ms: [Send(tuple(_p("request", None if m == "GET" else m) for m in ms))]
        ),
        # Requests chained: each ends in the same write as the next one's first byte, and
        # the rest of that one trickles (the pipelining pin, if a worker waits for it).
        st.builds(
            lambda e, s, more: [
                Send((_p("request"), _p("next", 1))),
                Trickle((_p("rest"),), e, s),
                *([Send((_p("end"), _p("next", 1))), Repeat(more, 2)] if more else []),
                *([Trickle((_p("rest"),), e, s)] if more else []),
                Send((_p("end"),)),
            ],
            _fraction(idle, 0.0, 0.3),
            st.sampled_from((4, 8, 16)),
            st.integers(0, 3),
        ),
    )

    @st.composite
    def pipelining(draw: st.DrawFn) -> tuple[Step, ...]:
        return tuple(s for c in draw(st.lists(cycle, min_size=1, max_size=4)) for s in c)

    @st.composite
    def half_close(draw: st.DrawFn) -> tuple[Step, ...]:
        method = draw(st.sampled_from(("GET", "HEAD")))
        return (*draw(head(method=method)), Shut())

    @st.composite
    def reset(draw: st.DrawFn) -> tuple[Step, ...]:
        before = draw(
            st.sampled_from(
                [
                    (),
                    (Send((_p("line"),)),),
                    (Send((_p("line"), _p("header"))),),
                    (Send((_p("request"),)),),
                    (Send((_p("request"), _p("next", 1))),),
                ]
            )
        )
        return (*before, Pause(draw(inside)), Reset())

    return {
        "never-sends": st.sampled_from([(), (StopReading(),)]),
        "trickles-head": trickles_head(),
        "trickles-body": trickles_body(),
        "never-reads": never_reads(),
        "body-never-reads": body_never_reads(),
        "pipelining": pipelining(),
        "half-close": half_close(),
        "reset": reset(),
    }


def behaviour_scripts(behaviour: str, config: ServerConfig) -> st.SearchStrategy[Behaviour]:
    """Clients of row ``behaviour`` for a server configured as ``config``."""
    table = _row_strategies(config)
    if behaviour not in table:
        raise ValueError(f"behaviour: expected one of {', '.join(BEHAVIOURS)}, got {behaviour!r}")
    return table[behaviour].map(lambda steps: Behaviour(behaviour, Script(steps)))


def params_for(client: Behaviour, *, hold: float) -> ScriptedParams:
    """The scripted client's parameters: its steps, its receive buffer, ``hold`` seconds."""
    return ScriptedParams(steps=format_steps(client.script.steps), rcvbuf=client.rcvbuf, hold=hold)


# --- the judge ---------------------------------------------------------------------------------


def judge(
    behaviour: str,
    config: ServerConfig,
    client: ClientRecord,
    server: ConnectionRecord,
    *,
    tolerance: float,
    work: float = 0.0,
) -> list[Violation]:
    """What ``server``'s record of ``client`` shows held longer than row ``behaviour`` allows."""
    row = bound(config.dispatch_mode, behaviour)
    name = f"{behaviour} port {server.peer_port}"
    out: list[Violation] = []
    since = server.accepted
    if row.since == "reset" and client.closed is not None and client.detail.get("aborted"):
        since = client.closed
    if server.closed is None:
        return [Violation("unclosed", name, "open", "closed with one reason")]
    slot = row.slot.seconds(config, work)
    if slot is not None and server.closed - since > slot + tolerance:
        out.append(Violation("slot", name, server.closed - since, slot, row.slot.formula()))
    held = server.worker_longest
    if row.since == "reset" and server.dispatched is not None and since > server.dispatched:
        held = max(0.0, held - (since - server.dispatched))  # the hold before the reset is not its
    worker = row.worker.seconds(config, work)
    if worker is not None and held > worker + tolerance:
        out.append(Violation("worker", name, held, worker, row.worker.formula()))
    if behaviour == "pipelining":
        # No total bound; but no stretch without an answer is longer than a silence and a
        # request, and with readiness no worker waits while the next request is incomplete.
        stalled = client.number("stalled")
        most = config.idle_timeout + config.request_timeout
        if stalled is not None and stalled > most + tolerance:
            out.append(Violation("stall", name, stalled, most, "idle + request"))
    return out
