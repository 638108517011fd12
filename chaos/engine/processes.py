"""Shard processes: a run's other segments, each in a process of its own that never outlives it.

:func:`open_shards` starts one ``python -m chaos.worker`` per job, hands it its job and waits
until each has placed its clients; :meth:`Shards.go` starts them all on one clock instant
(``time.monotonic()`` is host-wide), :meth:`Shards.results` collects their records. However
the block ends (the run done, an error, a KeyboardInterrupt), every child's stdin is closed,
which stops it at once, and every child is waited for, killed if it lingers. A child also
stops by itself when its stdin ends, so not even a killed run leaves one behind.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import trio

from .channel import Channel, Done, Failed, Go, Job, Ready, Tick
from .fdlimit import RESERVE, SHARD_BASE, LimitError, hard_limit

__all__ = [
    "MIN_SHARD_CLIENTS",
    "START_TIMEOUT",
    "STOP_WAIT",
    "WORKER",
    "ShardError",
    "Shards",
    "cores",
    "open_shards",
    "shard_count",
]

WORKER = "chaos.worker"
# Below this many clients per process, a process of its own costs more than it saves: the
# swarm opens that many connections in a few tenths of a second; an interpreter starts in a
# quarter of one.
MIN_SHARD_CLIENTS = 5000
# A child imports chaos and places its clients in well under a second here; a machine four
# times slower, under load, gets ample room. A hang does not.
START_TIMEOUT = 60.0
# A child gets this long to exit once its stdin closes, before it is killed.
STOP_WAIT = 5.0
# Bytes of a child's stderr kept, to say why it failed.
STDERR_TAIL = 4096
# The package directory's parent: children import the same chaos as this process.
_HOME = str(Path(__file__).resolve().parents[2])


class ShardError(RuntimeError):
    """A shard process failed or died; the message carries its last words."""


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def shard_count(requested: int | None, clients: int) -> int:
    """How many processes run ``clients``: ``requested`` if given (at most one per client);
    otherwise as many as the cores, one per :data:`MIN_SHARD_CLIENTS`, and always enough
    that each fits the open-file hard limit."""
    if requested is not None:
        if isinstance(requested, bool) or not isinstance(requested, int) or requested < 1:
            raise ValueError(f"processes: expected a positive integer, got {requested!r}")
        return max(1, min(requested, clients))
    wanted = min(cores(), max(1, clients // MIN_SHARD_CLIENTS))
    hard = hard_limit()
    if hard is not None:
        room = max(1, hard - RESERVE - SHARD_BASE)
        wanted = max(wanted, math.ceil(clients / room))
    return max(1, min(wanted, clients))


@dataclass(eq=False)
class _Shard:
    process: trio.Process
    channel: Channel
    job: Job
    tick: Tick | None = None
    done: Done | None = None
    ended: trio.Event = field(default_factory=trio.Event)
    stderr: bytearray = field(default_factory=bytearray)

    def last_words(self) -> str:
        lines = self.stderr.decode(errors="replace").strip().splitlines()
        code = self.process.returncode
        why = lines[-1] if lines else "no output"
        return f"shard {self.job.segment} ({'running' if code is None else f'exit {code}'}): {why}"


class Shards:
    """The started shards of one run (see :func:`open_shards`)."""

    def __init__(self) -> None:
        self._shards: list[_Shard] = []

    def __len__(self) -> int:
        return len(self._shards)

    def ticks(self) -> list[Tick]:
        """The latest progress of each shard that has reported."""
        return [s.tick for s in self._shards if s.tick is not None]

    async def go(self, go: Go) -> None:
        """Start every shard's plan clock at ``go.start``."""
        for shard in self._shards:
            await shard.channel.send(go)

    async def watch(self) -> None:
        """Raise :class:`ShardError` as soon as a shard ends without sending its records."""
        async with trio.open_nursery() as nursery:
            for shard in self._shards:
                nursery.start_soon(_lost, shard)

    async def results(self) -> list[tuple[Job, Done]]:
        """Each shard's job and records, once all have sent them; ShardError if one died."""
        for shard in self._shards:
            await _lost(shard)
        return [(s.job, s.done) for s in self._shards if s.done is not None]


async def _lost(shard: _Shard) -> None:
    """Wait for the shard's end; raise ShardError, with its exit status and last words, if it
    ended without its records."""
    await shard.ended.wait()
    if shard.done is None:
        with trio.move_on_after(STOP_WAIT):
            await shard.process.wait()
            await trio.sleep(0.05)  # the rest of its stderr
        raise ShardError(shard.last_words())


async def _drain(stream: trio.abc.ReceiveStream | None, into: bytearray) -> None:
    if stream is None:
        return
    while chunk := await stream.receive_some(STDERR_TAIL):
        into += chunk
        del into[:-STDERR_TAIL]


async def _listen(shard: _Shard) -> None:
    """Keep the shard's latest tick and its records; mark it ended at its stdout's end."""
    try:
        while (message := await shard.channel.receive()) is not None:
            if isinstance(message, Tick):
                shard.tick = message
            elif isinstance(message, Done):
                shard.done = message
                break
    finally:
        shard.ended.set()


async def _start(job: Job) -> _Shard:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_HOME, env.get("PYTHONPATH")) if p)
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", WORKER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    return _Shard(process=process, channel=Channel(process.stdin, process.stdout), job=job)


async def _ready(shard: _Shard) -> None:
    message = await shard.channel.receive()
    if isinstance(message, Ready):
        return
    if isinstance(message, Failed):
        if message.limit:
            raise LimitError(message.message)
        raise ShardError(f"shard {shard.job.segment}: {message.message}")
    await shard.process.wait()
    raise ShardError(shard.last_words())


async def _stop(shards: Sequence[_Shard]) -> None:
    """Close every child's stdin (it stops at once), wait for each, kill what lingers."""
    for shard in shards:
        if shard.process.stdin is not None:
            try:
                await shard.process.stdin.aclose()
            except trio.BrokenResourceError:
                pass
    with trio.move_on_after(STOP_WAIT):
        for shard in shards:
            await shard.process.wait()
    for shard in shards:
        if shard.process.returncode is None:
            shard.process.kill()
            await shard.process.wait()
        for stream in (shard.process.stdout, shard.process.stderr):
            if stream is not None:
                await stream.aclose()


@asynccontextmanager
async def open_shards(jobs: Sequence[Job]) -> AsyncIterator[Shards]:
    """Start a shard process per job and wait until each is ready to go.

    Raises :class:`~chaos.engine.fdlimit.LimitError` if a shard cannot fit its clients, and
    :class:`ShardError` if one fails or does not get ready within :data:`START_TIMEOUT`.
    """
    shards = Shards()
    try:
        async with trio.open_nursery() as nursery:
            for job in jobs:
                shard = await _start(job)
                shards._shards.append(shard)
                nursery.start_soon(_drain, shard.process.stderr, shard.stderr)
                await shard.channel.send(job)
            with trio.fail_after(START_TIMEOUT):
                for shard in shards._shards:
                    await _ready(shard)
            for shard in shards._shards:
                nursery.start_soon(_listen, shard)
            yield shards
            nursery.cancel_scope.cancel()
    except trio.TooSlowError:
        raise ShardError(f"a shard was not ready within {START_TIMEOUT:g} s") from None
    finally:
        with trio.CancelScope(shield=True):
            await _stop(shards._shards)
