"""Hypothesis strategies for scripted clients, composed from the protocol's request grammar.

A script is drawn as a few *moves*, each a handful of steps a real or hostile client makes:
a whole request (GET, HEAD, POST with a body), a head split over pauses, a trickled head or
body, ``Expect: 100-continue``, a burst of pipelined requests, the pipelining pin (the end of
one request with the first bytes of the next, then a trickle or a pause), a slow or deaf
reader, malformed bytes, a pause; then perhaps a FIN, an RST or a close. Moves shrink as a
list, and their timings are whole multiples of ``tick``, so a shrunk script reads plainly
and replays on the same grid. Protocols without HTTP's head parts get the moves their
grammar has (whole requests, pipelining, bursts, trickles, junk).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import strategies as st

from .grammar import grammar_for
from .steps import (
    Close,
    Part,
    Pause,
    ReadSlowly,
    Repeat,
    Reply,
    Reset,
    Send,
    Shut,
    Step,
    StopReading,
    Trickle,
)

__all__ = ["DEFAULT_LARGE_PATH", "Script", "moves", "scripts"]

# A response no socket buffer on loopback holds, so a deaf client blocks the server's write.
DEFAULT_LARGE_PATH = "/bytes/16000000"
_METHODS = ("GET", "HEAD", "POST")
# Bodies small enough to send at once, or to trickle for a while.
_BODY = (1, 10, 100, 1000)
_SIZES = (1, 2, 4, 8, 16)
# The pin repeats its cycle up to this often: long enough to outlast any bound of a few idle
# timeouts (each cycle lasts up to 7 ticks), so shrinking finds how few cycles break it.
MAX_CYCLES = 32


@dataclass(frozen=True)
class Script:
    """A drawn script: its steps, and whether it reads its answers as fast as they come.
    ``moves`` says how many steps each move it was drawn from has, in order (empty: one
    step each): the steps a shrink may drop together."""

    steps: tuple[Step, ...]
    moves: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.moves and sum(self.moves) != len(self.steps):
            raise ValueError(f"moves: {self.moves} do not add up to {len(self.steps)} steps")

    def without(self, first: int, count: int = 1) -> Script:
        """This script without ``count`` steps from index ``first``; the moves they cut
        short lose them."""
        steps = (*self.steps[:first], *self.steps[first + count :])
        sizes, start = [], 0
        for size in self.moves:
            kept = size - max(0, min(start + size, first + count) - max(start, first))
            if kept:
                sizes.append(kept)
            start += size
        return Script(steps, tuple(sizes))

    @property
    def spans(self) -> list[tuple[int, int]]:
        """Each move as (first step, steps)."""
        out, start = [], 0
        for size in self.moves:
            out.append((start, size))
            start += size
        return out

    @property
    def reads_promptly(self) -> bool:
        """False if the script stops reading or reads slowly at any point: the server's
        write deadline is then part of what it may cost."""
        return not any(isinstance(s, StopReading | ReadSlowly) for s in self.steps)


def _p(name: str, value: str | int | bytes | None = None) -> Part:
    return Part(name, value)


def _request(method: str) -> Part:
    """A whole request; GET, the grammar's default, needs no value."""
    return _p("request", None if method == "GET" else method)


def _ticks(tick: float, low: int, high: int) -> st.SearchStrategy[float]:
    """A whole number of ticks, as seconds rounded to the microsecond."""
    return st.integers(low, high).map(lambda n: round(n * tick, 6))


def _http_moves(tick: float, large_path: str) -> dict[str, st.SearchStrategy[list[Step]]]:
    inside = _ticks(tick, 1, 7)  # within an idle timeout of 8 ticks
    every = _ticks(tick, 0, 4)
    size = st.sampled_from(_SIZES)

    @st.composite
    def whole(draw: st.DrawFn) -> list[Step]:
        method = draw(st.sampled_from(_METHODS))
        if method == "POST":
            length = draw(st.sampled_from(_BODY))
            parts = [_p("line", "POST"), _p("header"), _p("length", length), _p("end")]
            steps: list[Step] = [Send((*parts, _p("body", length)))]
        else:
            steps = [Send((_request(method),))]
        if draw(st.booleans()):
            steps.append(Reply())
        return steps

    @st.composite
    def split(draw: st.DrawFn) -> list[Step]:
        pieces = [(_p("line"),), (_p("header"),), (_p("end"),)]
        steps: list[Step] = []
        for piece in pieces:
            if steps:
                steps.append(Pause(draw(inside)))
            steps.append(Send(piece))
        return steps

    @st.composite
    def trickle_head(draw: st.DrawFn) -> list[Step]:
        parts = [_p("line"), _p("header")]
        if draw(st.booleans()):
            parts.append(_p("end"))  # a whole head in the end; else a prefix that never ends
        return [Trickle(tuple(parts), draw(inside), draw(size))]

    @st.composite
    def body(draw: st.DrawFn) -> list[Step]:
        length = draw(st.sampled_from(_BODY))
        expect = draw(st.booleans())
        head = [_p("line", "POST"), _p("header"), _p("length", length)]
        head += [_p("expect")] if expect else []
        steps: list[Step] = [Send((*head, _p("end")))]
        if expect:
            steps.append(Reply())  # 100 Continue, or the final answer
        steps.append(Trickle((_p("body", length),), draw(inside), draw(size)))
        return steps

    @st.composite
    def burst(draw: st.DrawFn) -> list[Step]:
        methods = draw(st.lists(st.sampled_from(("GET", "HEAD")), min_size=2, max_size=4))
        return [Send(tuple(_request(m) for m in methods))]

    @st.composite
    def pin(draw: st.DrawFn, *, trickle: bool) -> list[Step]:
        """Each request ends in the write that starts the next; the rest of that one comes
        after a pause, or trickles."""
        first = draw(st.integers(1, 3))
        if trickle:
            wait: Step = Trickle((_p("rest"),), draw(every), draw(size))
            close: tuple[Part, ...] = (_p("end"), _p("next", first))
        else:
            wait = Pause(draw(inside))
            close = (_p("rest"), _p("end"), _p("next", first))
        steps = [Send((_p("request"), _p("next", first))), wait, Send(close)]
        cycles = draw(st.integers(1, MAX_CYCLES))
        return [*steps, Repeat(cycles, 2)]

    @st.composite
    def reader(draw: st.DrawFn) -> list[Step]:
        how: Step = (
            StopReading()
            if draw(st.booleans())
            else ReadSlowly(draw(st.sampled_from((256, 4096))), draw(_ticks(tick, 1, 4)))
        )
        return [how, Send((_p("request", f"GET {large_path}"),))]

    malformed: st.SearchStrategy[list[Step]] = st.sampled_from(
        [
            [Send((_p("junk", 64),))],
            [Send((_p("literal", b"GET / HTTP/1.1\nHost: x\n\n"),))],  # LF only: valid
            [Send((_p("line"), _p("literal", b"Bad Header\r\n"), _p("end")))],
            [Send((_p("line"), _p("header"), _p("literal", b"Content-Length: -1\r\n\r\n")))],
        ]
    )
    return {
        "whole": whole(),
        "split": split(),
        "trickle-head": trickle_head(),
        "body": body(),
        "burst": burst(),
        "pin": pin(trickle=False),
        "pin-trickle": pin(trickle=True),
        "reader": reader(),
        "malformed": malformed,
        "pause": inside.map(lambda s: [Pause(s)]),
    }


def _line_moves(tick: float) -> dict[str, st.SearchStrategy[list[Step]]]:
    inside = _ticks(tick, 1, 7)
    size = st.sampled_from(_SIZES)

    @st.composite
    def pin(draw: st.DrawFn) -> list[Step]:
        first = draw(st.integers(1, 2))
        steps: list[Step] = [Send((_p("request"), _p("next", first))), Pause(draw(inside))]
        steps.append(Send((_p("rest"), _p("end"), _p("next", first))))
        cycles = draw(st.integers(1, MAX_CYCLES))
        return [*steps, Repeat(cycles, 2)]

    return {
        "whole": st.just([Send((_p("request"),))]),
        "burst": st.integers(2, 4).map(lambda n: [Send((_p("request"),) * n)]),
        "trickle": st.builds(lambda e, s: [Trickle((_p("request"),), e, s)], inside, size),
        "pin": pin(),
        "malformed": st.just([Send((_p("junk", 64),))]),
        "pause": inside.map(lambda s: [Pause(s)]),
    }


def moves(
    protocol: str = "http", *, tick: float = 0.1, large_path: str = DEFAULT_LARGE_PATH
) -> dict[str, st.SearchStrategy[list[Step]]]:
    """The moves a script of ``protocol`` is made of, by name, each a strategy of steps."""
    if not tick > 0:
        raise ValueError(f"tick: must be > 0 seconds, got {tick!r}")
    if grammar_for(protocol).name == "http":
        return _http_moves(tick, large_path)
    return _line_moves(tick)


_ENDINGS: tuple[Callable[[], Step], ...] = (Shut, Reset, Close)


def scripts(
    protocol: str = "http",
    *,
    tick: float = 0.1,
    max_moves: int = 4,
    large_path: str = DEFAULT_LARGE_PATH,
    only: tuple[str, ...] | None = None,
) -> st.SearchStrategy[Script]:
    """Scripts of 1 to ``max_moves`` moves (``only`` these, if given), perhaps ending in a
    FIN, an RST or a close; every pause and interval a whole number of ``tick`` s."""
    if max_moves < 1:
        raise ValueError(f"max_moves: must be >= 1, got {max_moves!r}")
    table = moves(protocol, tick=tick, large_path=large_path)
    if only is not None:
        unknown = sorted(set(only) - set(table))
        if unknown or not only:
            raise ValueError(f"only: expected moves from {sorted(table)}, got {only!r}")
        table = {name: table[name] for name in only}
    move = st.one_of(*table.values())
    ending = st.one_of(st.none(), st.sampled_from(_ENDINGS))

    @st.composite
    def build(draw: st.DrawFn) -> Script:
        drawn = draw(st.lists(move, min_size=1, max_size=max_moves))
        steps = [step for part in drawn for step in part]
        sizes = [len(part) for part in drawn]
        end = draw(ending)
        if end is not None:
            steps.append(end())
            sizes.append(1)
        return Script(tuple(steps), tuple(sizes))

    return build()
