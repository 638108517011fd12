"""Pure readings of chaos records: how a probe fared, and whether the server turned one away.

Every check judges through these, so "rejected", "queued" and "stalled" mean the same thing
in every row of the verdict table, and all of it is testable with hand-made records.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from ..faults.probe import FAULT as HTTP_PROBE
from ..faults.registry import traits_of
from ..protocols import Profile, Reply
from ..record import ClientRecord, Outcome

__all__ = [
    "AT_ONCE",
    "ProbeState",
    "ProbeView",
    "announced_close",
    "describe_probes",
    "said",
    "seconds",
    "server_closed_within",
    "turned_away",
    "view_probe",
    "within_idle",
]

# Closed within this of the handshake, unasked: a rejection, not a timeout. Rejections take
# milliseconds; queue and idle timeouts of real servers are a second or more.
AT_ONCE = 0.25


class ProbeState(StrEnum):
    """How one probe fared; only ``ok`` counts as available."""

    OK = "ok"  # a good answer (status < 500 for HTTP) within the latency limit
    QUEUED = "queued"  # a good answer, but slower than the latency limit
    REJECTED = "rejected"  # refused, reset, closed unanswered, a rejection or another answer
    STALLED = "stalled"  # no answer at all before the probe gave up


@dataclass(frozen=True, kw_only=True)
class ProbeView:
    """A probe record read as a state, with its latency (seconds from start) when answered."""

    state: ProbeState
    latency: float | None
    status: int | None
    started: float

    def __post_init__(self) -> None:
        if not isinstance(self.state, ProbeState):
            raise ValueError(f"state: expected a ProbeState, got {self.state!r}")
        if self.latency is not None and self.latency < 0:
            raise ValueError(f"latency: expected seconds >= 0, got {self.latency!r}")

    @property
    def available(self) -> bool:
        return self.state is ProbeState.OK

    @property
    def answered_at(self) -> float:
        """When the answer came (its start if it never did)."""
        return self.started + (self.latency or 0.0)

    def describe(self) -> str:
        """E.g. ``ok (2 ms)``, ``rejected (503 after 1.00 s)``, ``stalled``."""
        parts = []
        if self.status is not None and self.state is not ProbeState.OK:
            parts.append(str(self.status))
        if self.latency is not None:
            parts.append(seconds(self.latency) if parts == [] else f"after {seconds(self.latency)}")
        return f"{self.state} ({' '.join(parts)})" if parts else str(self.state)


def seconds(value: float) -> str:
    """Seconds for people: milliseconds below one second, else two decimals."""
    if value < 0.01:
        return f"{value * 1000:.1f} ms"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def said(record: ClientRecord, limit: int = 120, *, first_line: bool = False) -> str:
    """The printable text of the server's first reply to ``record`` (its first line only, if
    asked), control bytes as spaces: PostgreSQL's ``FATAL ... role "x" does not exist`` out of
    its binary framing, an HTTP status line as it is. "" if nothing came."""
    text = record.reply_head.split("\r\n", 1)[0] if first_line else record.reply_head
    text = "".join(c if c.isprintable() else " " for c in text)
    return " ".join(text.split())[:limit]


def announced_close(record: ClientRecord, profile: Profile) -> bool:
    """Whether the server's first or last reply to a holder said it would close after it
    (HTTP's ``Connection: close``): a keep-alive declined, not a connection cut."""
    last = record.detail.get("last_reply_head")
    heads = [record.reply] + ([last.encode("latin-1", "replace")] if isinstance(last, str) else [])
    return any(profile.announces_close(head) for head in heads)


def within_idle(idle: float | None) -> float:
    """:data:`AT_ONCE`, or half the idle timeout if that is shorter (so idlers are not mistaken)."""
    return AT_ONCE if idle is None else min(AT_ONCE, idle / 2)


def server_closed_within(record: ClientRecord, window: float) -> bool:
    """True if the server ended this connection within ``window`` seconds of the handshake."""
    after = record.server_closed_after
    return after is not None and after <= window


def turned_away(record: ClientRecord, profile: Profile, *, window: float) -> bool:
    """True if the server turned this connection away rather than serving or timing it out.

    A rejection is recognised by what it is, whenever it came: a refused connect, or a first
    reply the profile reads as one (a 503, ``-ERR max number of clients reached``). Within
    ``window`` of the handshake, also: the connection broke (an error, e.g. our write after
    its RST), or the server ended it after sending a silent client bytes nobody asked for (a
    busy reply the profile does not know), or (HTTP) ended it under a client that never
    reads. A server answering what a client sent and hanging up may just be a one-shot
    server, so only a silent client's answer counts.
    """
    if profile.rejected(record):
        return True
    if record.connected is None:
        return False
    # Broken at once: reset by the server, or an error of ours (e.g. a write after its RST).
    ended = record.closed if record.outcome is Outcome.ERROR else record.reset
    if ended is not None and ended - record.connected <= window:
        return True
    if not server_closed_within(record, window):
        return False
    traits = traits_of(record.kind)
    if not traits.sends:
        return record.bytes_received > profile.greeting(record.reply)
    if traits.half_closes:
        return False
    return bool(record.detail.get("never_read"))


def view_probe(record: ClientRecord, *, limit: float) -> ProbeView:
    """Classify a probe record: an HTTP ``probe``, or an ``ask`` in another protocol.

    HTTP: answered means a complete response; 5xx is a rejection. ``ask``: answered means the
    reply was whole; only the profile's good answer is good.
    """
    latency = record.number("latency")
    if record.kind == HTTP_PROBE.kind:
        answered = record.outcome is Outcome.COMPLETED and record.status is not None
        good = answered and record.status is not None and record.status < 500
    else:
        reply = record.detail.get("reply")
        answered = reply in (Reply.GOOD, Reply.REJECTION, Reply.OTHER)
        good = reply == Reply.GOOD
    if good:
        state = ProbeState.OK if latency is not None and latency <= limit else ProbeState.QUEUED
    elif answered or record.outcome in (
        Outcome.REFUSED,
        Outcome.CLOSED_BY_SERVER,
        Outcome.RESET_BY_SERVER,
        Outcome.ERROR,
    ):
        state = ProbeState.REJECTED
    else:
        state = ProbeState.STALLED
    return ProbeView(state=state, latency=latency, status=record.status, started=record.started)


def describe_probes(views: Iterable[ProbeView]) -> str:
    """``3/4 ok, 1 rejected``: counts per state, most common first after ``ok``."""
    views = list(views)
    if not views:
        return "no probes"
    counts = {s: sum(1 for v in views if v.state is s) for s in ProbeState}
    text = [f"{counts[ProbeState.OK]}/{len(views)} ok"]
    text += [f"{n} {s}" for s, n in counts.items() if n and s is not ProbeState.OK]
    return ", ".join(text)
