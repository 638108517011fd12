"""Check: concurrency limit. Hold connections (see :mod:`.holding` for how many, and how), a
probe after each step; how many does the server hold at once, and what does it do past that?

Every holder ends one way (:class:`Fate`): held to the end; rejected, turned away before it
sent a request (a refused connect, a rejection reply such as a 503 or ``-ERR max number of
clients reached`` whenever it arrives, or a silent close while the server refused the step's
probe too); evicted, closed silently sooner after its last activity than the idle timeout
could fire, to make room (nginx closes the oldest idle connections past
``worker_connections``); declined, its keep-alive answered saying the server would close
(cheroot past its ``keep_alive_conn_limit``): no limit on connections, one on keeping them;
dropped, closed otherwise (an idle timeout, a request refused, an error answer that is not
the limit's); or never accepted.

The limit is read from the wire. At each rejection: how many holders that had started before
it (the accept queue is first in, first out) were still open; the most at any rejection, or
the most seen held at a quiet moment if that is more, is the limit: a connection the server
has not let go of yet (the previous step's probe, its PostgreSQL backend still exiting) makes
a rejection come one holder short. With evictions instead: the most held at a quiet moment
(when a step's probe began). Only holders the server has taken count as held: at a probe's
start, those open less those still in the kernel's accept queue (Linux shows every loopback
server's: `chaos.engine.accept_queue`). A server that stops accepting (waitress past its
``connection_limit``) leaves new connections there, connected but never served: a probe that
got no answer and is still in the queue when it gives up shows the limit, the holders open
through it less those waiting with it; earlier probes the server took and never answered may
hold slots of their own, and make that limit a range.

A probe turned away, or answered at the ramp's top with the holders silent, is asked again
(:data:`AGAIN` times, each once the server has let go of the last): a hard limit turns every one
away; answered at times and turned away at others, the server drops at random past some count
(OpenSSH's ``MaxStartups start:rate:full``), measured as a range and never passed; every one
answered means the rejections came while others took slots, so they show no limit.

For a toolkit server with ``on-accept`` dispatch the limit is ``workers + max_pending``; with
``readiness`` it is ``max_connections``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from ...protocols import Profile, Reply
from ...record import ClientRecord, Outcome
from ..expectations import NO_LIMIT
from ..observe import ProbeState, ProbeView, announced_close, said
from ..settings import VerifySettings
from ..verdict import CheckResult, judged, undecided

__all__ = [
    "AGAIN",
    "CHECK",
    "Fate",
    "Limit",
    "Step",
    "answered",
    "fate",
    "judge",
    "open_during",
    "read_limit",
]

CHECK = "max-connections"
# A step's probe turned away, or answered at the ramp's top, is asked this many times more:
# a hard limit turns every one away, one that drops at random answers some and not others
# (at OpenSSH's 30%, all 24 alike one time in 5,000).
AGAIN = 24


def answered(views: Sequence[ProbeView]) -> int:
    """How many of these probes got the good answer, in time or late."""
    return sum(1 for v in views if v.state in (ProbeState.OK, ProbeState.QUEUED))


class Fate(StrEnum):
    """How one holder ended."""

    HELD = "held"  # open until we closed it
    REJECTED = "rejected"  # turned away before it sent a request
    EVICTED = "evicted"  # closed silently, too soon for the idle timeout: room for another
    DECLINED = "declined"  # answered, saying the server would close: a keep-alive refused
    DROPPED = "dropped"  # closed by the server otherwise: an idle timeout, a refused request
    UNACCEPTED = "unaccepted"  # the handshake never completed


def fate(
    record: ClientRecord,
    profile: Profile,
    *,
    idle: float | None,
    tolerance: float,
    refused_by: float | None = None,
) -> Fate:
    """How the server ended holder ``record`` (see the module docstring).

    ``refused_by``: the end of the probe of this holder's step, if the server refused it; a
    silent close before that, and before any keep-alive, is a rejection. "Too soon for the
    idle timeout" counts from our SYN or our last message, which the server's clock cannot
    precede, less the tolerance; with no idle timeout known, nothing is too soon.
    """
    if record.outcome is Outcome.REFUSED:
        return Fate.REJECTED
    if record.connected is None:
        return Fate.UNACCEPTED
    kept = _kept_alive_at(record)
    reply = profile.read(record.reply, closed=record.server_ended is not None)
    if reply is Reply.REJECTION:
        early = kept is None or (record.first_byte is not None and record.first_byte < kept)
        return Fate.REJECTED if early else Fate.DROPPED
    end = record.server_ended_at
    if end is None:
        return Fate.HELD
    last = max(record.started, record.number("last_answer") or 0.0, record.last_sent or 0.0)
    if idle is not None and end - last >= idle - tolerance:
        return Fate.DROPPED  # as late as the idle timeout: that timeout
    if reply is Reply.OTHER:
        return Fate.DROPPED  # refused with an error of its own (an unknown database, say)
    if reply is Reply.GOOD and announced_close(record, profile):
        return Fate.DECLINED
    silent = reply is Reply.NONE and kept is None
    if silent and refused_by is not None and end <= refused_by:
        return Fate.REJECTED
    return Fate.DROPPED if idle is None else Fate.EVICTED


# Holders the server closed while holding no slot for another.
_CLOSED = frozenset({Fate.DROPPED, Fate.DECLINED})


def _kept_alive_at(record: ClientRecord) -> float | None:
    """When the holder's first keep-alive message was due (None: it sent none). It went then
    or a little later, so a reply before it came before any keep-alive."""
    after = record.number("kept_alive_after")
    if after is None or record.connected is None:
        return None
    return record.connected + after


def _ended(record: ClientRecord) -> float | None:
    """When the connection ended for a server that saw it (a refused one: when refused)."""
    if record.outcome is Outcome.REFUSED:
        return record.closed or record.started
    return record.ended_at


def open_during(records: Sequence[ClientRecord], began: float, ended: float) -> int:
    """Holders that started before ``began`` and were open through ``ended``."""
    count = 0
    for record in records:
        if record.connected is None or record.started >= began:
            continue
        end = record.ended_at
        if end is None or end >= ended:
            count += 1
    return count


@dataclass(frozen=True, kw_only=True)
class Step:
    """One step of the ramp: holders asked for so far, how those before its probe fared, and
    the probe (with when it ran)."""

    count: int
    held: int  # holders open through the probe
    # Holders the server had taken when the probe began (open, less those in its accept
    # queue): the server quiet after the step's arrivals.
    quiet: int
    fates: dict[str, int]
    probe: ProbeView | None
    began: float  # the probe's start and end (monotonic)
    ended: float
    # Connections in the server's accept queue once the probe gave up; None where the kernel
    # cannot be read, or the server may have been still taking the step's holders.
    queued: int | None = None
    # A refused probe asked again, one after another with the same holders open (:data:`AGAIN`).
    again: tuple[ProbeView, ...] = ()

    @classmethod
    def seen(
        cls,
        fated: Sequence[tuple[ClientRecord, Fate]],
        count: int,
        began: float,
        ended: float,
        probe: ProbeView | None,
        waiting: int | None = None,
        queued: int | None = None,
        again: Sequence[ProbeView] = (),
    ) -> Step:
        """The step whose probe ran from ``began`` to ``ended``, the accept queue holding
        ``waiting`` as it began and ``queued`` once it gave up: the holders open through it,
        those the server had taken when it began, how those before it fared."""
        before = [(r, f) for r, f in fated if r.started < began]
        # One turned away was never held, however late its rejection came (a starved
        # PostgreSQL backend refused its holder after the probe had been refused).
        records = [r for r, f in before if f is not Fate.REJECTED]
        return cls(
            count=count,
            held=open_during(records, began, ended),
            quiet=max(0, open_during(records, began, began) - (waiting or 0)),
            fates=count_fates(before),
            probe=probe,
            began=began,
            ended=ended,
            queued=queued,
            again=tuple(again),
        )

    @property
    def at_random(self) -> bool:
        """The probe asked again with the same holders open was answered at times and turned
        away at others: the server turns connections away at random past some count (OpenSSH's
        ``MaxStartups start:rate:full``), not at one limit. None of ours ended meanwhile (a
        slot another took and gave back would answer every later probe, not some)."""
        refused = sum(1 for v in self.again if v.state is ProbeState.REJECTED)
        return answered(self.again) > 0 and refused > 0 and self.held == self.quiet

    @property
    def full(self) -> int | None:
        """Holders the server had taken when it stopped accepting: the probe got no answer and
        still waits in the accept queue, with the holders it has not taken (and any earlier
        probe left there: so at least this many); None if this step does not show that."""
        if self.probe is None or self.probe.state is not ProbeState.STALLED or not self.queued:
            return None
        return max(0, self.held + 1 - self.queued)

    @property
    def confirmed(self) -> bool:
        """The probe got an answer (or a close): the server had drained its accept queue, so
        the holders before it were accepted by the server, not only by the kernel."""
        return self.probe is not None and self.probe.state is not ProbeState.STALLED

    def to_json(self) -> dict[str, object]:
        return {
            "level": self.count,
            "held": self.held,
            "quiet": self.quiet,
            **self.fates,
            "probe": None if self.probe is None else self.probe.describe(),
            "probe_state": None if self.probe is None else self.probe.state.value,
            "accept_queue": self.queued,
            "again": [v.describe() for v in self.again],
        }


@dataclass(frozen=True, kw_only=True)
class Limit:
    """What the holders show: the limit (None: none seen), how the server acts at it, the
    most held at once, and how the holders fared."""

    held: int | None
    how: str
    peak: int  # the most held at a quiet moment (a probe's start), the server's holding
    fates: dict[str, int]
    dropped_after: float | None  # median seconds a dropped or declined holder lasted
    stalled: bool = False  # the last probe got no answer: the server may have stopped accepting
    # Earlier probes the server took and never answered: each may hold a slot still (we
    # closed it; the server may not have read that yet), so the limit is up to this many more.
    lingering: int = 0
    # A limit that turns connections away at random: the fewest held at a step whose probes
    # were answered at times (None: a limit of one number).
    random_from: int | None = None
    # Why the rejections show no limit: every probe asked again at the ramp's top was
    # answered, so they came while slots were taken by others ("": they show one).
    room: str = ""


def _how(record: ClientRecord) -> str:
    if record.outcome is Outcome.REFUSED:
        return "refused"
    head = said(record, 60, first_line=True)
    if head:
        return head
    return "reset" if record.reset is not None else "closed before any request"


def _evicted(fated: Sequence[tuple[ClientRecord, Fate]]) -> str:
    """Which holders the server closed to stay within its limit: the oldest idle ones (nginx),
    or each one past it (a turning away the protocol's profile does not know), with what the
    server said as it did."""
    evicted = [r for r, f in fated if f is Fate.EVICTED]
    held = [r.started for r, f in fated if f is Fate.HELD]
    count = f"{len(evicted):,} in all"
    if held and min(r.started for r in evicted) < max(held):
        return f"past it the oldest idle ones were closed, {count}"
    said_so = said(evicted[0], 60, first_line=True)
    told = f", told {said_so!r}" if said_so else ""
    return f"past it each new one was closed at once{told}, {count}"


def _room(steps: Sequence[Step], rejected_at: int) -> str:
    """The server had room at the ramp's top with as many of ours open as when it turned
    one away (``rejected_at``): every probe asked again there was answered, none of ours
    ending meanwhile (as :meth:`Step.at_random` asks); "" otherwise (fewer open by then: an
    idle timeout made that room)."""
    last = steps[-1] if steps else None
    if last is None or not last.again or last.held != last.quiet or last.held < rejected_at:
        return ""
    if answered(last.again) < len(last.again):
        return ""
    return f"every probe asked again with {last.held:,} held was answered"


def count_fates(fated: Sequence[tuple[ClientRecord, Fate]]) -> dict[str, int]:
    """Holders per fate, every fate listed."""
    return {f.value: sum(1 for _, g in fated if g is f) for f in Fate}


def read_limit(
    fated: Sequence[tuple[ClientRecord, Fate]], steps: Sequence[Step], *, served: int = 0
) -> Limit:
    """The limit a whole ramp's holders show (see the module docstring). ``served``: the most
    connections seen open at once by any means (a request answered with N - 1 held, in this
    ramp or another): a rejection below it had a slot taken by a connection not let go of."""
    counts = count_fates(fated)
    dropped = sorted(
        end - r.started for r, f in fated if f in _CLOSED and (end := r.server_ended_at) is not None
    )
    after = dropped[len(dropped) // 2] if dropped else None
    alive = [r for r, f in fated if f is not Fate.REJECTED]
    # Counted when quiet, after the step's arrivals settled: a close is seen a scheduler's
    # moment after the server sent it, which counts double while holders pour in.
    peak = max((s.quiet for s in steps if s.confirmed), default=0)
    # A probe asked again and answered, none of ours ended meanwhile: one more than held.
    again = [s.held + 1 for s in steps if answered(s.again) and s.held == s.quiet]
    served = max([served, *again])
    stalled = bool(steps) and not steps[-1].confirmed
    rejected = [r for r, f in fated if f is Fate.REJECTED]
    made = functools.partial(Limit, peak=peak, fates=counts, dropped_after=after)
    mixed = [s for s in steps if s.at_random]
    if mixed:
        # Held at once: the most seen, a probe answered counting one more.
        top = max(peak, served)
        shown = min(mixed, key=lambda s: s.held)
        said_so = f": {_how(rejected[0])}" if rejected else ""
        seen = f"with {shown.held:,} held, {answered(shown.again)} of {len(shown.again)} probes"
        seen += " answered"
        return made(
            held=top,
            how=f"past {shown.held:,} it turns new connections away at random ({seen}{said_so})",
            random_from=shown.held,
        )
    if rejected:
        first = min(rejected, key=lambda r: _ended(r) or r.started)
        # The most open at any rejection, and never fewer than the server was seen holding at
        # once (a quiet moment's count, or a request answered with so many held): a rejection
        # below that had a slot taken by another.
        at_rejections = [open_during(alive, r.started, _ended(r) or r.started) for r in rejected]
        held = max(peak, served, *at_rejections)
        return made(held=held, how=_how(first), room=_room(steps, max(at_rejections)))
    if counts[Fate.EVICTED.value]:
        return made(held=peak, how=_evicted(fated))
    full = [(i, taken) for i, s in enumerate(steps) if (taken := s.full) is not None]
    if full:
        held = max(peak, *(taken for _, taken in full))
        how = "past it new connections waited in the kernel's accept queue, never accepted"
        lingering = sum(1 for s in steps[: full[0][0]] if not s.confirmed)
        return made(held=held, how=how, lingering=lingering)
    return made(held=None, how="", stalled=stalled)


def judge(
    limit: Limit,
    steps: Sequence[Step],
    settings: VerifySettings,
    *,
    cut: str | None = None,
    plan: dict[str, object] | None = None,
) -> CheckResult:
    """The held count at the first rejection, or "no rejection up to N held"; inconclusive
    where the holders could not be held (the reason in numbers), never a wrong number."""
    expect = settings.expectations
    detail: dict[str, object] = {
        "steps": [s.to_json() for s in steps],
        "fates": limit.fates,
        "peak": limit.peak,
        "plan": plan,
        "cut": cut,
    }
    if not steps:
        return undecided(CHECK, expect, cut or "no step ran", detail=detail)
    promised = expect.get(CHECK)

    def measured_as(measured: str, value: int | None, holds: bool) -> CheckResult:
        failure = f"expected {promised} held at once, measured: {measured}"
        return judged(
            CHECK,
            expect,
            measured=measured,
            value=value,
            holds=holds,
            failure=failure,
            detail=detail,
        )

    if limit.held is not None and limit.random_from is not None:
        measured = f"{limit.random_from:,} to {limit.held:,} held at once; {limit.how}"
        count = expect.count(CHECK)
        if count is None or count < limit.held:
            return measured_as(measured, None, promised is None)
        why = (
            f"{measured}: a limit that drops at random may hold more than was seen, up to "
            f"the {count:,} promised, or not"
        )
        return undecided(CHECK, expect, why, measured=measured, detail=detail)
    if limit.held is not None:
        if limit.fates.get(Fate.REJECTED.value):
            measured = f"{limit.held:,} held, the next rejected ({limit.how})"
        else:
            measured = f"{limit.held:,} held at once; {limit.how}"
        if limit.lingering:
            top = limit.held + limit.lingering
            measured = (
                f"{limit.held:,} to {top:,} held at once; {limit.how} (before it, "
                f"{limit.lingering:,} probes taken but never answered may have held slots)"
            )
            count = expect.count(CHECK)
            if count is not None and limit.held <= count <= top:
                return undecided(CHECK, expect, measured, measured=measured, detail=detail)
            return measured_as(measured, None, False)
        if limit.room:
            # Turned away, then room for more with as many open: the rejections came while
            # slots were taken by connections not ours, or ours the server had not let go of
            # (the children of a previous run's sshd connections, still exiting).
            why = f"{measured}, yet {limit.room}: the rejections came while others took slots"
            count = expect.count(CHECK)
            if count is not None and count < limit.held:
                return measured_as(measured, None, False)
            return undecided(CHECK, expect, why, measured=measured, detail=detail)
        if limit.held == 0:  # a promise is a count of at least one
            # Not one of ours held, the first turned away: the server's slots were taken by
            # connections that were not ours, or ours it had not let go of yet (an exim
            # child still resolving an earlier client's address). No evidence of its limit.
            why = f"{measured}: the first holder was turned away with none of ours open"
            return undecided(CHECK, expect, why, measured=measured, detail=detail)
        return measured_as(measured, limit.held, limit.held == promised)
    measured = f"no rejection up to {limit.peak:,} held at once"
    short = _short(limit, steps, cut)
    if short:
        measured += f" ({short})"
    count = expect.count(CHECK)
    # Held fewer than planned: the plan's numbers (the connect rate against the idle timeout,
    # say) are what the reader needs to tell this machine's limits from the server's.
    planned = f"; planned: {plan['why']}" if plan and plan.get("why") else ""
    if count is not None and limit.peak <= count:
        why = f"{measured}: {count + 1:,} were needed{planned}"
        return undecided(CHECK, expect, why, measured=measured, detail=detail)
    top = steps[-1].count
    if promised is NO_LIMIT and limit.peak < top:
        why = f"{measured}: {top:,} were asked for{planned}"
        return undecided(CHECK, expect, why, measured=measured, detail=detail)
    return measured_as(measured, None, promised is NO_LIMIT)


def _short(limit: Limit, steps: Sequence[Step], cut: str | None) -> str:
    """Why fewer were held than asked for: drops (and after how long), unaccepted, a cut."""
    parts = []
    dropped = limit.fates.get(Fate.DROPPED.value, 0)
    declined = limit.fates.get(Fate.DECLINED.value, 0)
    if dropped or declined:
        after = "" if limit.dropped_after is None else f" after {limit.dropped_after:.1f} s"
        closed = f"{dropped + declined:,} closed by the server{after}"
        said_so = "answering a keep-alive, saying it would close"
        if declined:
            closed += f" ({declined:,} {said_so})" if dropped else f", each {said_so}"
        parts.append(closed)
    unaccepted = limit.fates.get(Fate.UNACCEPTED.value, 0)
    if unaccepted:
        parts.append(f"{unaccepted:,} never accepted")
    if limit.stalled:
        last = steps[-1]
        if last.probe is None:
            parts.append(f"no probe ran at {last.count:,}")
        else:
            parts.append(f"the last probe got no answer with {last.held:,} held")
    if cut:
        parts.append(cut)
    return "; ".join(parts)
