"""``scripted``: a client that runs a script of steps (:mod:`chaos.script.steps`), for any row
of misbehaviour nobody wrote a fault for: split heads, pipelining, trickles, deaf readers.

It sends, pauses and reads as the steps say, while what the server answers is read (unless a
step stops it) and timed by the protocol's :mod:`~chaos.script.progress`. The record's
``detail`` says how many answers came (``responses``, with their ``statuses`` for HTTP) and
the longest stretch with the connection open and no answer completing (``stalled``, from
``stalled_from``): the cost a server allowed this client, whoever ended the connection, or
whoever cut the run short. ``answered``, when the last answer completed, is kept up to date
as answers arrive, so a watcher can time the stall in progress.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass

import trio

from ..engine.session import RECV_SIZE, Session
from ..engine.slot import Slot
from ..params import HoldParams, option
from ..record import Outcome, server_end
from ..script.grammar import GRAMMARS, Composer, grammar_for
from ..script.progress import Progress, longest_stall, progress_for
from ..script.steps import (
    Close,
    Pause,
    Read,
    ReadSlowly,
    Reply,
    Reset,
    Send,
    Shut,
    Step,
    StopReading,
    Trickle,
    expand,
    format_steps,
    parse_steps,
)
from .base import Fault, Traits, one_client

__all__ = ["DEFAULT_POLL", "FAULT", "ScriptedParams", "drive", "scripted"]

# While not reading, the server's FIN or RST is seen from the TCP state, polled this often.
DEFAULT_POLL = 0.01


@dataclass(frozen=True, kw_only=True)
class ScriptedParams(HoldParams):
    """A script of steps; stored as its canonical text, so a saved plan replays it exactly."""

    steps: str = option("", "the script: steps separated by ';', e.g. 'send request; pause 1'")
    protocol: str = option("http", "whose request grammar the parts are", choices=tuple(GRAMMARS))
    rcvbuf: int | None = option(
        None,
        "SO_RCVBUF set before connecting: small, not reading blocks the server sooner",
        above=0,
    )
    poll: float = option(
        DEFAULT_POLL, "seconds between TCP state checks while not reading", above=0
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        try:
            steps = parse_steps(self.steps)
            grammar_for(self.protocol).check(steps)
        except ValueError as exc:
            raise ValueError(f"steps: {exc}") from None
        object.__setattr__(self, "steps", format_steps(steps))

    @functools.cached_property
    def script(self) -> tuple[Step, ...]:
        """The steps, parsed."""
        return parse_steps(self.steps)


class _Signal:
    """Wakes every task waiting for something about the connection to change."""

    def __init__(self) -> None:
        self._event = trio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = trio.Event()

    async def wait(self) -> None:
        await self._event.wait()


class _Client:
    """One scripted connection: a writer running the steps, a reader, a watcher of the TCP
    state while the reader is not reading. Any of them seeing the end ends all three."""

    def __init__(self, session: Session, params: ScriptedParams, composer: Composer) -> None:
        self.session = session
        self.params = params
        self.composer = composer
        self.progress: Progress = progress_for(params.protocol)
        self.signal = _Signal()
        self.reading = True
        self.pace: ReadSlowly | None = None
        self.allowance = 0  # bytes a `read N` lets a non-reading client take
        self.received = 0
        self.ended = False
        # What `read` and `reply` steps have taken so far: each takes the next in order.
        self.taken_bytes = 0
        self.taken_answers = 0
        self.steps_run = 0
        self._scope = trio.CancelScope()
        self._recv_scope: trio.CancelScope | None = None

    # --- the end, whoever sees it ----------------------------------------------------------

    def _end(self) -> None:
        self.ended = True
        self.signal.fire()
        self._scope.cancel()

    def _changed(self) -> None:
        """A step changed how to read: the read in flight is cancelled and starts over."""
        if self._recv_scope is not None:
            self._recv_scope.cancel()
        self.signal.fire()

    # --- reading ---------------------------------------------------------------------------

    def _may_read(self) -> bool:
        return self.reading or self.allowance > 0

    async def _read(self) -> None:
        session = self.session
        while True:
            while not self._may_read():
                await self.signal.wait()
            size = RECV_SIZE if self.reading else min(RECV_SIZE, self.allowance)
            with trio.CancelScope() as scope:
                self._recv_scope = scope
                if self.pace is not None:
                    size = min(size, self.pace.size)
                    await trio.sleep(self.pace.every)
                data = await session.recv(size)
            self._recv_scope = None
            if scope.cancelled_caught:
                continue
            if not self.reading:
                self.allowance = max(0, self.allowance - len(data))
            self.received += len(data)
            if session.reset is None:
                self.progress.received(data, time.monotonic())
                if self.progress.completions:
                    session.detail["answered"] = self.progress.completions[-1]
            self.signal.fire()
            if not data:
                self._end()
                return

    async def _watch(self) -> None:
        """While not reading at full speed, the TCP state says whether the server ended it."""
        session = self.session
        while True:
            if self.reading and self.pace is None:
                await self.signal.wait()
                continue
            session.check_peer()
            if session.reset is not None or session.server_eof is not None:
                self._end()
                return
            await trio.sleep(self.params.poll)

    async def _until(self, done: Callable[[], bool]) -> None:
        while not done() and not self.ended:
            await self.signal.wait()

    # --- writing ---------------------------------------------------------------------------

    async def _send(self, data: bytes) -> bool:
        if not data:
            return True
        self.progress.sent(data)
        return await self.session.send_all(data)

    async def _step(self, step: Step) -> bool:
        """Run one step; False when the script ends here (our close or reset, or a break)."""
        if isinstance(step, Send):
            return await self._send(self.composer.join(step.parts))
        if isinstance(step, Trickle):
            data = self.composer.join(step.parts)
            begin = trio.current_time()
            for number, offset in enumerate(range(0, len(data), step.size)):
                if number:
                    await trio.sleep_until(begin + number * step.every)
                if not await self._send(data[offset : offset + step.size]):
                    return False
            return True
        if isinstance(step, Pause):
            await trio.sleep(step.seconds)
        elif isinstance(step, Read):
            self.taken_bytes += step.count
            wanted = self.taken_bytes
            if not self.reading:
                self.allowance = max(0, wanted - self.received)
                self._changed()
            await self._until(lambda: self.received >= wanted)
        elif isinstance(step, Reply):
            self.taken_answers += 1
            answers = self.taken_answers
            await self._until(lambda: self.progress.answers >= answers)
        elif isinstance(step, ReadSlowly):
            self.reading, self.pace = True, step
            self._changed()
        elif isinstance(step, StopReading):
            self.reading, self.pace = False, None
            self._changed()
        elif isinstance(step, Shut):
            return self.session.shutdown_write()
        elif isinstance(step, Reset | Close):
            return False
        return True

    async def _steps(self) -> Step | None:
        """Run the steps; the last one run if the script ended there, else None."""
        for step in expand(self.params.script):
            self.steps_run += 1
            if not await self._step(step):
                if isinstance(step, Reset | Close):
                    self._end()  # the reader and the watcher stop before the socket goes
                return step
        return None

    async def run(self) -> None:
        """Run the script until the server ends the connection, we do, or the hold runs out."""
        session = self.session
        assert session.opened is not None
        left = session.opened + self.params.hold - time.monotonic()
        last: Step | None = None
        with trio.move_on_after(max(0.0, left)) as holding:
            with self._scope:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._read)
                    nursery.start_soon(self._watch)
                    last = await self._steps()
        if isinstance(last, Reset | Close):
            session.abort() if isinstance(last, Reset) else session.close()
            session.decide(Outcome.COMPLETED)
        elif holding.cancelled_caught:
            session.decide(Outcome.HELD_TO_END)

    def summary(self) -> dict[str, str | int | float]:
        """What the record's ``detail`` keeps: answers, and the longest stretch without one."""
        session = self.session
        assert session.connected is not None
        ended = server_end(session.server_eof, session.reset, session.server_closed)
        ends = [t for t in (None if ended is None else ended[1], session.closed) if t is not None]
        end = min(ends) if ends else time.monotonic()
        stalled, since = longest_stall(session.connected, self.progress.completions, end)
        return {
            "responses": len(self.progress.completions),
            "statuses": ",".join(map(str, self.progress.statuses)),
            "stalled": stalled,
            "stalled_from": since,
            "steps_run": self.steps_run,
        }


async def drive(slot: Slot, params: ScriptedParams) -> None:
    """Connect and run the script."""
    session = slot.session(rcvbuf=params.rcvbuf)
    if not await session.connect(params.connect_timeout):
        return
    client = _Client(session, params, Composer(grammar_for(params.protocol), slot.host, slot.rng))
    try:
        await client.run()
    finally:  # also when the run is cut short: what the client saw until then
        session.detail.update(client.summary())
        statuses = client.progress.statuses
        if statuses:
            session.status = statuses[0]


FAULT = Fault(
    kind="scripted",
    params=ScriptedParams,
    drive=drive,
    summary=__doc__,
    traits=Traits(),
)


scripted = one_client(FAULT)
