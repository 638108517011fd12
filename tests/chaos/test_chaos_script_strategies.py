"""The script strategies: every drawn script is valid data that round-trips, and the moves
generate what a hostile HTTP client does (pipelining, split heads, HEAD, 100-continue,
bodies, malformed bytes), checked on the bytes they render to."""

from __future__ import annotations

import random

import h11
import pytest
from hypothesis import Phase, find, given, settings

from chaos.faults import ScriptedParams
from chaos.script import expand, format_steps, parse_steps
from chaos.script.grammar import Composer, grammar_for
from chaos.script.strategies import Script, scripts
from chaos.testing.strategies import fault_params


def wire(script: Script) -> bytes:
    """Everything the script sends, rendered as its client would."""
    composer = Composer(grammar_for("http"), "h", random.Random(0))
    return b"".join(
        composer.join(step.parts) for step in expand(script.steps) if hasattr(step, "parts")
    )


def requests(data: bytes) -> tuple[list[h11.Request], bool]:
    """The requests an h11 server reads from ``data``, and whether it refused what followed."""
    server, found = h11.Connection(h11.SERVER), []
    server.receive_data(data)
    try:
        for _ in range(64):  # bounded: a script renders a handful of requests
            event = server.next_event()
            if event is h11.NEED_DATA or event is h11.PAUSED:
                break
            if isinstance(event, h11.Request):
                found.append(event)
            elif isinstance(event, h11.EndOfMessage):
                server.send(h11.Response(status_code=200, headers=[("Content-Length", "0")]))
                server.send(h11.EndOfMessage())
                if server.our_state is not h11.DONE or server.their_state is not h11.DONE:
                    break
                server.start_next_cycle()
    except (h11.RemoteProtocolError, h11.LocalProtocolError):
        return found, True
    return found, False


@given(scripts(tick=0.01))
def test_every_drawn_script_is_a_valid_plan_parameter_that_round_trips(script: Script) -> None:
    text = format_steps(script.steps)
    assert parse_steps(text) == script.steps
    assert ScriptedParams(steps=text).script == script.steps
    assert sum(script.moves) == len(script.steps)  # which steps each drawn move is


def test_a_script_without_some_steps_keeps_the_moves_they_were_part_of() -> None:
    steps = parse_steps("send junk=1; send request next=1; pause 1; send rest end next=1; shut")
    script = Script(steps, (1, 3, 1))
    assert script.spans == [(0, 1), (1, 3), (4, 1)]
    assert script.without(1, 3) == Script((steps[0], steps[4]), (1, 1))
    assert script.without(2) == Script((*steps[:2], *steps[3:]), (1, 2, 1))
    assert script.without(0, 2) == Script(steps[2:], (2, 1))
    with pytest.raises(ValueError, match=r"moves: .* do not add up to 5 steps"):
        Script(steps, (1, 1))


def _pinned(s: Script) -> bool:
    """Two requests whole, with the first byte of a third sent in the same write as the
    second's end."""
    text = format_steps(s.steps)
    return "end next=" in text and len(requests(wire(s))[0]) >= 2


FEATURES = {
    "pipelining": _pinned,
    "split head": lambda s: (
        sum(1 for st in s.steps if type(st).__name__ == "Pause") >= 2
        and "send line;" in format_steps(s.steps) + ";"
    ),
    "HEAD": lambda s: any(r.method == b"HEAD" for r in requests(wire(s))[0]),
    "100-continue": lambda s: any(
        (b"expect", b"100-continue") in r.headers for r in requests(wire(s))[0]
    ),
    "a body": lambda s: any(
        (b"content-length", b"1000") in r.headers for r in requests(wire(s))[0]
    ),
    "malformed": lambda s: requests(wire(s))[1],
}


# The moves that make each feature (the whole mix makes them too, only more slowly).
MOVES = {
    "pipelining": ("pin", "whole"),
    "split head": ("split",),
    "HEAD": ("whole", "burst"),
    "100-continue": ("body",),
    "a body": ("whole", "body"),
    "malformed": ("malformed", "whole"),
}
FIRST = settings(database=None, phases=(Phase.generate,), max_examples=500)


@pytest.mark.parametrize("feature", list(FEATURES))
def test_the_strategies_generate(feature: str) -> None:
    found = find(scripts(tick=0.01, only=MOVES[feature]), FEATURES[feature], settings=FIRST)
    assert FEATURES[feature](found)


def test_plans_drawn_for_the_property_suite_include_scripted_clients() -> None:
    params = find(fault_params()[ScriptedParams], lambda p: "next=" in p.steps, settings=FIRST)
    assert isinstance(params, ScriptedParams) and params.hold <= 0.3
