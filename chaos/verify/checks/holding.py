"""How the two limit checks hold connections: a plan made from the calibration, before any.

The counts to hold come from the promises: with ``max-served`` N promised, N - 1 then N (a
request is answered with N - 1 held and refused with N held); with ``max-connections`` L, L
then L + 1 (the one past the limit is turned away, or room is made for it). With neither, 1,
2, 4, ... up to ``max_hold``, and the limits are searched for. Holders are opened at the rate
this machine was calibrated to open connections at and are held by the ``holder`` fault; they
are all in once the server has taken them, at the slower of that rate and the accept rate it
was calibrated to.

Whether holders must keep their connections alive depends on the server's idle timeout (the
one measured, else the one promised): silent holders are cut by it, so if opening them all
takes too long, each sends the protocol's keep-alive message every half idle timeout. When
neither works here (no keep-alive message, or more keep-alive requests than the server was
seen to answer), the plan says so with the numbers, and the checks are inconclusive; but
opening them a little past the idle timeout by the calibration's numbers is still tried,
silently, where nothing caps our rate: those numbers time a burst of a few hundred, too
rough to rule it out (one stall there halves them), and a holder cut meanwhile is read as
dropped, which leaves the limits undecided, never wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...faults import HolderParams
from ...plan import ClientSpec
from ..calibration import Calibration
from ..expectations import NO_LIMIT
from ..settings import VerifySettings

__all__ = [
    "DRAIN_SHARE",
    "KEEPALIVE_LOAD",
    "KEEPALIVE_SHARE",
    "SETTLE",
    "SILENT_SHARE",
    "TIGHT_SHARE",
    "TRY_SHARE",
    "HoldPlan",
    "doubling",
    "plan_holding",
]

# Holders may stay silent when opening the most of them takes under this share of the idle
# timeout: its clock starts at the server's accept, after our SYN, and the probes that follow
# take milliseconds. Past a half, it is tight, and the plan says so; a holder the server does
# cut is read as dropped, which makes the verdict inconclusive, never wrong.
SILENT_SHARE = 0.9
TIGHT_SHARE = 0.5
# Up to this share by the calibration's rates, silent holders are still tried (see above).
TRY_SHARE = 1.2
# A keep-alive message every this share of the idle timeout: two chances per idle period.
KEEPALIVE_SHARE = 0.5
# Keep-alive requests may ask at most this share of the answers/s the server was seen to give.
KEEPALIVE_LOAD = 0.5
# After a step's holders have all connected, this long before its probe: a rejection sent at
# accept has reached us by then on any loopback.
SETTLE = 0.05
# A probe still in the server's accept queue when it gives up shows a server that stopped
# accepting only if the server, at its calibrated rate, takes the step's new holders within
# this share of the probe's timeout: else it may only be behind.
DRAIN_SHARE = 0.25


def doubling(top: int) -> tuple[int, ...]:
    """1, 2, 4, ... up to ``top`` (``top`` itself last)."""
    out, level = [], 1
    while level < top:
        out.append(level)
        level *= 2
    return (*out, top)


@dataclass(frozen=True, kw_only=True)
class HoldPlan:
    """What the limit checks will hold, how, and why; ``undecidable`` when they cannot here."""

    counts: tuple[int, ...]  # hold this many in turn (cumulative), with a probe after each
    searching: bool  # nothing promised: the counts double and the limits are searched for
    rate: float | None  # holders opened per second (None: as fast as they go)
    opening: float  # seconds the calibration says opening the most takes
    message: str  # the keep-alive message ("" holds silently)
    hello: str  # sent once on connecting (PostgreSQL's startup packet)
    interval: float  # seconds between keep-alive messages
    messages: int | None  # most keep-alive messages a connection may send
    why: str  # how it was planned, in numbers
    undecidable: str | None = None
    accept_rate: float | None = None  # connections/s the server took a burst at (calibrated)

    def __post_init__(self) -> None:
        if not self.counts or min(self.counts) < 1 or list(self.counts) != sorted(self.counts):
            raise ValueError(f"counts: expected rising counts >= 1, got {self.counts}")
        if self.interval <= 0:
            raise ValueError(f"interval: must be > 0, got {self.interval}")

    @property
    def top(self) -> int:
        return self.counts[-1]

    def drains(self, count: int, within: float) -> bool:
        """Whether the server, at its calibrated accept rate, takes ``count`` new holders
        from its accept queue within ``within`` seconds (False when that rate is unknown)."""
        return self.accept_rate is not None and count / self.accept_rate <= within

    def holders(self, count: int, *, hold: float, connect_timeout: float) -> ClientSpec:
        """``count`` more holders, each held up to ``hold`` seconds."""
        params = HolderParams(
            rate=self.rate,
            hello=self.hello,
            message=self.message,
            interval=self.interval,
            messages=self.messages,
            hold=hold,
            connect_timeout=connect_timeout,
        )
        return ClientSpec.of(params, count=count)

    def to_json(self) -> dict[str, object]:
        return {
            "counts": list(self.counts),
            "searching": self.searching,
            "rate": self.rate,
            "opening": self.opening,
            "keepalive": self.message or None,
            "interval": self.interval if self.message else None,
            "why": self.why,
            "undecidable": self.undecidable,
        }


def _counts(settings: VerifySettings) -> tuple[tuple[int, ...], bool]:
    expect = settings.expectations
    served, limit = expect.count("max-served"), expect.count("max-connections")
    chosen = set()
    if served is not None and "max-served" in settings.checks:
        chosen |= {served - 1, served}
    if limit is not None and "max-connections" in settings.checks:
        # L held and seen held (the step's probe is one more: past the limit), then one past
        # it: a server that makes room by closing idle ones in batches (nginx) holds fewer
        # once it has, so only the step at L shows L.
        chosen |= {limit, limit + 1}
    if expect.get("max-connections") is NO_LIMIT and "max-connections" in settings.checks:
        chosen.add(settings.max_hold)  # a promise of none: hold all the run may
    chosen.discard(0)
    if chosen:
        return tuple(sorted(chosen)), False
    return doubling(settings.max_hold), True


def plan_holding(
    settings: VerifySettings,
    calibration: Calibration | None,
    *,
    idle: float | None,
    time_left: float,
) -> HoldPlan:
    """The plan for holding what the promises (or the search) need within ``time_left`` s.

    ``idle`` is the server's idle timeout as measured (else as promised), None if it has
    none or it is unknown.
    """
    counts, searching = _counts(settings)
    top = counts[-1]
    profile = settings.profile
    host = str(settings.target)
    keepalive = profile.keepalive(host)
    rate = None if calibration is None else calibration.connect_rate
    capped = False
    if rate is not None and settings.connect_rate is not None:
        capped = settings.connect_rate < rate
        rate = min(rate, settings.connect_rate)
    hello = profile.hello.decode("latin-1")
    accepted = None if calibration is None else calibration.accept_rate
    taken = rate if rate is None or accepted is None else min(rate, accepted)

    def made(
        why: str, *, message: bytes = b"", interval: float = 1.0, undecidable: str | None = None
    ) -> HoldPlan:
        return HoldPlan(
            counts=counts,
            searching=searching,
            rate=rate,
            opening=0.0 if taken is None else top / taken,
            message=message.decode("latin-1"),
            hello=hello,
            interval=interval,
            messages=profile.keepalive_limit,
            why=why,
            undecidable=undecidable,
            accept_rate=accepted,
        )

    if rate is None:
        why = "could not time our connects"
        return made(
            why, undecidable=f"{why}: {calibration.describe() if calibration else 'no calibration'}"
        )
    assert taken is not None
    shown = f"opened {rate:,.0f} connections/s"
    if taken < rate:
        shown += f", the server accepted {taken:,.0f} connections/s"
    opening = top / taken
    shown += f": holding {top:,} takes {opening:.2f} s"
    fits = opening + len(counts) * (SETTLE + settings.probe_timeout)
    if not searching and fits > time_left:
        return made(
            shown,
            undecidable=f"{shown} and its probes up to {fits:.1f} s; {time_left:.1f} s were left",
        )
    if idle is None:
        return made(f"{shown}; no idle timeout is known, so holders stay silent")
    interval = idle * KEEPALIVE_SHARE
    needed = top / interval
    served = None if calibration is None else calibration.serve_rate
    cheap = served is not None and needed <= KEEPALIVE_LOAD * served
    if keepalive is not None and cheap:
        why = f"{shown}; a keep-alive every {interval:.2f} s ({needed:,.0f} requests/s at most)"
        return made(why, message=keepalive, interval=interval)
    if opening <= idle * SILENT_SHARE:
        inside = "well inside" if opening <= idle * TIGHT_SHARE else "tight inside"
        return made(f"{shown}, {inside} the {idle:.2f} s idle timeout: holders stay silent")
    if opening <= idle * TRY_SHARE and not capped:
        return made(
            f"{shown}, about the {idle:.2f} s idle timeout: holders stay silent (the calibration's "
            "short burst is too rough to rule it out; any the server cuts first leave the "
            "limits undecided)"
        )
    past = f"{shown}, past what the {idle:.2f} s idle timeout allows"
    if keepalive is None:
        return made(
            past, undecidable=f"{past}; {profile.name} has no keep-alive message to hold them"
        )
    if served is None:
        answered = "the server's answers could not be timed"
    else:
        answered = f"more than {KEEPALIVE_LOAD:.0%} of the {served:,.0f}/s the server answered"
    return made(
        past,
        undecidable=f"{past}; keeping them alive needs {needed:,.0f} requests/s, {answered}",
    )
