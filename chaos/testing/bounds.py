"""`Bounds`: what a server promises (timeouts, limits) and the slack allowed in judging it.

The checkers judge against these; verify's per-check promises are
:class:`chaos.verify.Expectations`, another thing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from toolkit import ServerConfig

from ..faults.base import Deadline
from ..fields import optional_seconds
from ..tolerances import IN_PROCESS_TOLERANCE

__all__ = ["DEFAULT_ACCEPT_LAG", "IN_PROCESS_TOLERANCE", "Bounds", "cpus", "widened"]

# An acceptor that only accepts and hands off takes well under a millisecond; 50 ms is the
# bound the toolkit issue sets for "accepted or rejected at once".
DEFAULT_ACCEPT_LAG = 0.05


def _quota(line: str) -> float | None:
    """The CPUs one line of /proc/self/cgroup allows (v1 ``cpu.cfs_quota_us`` over
    ``cpu.cfs_period_us``, v2 ``cpu.max``), None if it sets no CPU quota."""
    _, controllers, path = line.split(":", 2)
    root = Path("/sys/fs/cgroup")
    try:
        if "cpu" in controllers.split(","):
            group = root / controllers / path.lstrip("/")
            quota = (group / "cpu.cfs_quota_us").read_text().strip()
            period = (group / "cpu.cfs_period_us").read_text().strip()
        elif controllers == "":
            quota, _, period = (root / path.lstrip("/") / "cpu.max").read_text().partition(" ")
        else:
            return None
        if quota.strip() in ("-1", "max"):
            return None
        return int(quota) / int(period)
    except (OSError, ValueError, ZeroDivisionError):
        return None


def cpus() -> float:
    """The CPUs this process may use: its cgroup's CPU quota where one is set, else every core.
    Half a CPU on two cores is a machine four times slower, whatever the load average says."""
    cores = float(os.cpu_count() or 1)
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return cores
    quotas = [q for q in map(_quota, lines) if q is not None]
    return min([cores, *quotas])


def widened(slack: float) -> float:
    """``slack`` scaled by how oversubscribed the CPUs are now (1-minute load per CPU this
    process may use, at least 1): for judgements whose error includes scheduling delay, which
    grows with the machine's load, not the server's."""
    per_cpu = os.getloadavg()[0] / cpus()
    return slack * max(1.0, per_cpu)


def _optional_count(name: str, value: int | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name}: expected a non-negative integer or None, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class Bounds:
    """Bounds to judge a run against; None means "not promised, not checked"."""

    idle_timeout: float | None = None
    request_timeout: float | None = None
    write_timeout: float | None = None
    queue_timeout: float | None = None
    workers: int | None = None
    max_pending: int | None = None
    max_open: int | None = None
    accept_lag: float = DEFAULT_ACCEPT_LAG
    tolerance: float = IN_PROCESS_TOLERANCE

    def __post_init__(self) -> None:
        for name in ("idle_timeout", "request_timeout", "write_timeout", "queue_timeout"):
            optional_seconds(name, getattr(self, name))
        for name in ("workers", "max_pending", "max_open"):
            _optional_count(name, getattr(self, name))
        optional_seconds("accept_lag", self.accept_lag)
        optional_seconds("tolerance", self.tolerance)

    def deadline(self, which: Deadline) -> float | None:
        """The promised setting of deadline ``which``, or None when nothing is promised."""
        return {
            Deadline.IDLE: self.idle_timeout,
            Deadline.REQUEST: self.request_timeout,
            Deadline.WRITE: self.write_timeout,
        }[which]

    @classmethod
    def from_config(
        cls,
        config: ServerConfig,
        *,
        tolerance: float = IN_PROCESS_TOLERANCE,
        accept_lag: float = DEFAULT_ACCEPT_LAG,
    ) -> Bounds:
        """What a toolkit `ServerConfig` promises, whatever model runs it.

        The pool bound (`config.open_limit`) is what the config says; a model that ignores it
        (thread-per-connection) is judged against it and fails, as it should.
        """
        return cls(
            idle_timeout=config.idle_timeout,
            request_timeout=config.request_timeout,
            write_timeout=config.write_timeout,
            queue_timeout=config.queue_timeout,
            workers=config.workers,
            max_pending=config.max_pending,
            max_open=config.open_limit,
            accept_lag=accept_lag,
            tolerance=tolerance,
        )
