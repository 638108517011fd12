"""What a verify run will do: the settings, and how its time budget splits between stages.

The split is decided before the first connection: every stage gets a slice it cannot
overrun, so a hostile or dead server cannot stretch the run past ``budget``. A budget too
small for the checks asked for is bad input, reported before anything is sent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..target import Target
from .expectations import TIMEOUT_KEYS, Expectations

__all__ = [
    "CHECKS",
    "DEFAULT_BUDGET",
    "DEFAULT_CAP",
    "PROTOCOLS",
    "WIRE_TOLERANCE",
    "Schedule",
    "VerifySettings",
]

PROTOCOLS = ("http", "raw")
# Table order: the timeouts first, then what hostile crowds do.
CHECKS = (
    "idle-timeout",
    "request-timeout",
    "write-timeout",
    "half-close",
    "max-connections",
    "hogging",
    "flood",
    "resets",
)
_TIMEOUT_STAGE = ("idle-timeout", "request-timeout", "write-timeout", "half-close")

# One minute: long enough for a default toolkit server's 10 s deadlines plus every attack.
DEFAULT_BUDGET = 60.0
# Slack on judging a server in another process from the wire: loopback timing is good to
# milliseconds, but two schedulers, the server's own timers and a loaded 2-core CI box add
# jitter. (A server in the clients' own process is judged with the checker's 0.1 s.)
WIRE_TOLERANCE = 0.25
# How long to wait for a close nothing was promised about: past the 5-10 s defaults of most
# servers (cheroot 10 s, gunicorn 7 s, ours 5/10 s), short enough to leave room for the rest.
DEFAULT_CAP = 12.0
# toolkit's http-hello answers N bytes here: more than every socket buffer on the path.
DEFAULT_LARGE_PATH = "/bytes/16777216"
# Past a 1024 backlog (toolkit's default), and within the 20,000 open-file limit.
DEFAULT_FLOOD = 2000
# Enough aborted connections to surface a leak or a crash in a reset path.
DEFAULT_RESETS = 200
# Idle clients and slowloris clients, each: twice the 8 workers of a default toolkit server.
DEFAULT_HOGS = 16
# Probes under hogging run this long, four a second.
DEFAULT_HOG_TIME = 3.0
# Concurrency steps double up to this many held connections unless an expectation needs more.
DEFAULT_MAX_HOLD = 256
# Bytes a raw probe sends; an echo or line server answers them.
DEFAULT_RAW_PAYLOAD = "ping\r\n"

# A probe gives up after this: longer than a typical 1 s queue timeout, so a queued-then-
# rejected probe is seen as rejected, not stalled.
PROBE_TIMEOUT = 2.0
# chaos's default: one SYN retransmission (1 s on Linux) fits inside.
CONNECT_TIMEOUT = 2.0
# After an attack the server gets this long to answer a probe again.
RECOVERY = 2.0
# Flood connections stay open this long, so the server must hold them all at once.
FLOOD_HOLD = 0.5
# Slack per stage for starting and cancelling clients.
MARGIN = 0.25
# The concurrency ramp uses what the fixed stages leave, between these bounds.
MIN_CONCURRENCY = 2.0
MAX_CONCURRENCY = 20.0
# The half-close answer is immediate on any live server; waiting longer shows nothing new.
HALF_CLOSE_CAP = 2.0


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """Seconds each stage may take at most; ``total`` never exceeds the budget.

    ``needed`` is the least budget these checks fit in (the ramp at its minimum).
    """

    slices: dict[str, float]
    needed: float

    def __post_init__(self) -> None:
        if any(s < 0 for s in self.slices.values()):
            raise ValueError(f"slices: expected seconds >= 0, got {self.slices}")

    @property
    def total(self) -> float:
        return sum(self.slices.values())


def _positive(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name}: expected a number of seconds, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name}: must be > 0, got {value!r}")


def _count(name: str, value: int, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name}: expected an integer >= {low}, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class VerifySettings:
    """Everything a run needs; every default is a named constant above with its reason."""

    target: Target
    protocol: str = "http"
    expectations: Expectations = field(default_factory=Expectations)
    tolerance: float = WIRE_TOLERANCE
    budget: float = DEFAULT_BUDGET
    cap: float = DEFAULT_CAP
    checks: tuple[str, ...] = CHECKS
    large_path: str = DEFAULT_LARGE_PATH
    flood: int = DEFAULT_FLOOD
    resets: int = DEFAULT_RESETS
    hogs: int = DEFAULT_HOGS
    hog_time: float = DEFAULT_HOG_TIME
    max_hold: int = DEFAULT_MAX_HOLD
    raw_payload: str = DEFAULT_RAW_PAYLOAD
    seed: int = 0
    connect_timeout: float = CONNECT_TIMEOUT
    probe_timeout: float = PROBE_TIMEOUT
    recovery: float = RECOVERY

    def __post_init__(self) -> None:
        if not isinstance(self.target, Target):
            raise ValueError(f"target: expected a Target, got {type(self.target).__name__}")
        if self.protocol not in PROTOCOLS:
            raise ValueError(
                f"protocol: expected one of {', '.join(PROTOCOLS)}, got {self.protocol!r}"
            )
        if not isinstance(self.expectations, Expectations):
            raise ValueError("expectations: expected an Expectations")
        for name in (
            "tolerance",
            "budget",
            "cap",
            "hog_time",
            "connect_timeout",
            "probe_timeout",
            "recovery",
        ):
            _positive(name, getattr(self, name))
        object.__setattr__(self, "checks", tuple(self.checks))
        unknown = [c for c in self.checks if c not in CHECKS]
        if unknown or not self.checks:
            raise ValueError(
                f"checks: expected some of {', '.join(CHECKS)}, got {unknown or 'none'}"
            )
        if not isinstance(self.large_path, str) or not self.large_path.startswith("/"):
            raise ValueError(
                f"large_path: expected a path starting with '/', got {self.large_path!r}"
            )
        for name in ("flood", "resets", "hogs", "max_hold"):
            _count(name, getattr(self, name), 1)
        _count("seed", self.seed, 0)
        if not isinstance(self.raw_payload, str) or not self.raw_payload:
            raise ValueError("raw_payload: expected some text to send")
        # A promise about a check that does not run is not judged (nor shown).
        object.__setattr__(self, "expectations", self.expectations.only(self.checks))
        self.schedule()  # a budget too small is bad input now, not a surprise later

    def timeout_cap(self, key: str) -> float:
        """How long the check of timeout ``key`` waits for the server to close.

        With a promise E: E plus slack (twice the tolerance and up to 2 s), so a miss is seen
        as the number it is rather than "none". Without (or with ``none``): :attr:`cap`.
        The half-close check waits :attr:`half_close_cap`.
        """
        if key == "half-close":
            return self.half_close_cap
        expected = self.expectations.get(key)
        if isinstance(expected, bool) or not isinstance(expected, int | float):
            return self.cap
        return expected + 2 * self.tolerance + min(expected / 2, 2.0)

    @property
    def half_close_cap(self) -> float:
        return min(self.cap, HALF_CLOSE_CAP)

    @property
    def hold_target(self) -> int:
        """The most connections the concurrency ramp holds: past any promised limit."""
        limit = self.expectations.max_connections
        if isinstance(limit, int):
            return max(self.max_hold, limit + 1)
        return self.max_hold

    def schedule(self) -> Schedule:
        """The budget split; raises ValueError when the checks asked for cannot fit."""
        connect, probe, recovery = self.connect_timeout, self.probe_timeout, self.recovery
        slices = {"baseline": probe + MARGIN}
        waits = [self.timeout_cap(k) for k in TIMEOUT_KEYS if k in self.checks]
        if "half-close" in self.checks:
            waits.append(self.half_close_cap)
        if waits:
            slices["timeouts"] = connect + max(waits) + MARGIN
        if "hogging" in self.checks:
            slices["hogging"] = connect + self.hog_time + probe + MARGIN
        if "flood" in self.checks:
            slices["flood"] = connect + FLOOD_HOLD + recovery + 2 * MARGIN
        if "resets" in self.checks:
            slices["resets"] = connect + recovery + 2 * MARGIN
        left = self.budget - sum(slices.values())
        needed = sum(slices.values())
        if "max-connections" in self.checks:
            needed += MIN_CONCURRENCY
            slices["max-connections"] = min(MAX_CONCURRENCY, left)
        if self.budget < needed:
            raise ValueError(
                f"budget: {self.budget:g} s is less than the {math.ceil(needed)} s these checks "
                f"may need (timeouts wait up to {max(waits, default=0):g} s); raise --budget, "
                f"lower --cap or pick fewer --checks"
            )
        return Schedule(slices=slices, needed=needed)
