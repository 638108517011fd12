"""What a verify run will do: the settings, and how its time budget splits between stages.

Every field is declared once, with :func:`~chaos.params.option`: that declaration is its
default, its validation, its ``chaos verify`` flag and its place in the JSON export.

The split is decided before the first connection: every stage gets a slice it cannot
overrun, so a hostile or dead server cannot stretch the run past ``budget``. A budget too
small for the checks asked for is bad input, reported before anything is sent.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from ..params import DEFAULT_CONNECT_TIMEOUT, option, options
from ..protocols import NAMES, Profile, chosen_profile, escaped
from ..target import Target
from ..tolerances import WIRE_TOLERANCE
from .expectations import CHECKS, TIMEOUT_KEYS, Expectations

__all__ = [
    "CHECKS",
    "DEFAULT_BUDGET",
    "DEFAULT_CAP",
    "PROTOCOLS",
    "WIRE_TOLERANCE",
    "Schedule",
    "VerifySettings",
    "parse_checks",
]

PROTOCOLS = NAMES

# One minute: long enough for a default toolkit server's 10 s deadlines plus every attack.
DEFAULT_BUDGET = 60.0
# How long to wait for a close nothing was promised about: past the 5-10 s defaults of most
# servers (cheroot 10 s, gunicorn 7 s, ours 5/10 s), short enough to leave room for the rest.
DEFAULT_CAP = 12.0
# toolkit's http-hello answers N bytes here: more than every socket buffer on the path.
DEFAULT_LARGE_PATH = "/bytes/16777216"
# Ten times the connections a default toolkit server's workers and queue take (8 + 64), past
# the small backlogs of the Python servers (5 for socketserver and cheroot), and within the
# 20,000 open-file limit. It does not fill the toolkit's own 4096 backlog.
DEFAULT_FLOOD = 2000
# Enough aborted connections to surface a leak or a crash in a reset path.
DEFAULT_RESETS = 200
# Idle clients and slowloris clients, each: twice the 8 workers of a default toolkit server.
DEFAULT_HOGS = 16
# Probes under hogging run this long, four a second.
DEFAULT_HOG_TIME = 3.0
# Without a promised limit, the concurrency ramp doubles up to this many held connections.
DEFAULT_MAX_HOLD = 256

# A probe gives up after this: longer than a typical 1 s queue timeout, so a queued-then-
# rejected probe is seen as rejected, not stalled.
PROBE_TIMEOUT = 2.0
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
    """Seconds each stage may take at most, in run order; ``total`` never exceeds the budget.

    ``needed`` is the least budget these checks fit in (the ramp at its minimum); ``keep`` is
    what each stage keeps for itself while an earlier one runs (its slice, or its minimum).
    """

    slices: dict[str, float]
    needed: float
    keep: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if any(s < 0 for s in self.slices.values()):
            raise ValueError(f"slices: expected seconds >= 0, got {self.slices}")

    @property
    def total(self) -> float:
        return sum(self.slices.values())


def parse_checks(text: str) -> tuple[str, ...]:
    """``idle-timeout,flood`` as the checks it names; ValueError names an unknown one."""
    chosen = tuple(c.strip() for c in text.split(",") if c.strip())
    unknown = [c for c in chosen if c not in CHECKS]
    if unknown or not chosen:
        raise ValueError(
            f"unknown check {unknown[0] if unknown else text!r}; known: {', '.join(CHECKS)}"
        )
    return chosen


@dataclass(frozen=True, kw_only=True)
class VerifySettings:
    """Everything a run needs; every default is a named constant above with its reason."""

    target: Target
    expectations: Expectations = field(default_factory=Expectations)
    protocol: str = option(
        "http", "what the server speaks", choices=PROTOCOLS, metavar="|".join(PROTOCOLS)
    )
    send: str = option(
        "",
        "custom protocol: what a probe and a keep-alive send (\\r\\n escapes read)",
        metavar="TEXT",
        parse=escaped,
    )
    match: str = option(
        "", "custom protocol: a good answer starts with this regular expression", metavar="REGEX"
    )
    reject: str = option(
        "",
        "custom protocol: a rejection reply starts with this regular expression",
        metavar="REGEX",
    )
    speaks_first: bool = option(
        False,
        "custom protocol: the server greets first (an SSH, FTP or IMAP banner): a probe reads "
        "the greeting --match describes, and --send, if given, keeps a session alive",
    )
    tolerance: float = option(
        WIRE_TOLERANCE, "allowed timing error in seconds", above=0, metavar="SECONDS"
    )
    budget: float = option(
        DEFAULT_BUDGET, "the whole run ends within this", above=0, metavar="SECONDS"
    )
    cap: float = option(
        DEFAULT_CAP,
        "longest wait for a timeout nothing was promised about",
        above=0,
        metavar="SECONDS",
    )
    checks: tuple[str, ...] = option(
        CHECKS,
        "which checks to run, comma-separated",
        metavar="LIST",
        parse=parse_checks,
    )
    large_path: str = option(
        DEFAULT_LARGE_PATH, "a path answering >= 4 MiB, for the write check", metavar="PATH"
    )
    flood: int = option(DEFAULT_FLOOD, "flood connections", minimum=1, metavar="N")
    resets: int = option(DEFAULT_RESETS, "RST clients", minimum=1, metavar="N")
    hogs: int = option(DEFAULT_HOGS, "idle and slowloris clients, each", minimum=1, metavar="N")
    hog_time: float = option(
        DEFAULT_HOG_TIME, "seconds of probing under hogging", above=0, metavar="SECONDS"
    )
    max_hold: int = option(
        DEFAULT_MAX_HOLD,
        "most connections the concurrency ramp holds without a promised limit",
        minimum=1,
        metavar="N",
    )
    connect_rate: float | None = option(
        None,
        "open at most this many connections per second (default: as fast as this machine can)",
        above=0,
        metavar="N",
    )
    seed: int = option(0, "random seed", minimum=0)
    connect_timeout: float = option(
        DEFAULT_CONNECT_TIMEOUT,
        "seconds every client waits for the handshake",
        above=0,
        metavar="SECONDS",
    )
    probe_timeout: float = option(
        PROBE_TIMEOUT, "seconds a probe waits for its answer", above=0, metavar="SECONDS"
    )
    recovery: float = option(
        RECOVERY,
        "seconds the server gets to answer again after an attack",
        above=0,
        metavar="SECONDS",
    )
    processes: int | None = option(
        None,
        "processes the attack stages spread their clients over (default: one per core when "
        "the attack is big enough to need more than one)",
        minimum=1,
        metavar="N",
    )

    def __post_init__(self) -> None:
        if not isinstance(self.target, Target):
            raise ValueError(f"target: expected a Target, got {type(self.target).__name__}")
        if not isinstance(self.expectations, Expectations):
            raise ValueError("expectations: expected an Expectations")
        object.__setattr__(self, "checks", tuple(self.checks))
        for declared in options(type(self)):
            if declared.parse is None:
                declared.check(getattr(self, declared.name))
        unknown = [c for c in self.checks if c not in CHECKS]
        if unknown or not self.checks:
            raise ValueError(
                f"checks: expected some of {', '.join(CHECKS)}, got {unknown or 'none'}"
            )
        if not self.large_path.startswith("/"):
            raise ValueError(
                f"large_path: expected a path starting with '/', got {self.large_path!r}"
            )
        self.profile  # noqa: B018  # a custom protocol's missing request or bad pattern: now
        # A promise about a check that does not run is not judged (nor shown).
        object.__setattr__(self, "expectations", self.expectations.only(self.checks))
        self.schedule()  # a budget too small is bad input now, not a surprise later

    def to_json(self) -> dict[str, object]:
        """Every declared setting (the target and expectations are exported on their own)."""
        out: dict[str, object] = {}
        for declared in options(type(self)):
            value = getattr(self, declared.name)
            out[declared.name] = list(value) if isinstance(value, tuple) else value
        return out

    @functools.cached_property
    def profile(self) -> Profile:
        """The protocol profile the server is spoken to in; ValueError names a bad field."""
        return chosen_profile(self)

    def timeout_cap(self, key: str) -> float:
        """How long the check of timeout ``key`` waits for the server to close.

        With a promise E: E plus slack (twice the tolerance and up to 2 s), so a miss is seen
        as the number it is rather than "none". Without (or with ``none``): :attr:`cap`.
        The half-close check waits :attr:`half_close_cap`. A server whose idle timeout fires late
        by design (the profile's timer granularity) gets that much longer.
        """
        if key == "half-close":
            return self.half_close_cap
        if key not in TIMEOUT_KEYS:
            raise ValueError(f"key: {key!r} is not a timeout")
        expected = self.expectations.get(key)
        if isinstance(expected, bool) or not isinstance(expected, int | float):
            return self.cap
        slack = 2 * self.tolerance + min(expected / 2, 2.0)
        return expected + self.profile.timer_granularity + slack

    @property
    def half_close_cap(self) -> float:
        return min(self.cap, HALF_CLOSE_CAP)

    def schedule(self) -> Schedule:
        """The budget split between the stages; ValueError when the checks asked for cannot fit.

        The stages know their own slices; they read these settings, hence the late import.
        """
        from .stages import schedule

        return schedule(self)
