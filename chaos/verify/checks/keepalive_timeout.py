"""Check: keep-alive timeout. A client sends one complete request (the profile's keep-alive
message: HTTP's keep-alive ``GET``, Redis ``PING``), reads the answer, then stays silent; when
does the server close it?

Measured from the answer to the server's FIN or RST: nginx's ``keepalive_timeout``, Redis's
``timeout`` after a command (a goodbye the server writes as it closes is no answer). A protocol
with no keep-alive message has nothing to measure; a rejection or another answer is reported,
never timed; an answer saying the server closes keeps nothing alive. What the answer itself says
of the timeout (HTTP's ``Keep-Alive: timeout=N``) follows the measurement: a server may close
later than it says (Node adds a second) or, worse for a client that reuses the connection near
the end, earlier.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...faults import HolderParams
from ...plan import ClientSpec
from ...protocols import Reply
from ...record import ClientRecord
from ..observe import announced_close
from ..settings import VerifySettings
from ..stage import Role
from ..verdict import CheckResult, judged, undecided
from .timing import judge_timeout

__all__ = ["CHECK", "ROLE", "judge", "missing", "roles"]

CHECK = "keepalive-timeout"
ROLE = "keepalive"


def missing(settings: VerifySettings) -> str | None:
    """Why this protocol cannot be measured here, or None."""
    if settings.profile.keepalive(str(settings.target)) is None:
        return f"{settings.profile.name} has no keep-alive message"
    return None


def roles(settings: VerifySettings, *, alone: bool = False) -> list[Role]:
    """One client (``alone`` changes nothing): a request at once, then silence until the cap."""
    profile = settings.profile
    message = profile.keepalive(str(settings.target))
    if message is None:
        return []
    params = HolderParams(
        hello=profile.hello.decode("latin-1"),
        message=message.decode("latin-1"),
        at_once=True,
        messages=1,
        hold=settings.timeout_cap(CHECK),
        connect_timeout=settings.connect_timeout,
    )
    return [Role(name=ROLE, spec=ClientSpec.of(params))]


def judge(records: Sequence[ClientRecord], settings: VerifySettings) -> CheckResult:
    """Seconds from the answer to the server ending each connection."""
    why = missing(settings)
    if why is not None:
        return undecided(CHECK, settings.expectations, why)
    samples: list[float | None] = []
    said: set[float] = set()
    for record in records:
        if record.connected is None:
            continue
        reply = settings.profile.read(record.reply, closed=record.server_ended is not None)
        if reply is Reply.OTHER:
            head = record.reply_head.split("\r\n", 1)[0][:60]
            why = f"the server answered the keep-alive message with {head!r}"
            return undecided(CHECK, settings.expectations, why)
        # From the answer to our message: what the server said after it, unasked, is its
        # goodbye as the timeout fired (vsftpd's "421 Timeout.", a 408), no new start.
        answered = record.number("last_answer") or record.number("last_reply")
        if answered is None:
            why = "the server never answered the keep-alive message"
            return undecided(CHECK, settings.expectations, why)
        end = record.server_ended_at
        if end is not None and announced_close(record, settings.profile):
            return _none_kept(settings)
        samples.append(None if end is None else end - answered)
        advertised = settings.profile.advertised_idle(record.reply)
        if advertised is not None:
            said.add(advertised)
    notes = [f"the answer said Keep-Alive: timeout={s:g}" for s in sorted(said)]
    return judge_timeout(CHECK, settings, samples, notes=notes)


def _none_kept(settings: VerifySettings) -> CheckResult:
    """A server that answers saying it closes keeps no connection alive (gunicorn's sync
    worker): no timeout to time, and no 0 s one for the plans that read it."""
    measured = "none kept: the server answered saying it closes, and closed"
    expect = settings.expectations
    return judged(
        CHECK,
        expect,
        measured=measured,
        value=None,
        holds=False,
        failure=f"expected {expect.display(CHECK)}, measured: {measured}",
        detail={},
    )
