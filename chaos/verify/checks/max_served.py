"""Check: requests served under load. With connections held (the same ramp as
:mod:`.max_connections`), up to how many open connections is a new well-behaved request still
answered?

A server may accept every connection and answer 503 past a limit (or queue a request behind
idle connections until it gives up): that limit is this one. Each probe of the ramp is one
observation: answered (a good reply, however slow) or refused (a rejection, another answer, a
close, or no answer in the probe's time from a server seen to have taken it or to have left
it in its accept queue) with so many held; a probe with no answer and no such sight of the
server decides nothing (it may only have been slow). The value counts the probe's own
connection: served with N - 1 held and refused with N held is ``N``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..expectations import NO_LIMIT
from ..observe import ProbeState, ProbeView
from ..settings import VerifySettings
from ..verdict import CheckResult, judged, undecided

__all__ = ["CHECK", "Observation", "Served", "judge", "observe", "read_served"]

CHECK = "max-served"


@dataclass(frozen=True, kw_only=True)
class Observation:
    """A probe sent with ``held`` connections open: answered or not (None: no answer)."""

    held: int
    served: bool | None
    seen: str  # how the probe read: "ok (2 ms)", "rejected (503 after 1.0 ms)"


def observe(held: int, probe: ProbeView | None, *, queued: int | None = None) -> Observation:
    """The observation a probe with ``held`` connections open makes. ``queued``: the server's
    accept queue once the probe gave up, where it may be read; a probe with no answer is then
    refused, held unanswered by a server that had it (none queued) or left it waiting."""
    if probe is None:
        return Observation(held=held, served=None, seen="no probe")
    served: bool | None
    seen = probe.describe()
    if probe.state in (ProbeState.OK, ProbeState.QUEUED):
        served = True
    elif probe.state is ProbeState.REJECTED:
        served = False
    elif queued is not None:
        served = False
        where = "accepted" if queued == 0 else "left in the accept queue"
        seen = f"{seen}: {where}, never answered"
    else:
        served = None
    return Observation(held=held, served=served, seen=seen)


@dataclass(frozen=True, kw_only=True)
class Served:
    """The most held with a request answered, the fewest (above that) with one refused."""

    answered: int | None
    refused: int | None
    refusal: str  # how the refusing probe read

    @property
    def exact(self) -> bool:
        return (
            self.answered is not None
            and self.refused is not None
            and self.refused == self.answered + 1
        )

    @property
    def gap(self) -> int | None:
        """Held counts still undecided between the two (None when either is unknown)."""
        if self.answered is None or self.refused is None:
            return None
        return self.refused - self.answered - 1


def read_served(observations: Sequence[Observation]) -> Served:
    """The bracket the observations make (a refusal below an answer is ignored as noise)."""
    answered = max((o.held for o in observations if o.served), default=None)
    refusals = [
        o for o in observations if o.served is False and (answered is None or o.held > answered)
    ]
    first = min(refusals, key=lambda o: o.held, default=None)
    return Served(
        answered=answered,
        refused=None if first is None else first.held,
        refusal="" if first is None else first.seen,
    )


def judge(
    served: Served,
    settings: VerifySettings,
    *,
    top: int,
    why: str = "",
    planned: str = "",
    held_as: str = "",
) -> CheckResult:
    """``N`` when a request is answered with N - 1 held and refused with N; otherwise what is
    known, inconclusive when the promise lies in the part not measured (its reason ends with
    how the holding was `planned`), never a guess. ``held_as`` (silent, kept alive) ends
    what was measured: a server whose workers each wait on a silent connection answers
    fewer beside silent holders than beside busy ones."""
    expect = settings.expectations
    detail: dict[str, object] = {"answered": served.answered, "refused": served.refused}
    promised = expect.get(CHECK)
    count = expect.count(CHECK)
    lo, hi = served.answered, served.refused
    held = f"; {held_as}" if held_as else ""
    if lo is None and hi is None:
        return undecided(CHECK, expect, why or "no probe was answered or refused", detail=detail)
    if served.exact:
        assert lo is not None and hi is not None
        value = lo + 1
        measured = (
            f"{value:,} open: a request answered with {lo:,} held, refused with {hi:,} "
            f"held ({served.refusal}){held}"
        )
        return judged(
            CHECK,
            expect,
            measured=measured,
            value=value,
            holds=value == promised,
            failure=f"expected requests answered up to {promised} open, measured: {measured}",
            detail=detail,
        )
    if hi is None:
        assert lo is not None
        measured = f"requests answered with up to {lo:,} held"
        # Answered with more open than promised breaks it; a promise of none needs the top.
        broken = count is not None and lo + 1 > count
        kept = promised is NO_LIMIT and lo >= top
    else:
        if lo is None:
            measured = f"a request refused even with {hi:,} held ({served.refusal})"
            if hi == 0:
                # Refused with none of ours open: no evidence of a limit on ours. Our probe
                # may be refused whatever is held (a Redis asking for a password: -NOAUTH),
                # or the server's slots taken by clients that are not ours.
                why = f"{measured}{held}: refused with none of ours open, so not for ours"
                return undecided(CHECK, expect, why, measured=measured + held, detail=detail)
            broken = count is not None and count > hi
        else:
            measured = f"a request answered with {lo:,} held, refused with {hi:,} held "
            measured += f"({served.refusal})" + (f"; not narrowed: {why}" if why else "")
            broken = count is not None and not lo + 1 <= count <= hi
        broken = broken or promised is NO_LIMIT
        kept = False
    measured += held
    decided = broken or kept or promised is None
    if not decided:
        reason = f"{measured}; planned: {planned}" if planned else measured
        return undecided(CHECK, expect, reason, measured=measured, detail=detail)
    return judged(
        CHECK,
        expect,
        measured=measured,
        value=None,
        holds=kept,
        failure=f"expected requests answered up to {promised} open, measured: {measured}",
        detail=detail,
    )
