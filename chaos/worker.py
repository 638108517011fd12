"""A shard: one process running one segment of a plan for a run in another process.

Started as ``python -m chaos.worker`` by :func:`chaos.engine.processes.open_shards`. It reads
its :class:`~chaos.engine.channel.Job` on stdin, places its clients and says it is ready,
waits for the start instant, runs, and writes progress and then its records to stdout. The
end of stdin means the run went away (finished, interrupted or killed): the shard stops at
once, and its sockets close as it exits. SIGINT is the run's to handle, not the shard's.
"""

from __future__ import annotations

import os
import signal
import sys

import trio

from .engine.channel import Channel, Done, Failed, Go, Job, Ready
from .engine.fdlimit import LimitError
from .engine.sources import Sources
from .plan import Plan
from .runner import PROGRESS_INTERVAL, Local, prepare
from .target import Target, resolve

__all__ = ["main", "serve"]


async def _ticks(channel: Channel, local: Local) -> None:
    while True:
        await channel.send(local.tick())
        await trio.sleep(PROGRESS_INTERVAL / 4)  # fresh for the run's next report


async def _watch(channel: Channel, scope: trio.CancelScope) -> None:
    """Cancel the run when stdin ends: the run that started this shard is gone."""
    while await channel.receive() is not None:
        pass
    scope.cancel()


async def _place(job: Job) -> Local:
    plan = Plan.from_json(job.plan)
    target = Target.parse(job.target)
    endpoint = await resolve(target)
    return await prepare(plan, target, endpoint, job.segment, Sources(job.sources))


async def serve(channel: Channel) -> None:
    """Do one job the run sends: place, say ready, start on its instant, send the records."""
    job = await channel.receive()
    if not isinstance(job, Job):
        return
    try:
        local = await _place(job)
    except LimitError as exc:
        await channel.send(Failed(str(exc), limit=True))
        return
    except (ValueError, OSError) as exc:
        await channel.send(Failed(f"{type(exc).__name__}: {exc}"))
        return
    await channel.send(Ready(notes=tuple(local.notes)))
    go = await channel.receive()
    if not isinstance(go, Go):
        return
    result = None
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_watch, channel, nursery.cancel_scope)
        nursery.start_soon(_ticks, channel, local)
        result = await local.run(go.start)
        nursery.cancel_scope.cancel()
    if result is not None:
        await channel.send(
            Done(
                records=result.records,
                not_started=result.not_started,
                ended=result.ended,
                notes=result.notes,
            )
        )


async def _main() -> None:
    stdin = trio.lowlevel.FdStream(os.dup(sys.stdin.fileno()))
    stdout = trio.lowlevel.FdStream(os.dup(sys.stdout.fileno()))
    async with stdin, stdout:
        await serve(Channel(stdout, stdin))


def main() -> int:
    """Run one shard; its exit status is 0 unless the run vanished mid-message (1)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    vanished = False
    try:
        trio.run(_main)
    except* (trio.BrokenResourceError, trio.ClosedResourceError, BrokenPipeError):
        vanished = True
    return 1 if vanished else 0


if __name__ == "__main__":
    sys.exit(main())
