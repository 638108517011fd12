"""Check: request deadline. A client trickles a request that never ends, each piece well
inside the idle timeout; is it cut, and how long after its first byte?

HTTP: slowloris (a request line, then a header line per interval, never the blank line).
Other protocols: the start of a request that never ends (the profile's), then one letter per
interval. A server that answers each piece (an echo) is never cut: honest.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ...faults import SlowlorisParams, SlowSendParams
from ...params import FaultParams
from ...plan import ClientSpec
from ...protocols import HttpProfile, Reply
from ...record import ClientRecord
from ..settings import VerifySettings
from ..stage import Role
from ..verdict import CheckResult, undecided
from .timing import judge_timeout

__all__ = ["CHECK", "ROLE", "judge", "roles", "trickle_interval"]

CHECK = "request-timeout"
ROLE = "trickle"
# "Request Timeout": the one answer that means the deadline cut the request.
TIMEOUT_STATUS = 408
# Without a known idle timeout, a piece every 0.2 s stays under any plausible one.
DEFAULT_INTERVAL = 0.2
# A quarter of the idle timeout: slow, yet four chances per idle period to stay alive.
IDLE_FRACTION = 0.25


def trickle_interval(settings: VerifySettings) -> float:
    """Seconds between pieces: a fraction of the expected idle timeout, at most 0.2 s."""
    idle = settings.expectations.seconds("idle-timeout")
    if idle is None:
        return DEFAULT_INTERVAL
    return min(DEFAULT_INTERVAL, idle * IDLE_FRACTION)


def roles(settings: VerifySettings, *, alone: bool = False) -> list[Role]:
    """The check's one client (``alone`` changes nothing: it is one connection already)."""
    cap = settings.timeout_cap(CHECK)
    interval = trickle_interval(settings)
    return [Role(name=ROLE, spec=ClientSpec.of(trickler(settings, hold=cap, interval=interval)))]


def trickler(settings: VerifySettings, *, hold: float, interval: float) -> FaultParams:
    """A client trickling an endless request: slowloris (HTTP), else the profile's unending
    request a byte at a time."""
    profile = settings.profile
    if isinstance(profile, HttpProfile):
        return SlowlorisParams(
            hold=hold, interval=interval, connect_timeout=settings.connect_timeout
        )
    letters = math.ceil(hold / interval) + 1
    return SlowSendParams(
        payload=(profile.unending + b"a" * letters).decode("latin-1"),
        hold=hold,
        interval=interval,
        chunk=1,
        connect_timeout=settings.connect_timeout,
    )


def _answered(record: ClientRecord, settings: VerifySettings) -> str | None:
    """What the server answered instead of timing out, if it did: ``400``, ``5 bytes``. A
    greeting (SMTP's banner) answers nothing, and a rejection after it (SMTP's ``421``
    closing) says the deadline cut the request, as HTTP's 408 does, or a rejection status
    (gunicorn's sync worker writes 500 as its timeout kills it; one sent at once was turned
    away before this, never timed)."""
    profile = settings.profile
    if isinstance(profile, HttpProfile):
        status = record.status
        if status is None or status == TIMEOUT_STATUS:
            return None
        return None if profile.read(record.reply, closed=True) is Reply.REJECTION else str(status)
    greeting = profile.greeting(record.reply)
    answered = record.bytes_received - greeting
    after = record.reply[greeting:]
    if answered <= 0 or (greeting and profile.read(after, closed=True) is Reply.REJECTION):
        return None
    return f"{answered} bytes"


def judge(records: Sequence[ClientRecord], settings: VerifySettings) -> CheckResult:
    """Seconds from our first byte to the server ending the connection.

    A server that answers the unfinished request (a 400, or a raw server answering the first
    piece) and closes has no deadline to measure: that is reported, never timed.
    """
    samples: list[float | None] = []
    notes = []
    for record in records:
        if record.connected is None or record.first_sent is None:
            continue
        end = record.server_ended_at
        answer = _answered(record, settings)
        if end is not None and answer is not None:
            after = end - record.first_sent
            return undecided(
                CHECK,
                settings.expectations,
                f"the server answered {answer} and closed after {after:.2f} s",
            )
        samples.append(None if end is None else end - record.first_sent)
        if end is not None and record.status is not None:
            notes.append(str(record.status))
    return judge_timeout(
        CHECK, settings, samples, notes=notes, detail={"interval": trickle_interval(settings)}
    )
