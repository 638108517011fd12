"""What this machine can drive against this server, measured in a fraction of a second.

Before the checks that need volume, verify opens a burst of connections as fast as it can (our
connect rate, against this target, on this machine as loaded as it is now), probes once they
have all connected (the server's accept queue is first in, first out, so that answer times how
fast it took the burst: its accept rate), and sends probes back to back on a few connections
at once (the rate at which the server answers requests on new connections). Plans are made
from these numbers, never from a constant, so a machine four times slower gets a plan four
times slower, or an honest "cannot drive this here".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..record import ClientRecord
from .observe import ProbeView

__all__ = ["Calibration", "measure"]


@dataclass(frozen=True, kw_only=True)
class Calibration:
    """Rates measured at the start of a run; None where too little happened to tell."""

    connect_rate: float | None  # connections/s we opened
    accept_rate: float | None = None  # connections/s the server took the burst at
    serve_rate: float | None  # good answers/s the server gave probes on new connections
    opened: int  # connections the burst opened
    tried: int  # connections it tried
    answered: int  # good answers to the back-to-back probes
    capped: float | None = None  # the --connect-rate cap the burst was held to, if any

    def __post_init__(self) -> None:
        for name in ("connect_rate", "accept_rate", "serve_rate", "capped"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name}: expected a rate > 0 or None, got {value!r}")
        if min(self.opened, self.tried, self.answered) < 0 or self.opened > self.tried:
            raise ValueError(f"opened: {self.opened} of {self.tried} is not a count")

    def describe(self) -> str:
        """``opened 3,900 connections/s (200 of 200); the server answered 2,100 requests/s``."""
        if self.connect_rate is None:
            opened = f"could not time our connects ({self.opened} of {self.tried} opened)"
        else:
            opened = f"opened {self.connect_rate:,.0f} connections/s"
            opened += f" ({self.opened} of {self.tried})"
            if self.capped is not None:
                opened += f", held to {self.capped:,.0f}/s by --connect-rate"
        if self.accept_rate is not None:
            opened += f"; the server accepted {self.accept_rate:,.0f}/s"
        if self.serve_rate is None:
            served = f"the server answered {self.answered} probe(s), too few to time"
        else:
            served = f"the server answered {self.serve_rate:,.0f} requests/s on new connections"
        return f"{opened}; {served}"

    def to_json(self) -> dict[str, object]:
        return {
            "connect_rate": self.connect_rate,
            "accept_rate": self.accept_rate,
            "serve_rate": self.serve_rate,
            "opened": self.opened,
            "tried": self.tried,
            "answered": self.answered,
            "capped": self.capped,
            "summary": self.describe(),
        }


def _rate(count: int, began: float, ended: float) -> float | None:
    span = ended - began
    return count / span if count >= 2 and span > 0 else None


def measure(
    burst: Sequence[ClientRecord],
    answers: Sequence[ProbeView],
    *,
    capped: float | None = None,
    after: ProbeView | None = None,
) -> Calibration:
    """The calibration the burst's records and the back-to-back probes show.

    Connect rate: connections opened, from the first attempt to the last handshake. Accept
    rate: the connections opened, from the first attempt to the answer of the probe ``after``
    the burst (None unless it was answered). Serve rate: good answers, from the first probe's
    start to the last good answer.
    """
    opened = [r.connected for r in burst if r.connected is not None]
    connect_rate = None
    if opened:
        connect_rate = _rate(len(opened), min(r.started for r in burst), max(opened))
    accept_rate = None
    if opened and after is not None and after.available and after.latency is not None:
        accept_rate = _rate(len(opened), min(r.started for r in burst), after.answered_at)
    good = [v for v in answers if v.available and v.latency is not None]
    serve_rate = None
    if good:
        last = max(v.started + (v.latency or 0.0) for v in good)
        serve_rate = _rate(len(good), min(v.started for v in answers), last)
    return Calibration(
        connect_rate=connect_rate,
        accept_rate=accept_rate,
        serve_rate=serve_rate,
        opened=len(opened),
        tried=len(burst),
        answered=len(good),
        capped=capped,
    )
