"""A bounded worker pool: at most `workers` threads, at most `max_pending` waiting jobs.

`offer` never blocks: it admits a job if a worker is idle or the pending queue has room, and
otherwise says no, so the caller can reject the connection at once instead of hanging it.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .clock import now
from .events import EventLog

__all__ = ["Job", "WorkerPool"]

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Job:
    """Work for a worker: a connection to serve, fresh from accept or back from being parked.

    `live` is its session if it was served before; `prefetched` is what the readiness stage
    already read of its next request, starting at `first_at`.
    """

    conn_id: int
    sock: socket.socket
    peer: tuple
    live: Any = None
    prefetched: bytes = b""
    first_at: float | None = None
    queued: float = field(default_factory=now)
    spoke: bool = False  # seen to have bytes waiting while queued: not idle, whatever its age


class WorkerPool:
    """Threads that run `run(job)` for each admitted job, first come first served."""

    def __init__(
        self, *, workers: int, max_pending: int, run: Callable[[Job], None], log: EventLog
    ) -> None:
        self._workers = workers
        self._max_pending = max_pending
        self._run = run
        self._log = log
        self._queue: deque[Job] = deque()
        self._cond = threading.Condition()
        self._idle = 0
        self._reported_pending = 0
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._work, name=f"toolkit-worker-{i}", daemon=True)
            for i in range(workers)
        ]

    @property
    def threads(self) -> list[threading.Thread]:
        return list(self._threads)

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def offer(self, job: Job) -> bool:
        """Admit `job` if a worker is idle or the queue has room; never blocks."""
        with self._cond:
            # Jobs beyond the idle workers' share are the ones that really wait.
            if self._stopping or len(self._queue) - self._idle >= self._max_pending:
                return False
            self._log.admitted(job.conn_id)
            self._queue.append(job)
            self._sync_pending()
            self._cond.notify()
            return True

    def expire(self, max_wait: float) -> list[Job]:
        """Remove and return the jobs that have waited longer than `max_wait`."""
        cutoff = now() - max_wait
        expired = []
        with self._cond:
            while self._queue and self._queue[0].queued <= cutoff:
                expired.append(self._queue.popleft())
            self._sync_pending()
        return expired

    def take_silent(self, max_idle: float, silent: Callable[[Job], bool]) -> list[Job]:
        """Remove and return the jobs queued longer than `max_idle` for which `silent(job)`
        holds; a job found not silent is marked and never asked again."""
        cutoff = now() - max_idle
        taken = []
        with self._cond:
            for job in list(self._queue):
                if job.queued > cutoff:
                    break
                if job.spoke:
                    continue
                if silent(job):
                    self._queue.remove(job)
                    taken.append(job)
                else:
                    job.spoke = True
            self._sync_pending()
        return taken

    def next_silence_check(self, max_idle: float) -> float | None:
        """Seconds until a queued job not yet seen to speak reaches `max_idle`, or None."""
        with self._cond:
            for job in self._queue:
                if not job.spoke:
                    return max(0.0, job.queued + max_idle - now())
        return None

    def next_expiry(self, max_wait: float) -> float | None:
        """Seconds until the oldest waiting job expires, or None if none waits."""
        with self._cond:
            if not self._queue:
                return None
            return max(0.0, self._queue[0].queued + max_wait - now())

    def drain(self) -> list[Job]:
        """Stop admitting; remove and return every waiting job."""
        with self._cond:
            self._stopping = True
            jobs = list(self._queue)
            self._queue.clear()
            self._sync_pending()
            self._cond.notify_all()
        return jobs

    def join(self, timeout: float) -> list[threading.Thread]:
        """Let workers exit once idle; return those still alive after `timeout` in total."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        deadline = now() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - now()))
        return [t for t in self._threads if t.is_alive()]

    def _sync_pending(self) -> None:
        """Report as pending only the jobs no idle worker is about to take. Holds `_cond`."""
        waiting = max(0, len(self._queue) - self._idle)
        if waiting != self._reported_pending:
            self._log.gauge("pending", waiting - self._reported_pending)
            self._reported_pending = waiting

    def _work(self) -> None:
        job: Job | None = None
        while True:
            with self._cond:
                if job is not None:
                    # Busy ends and idle begins in one step, so `busy == 0` means "will admit".
                    self._log.gauge("busy", -1)
                    job = None
                self._idle += 1
                self._sync_pending()
                while not self._queue and not self._stopping:
                    self._cond.wait()
                self._idle -= 1
                if not self._queue:
                    return
                job = self._queue.popleft()
                self._sync_pending()
                self._log.gauge("busy", 1)
            try:
                self._run(job)
            except Exception:
                logger.exception("worker job failed")
