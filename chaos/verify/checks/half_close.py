"""Check: half-close. A complete request followed by our FIN (SHUT_WR): does the server
still answer, or close without answering?

``respond``: a complete response arrived (HTTP) or any byte did (other protocols: the profile's
probe is the request). ``close``: the server closed or reset unanswered. Neither within the
cap: ``no answer``, which matches no promise. A server that speaks first (SMTP's banner) cannot
be told answering from greeting, so the check is not measured there.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...faults import HalfCloseParams
from ...plan import ClientSpec
from ...protocols import HttpProfile
from ...record import ClientRecord, Outcome
from ..settings import VerifySettings
from ..stage import Role
from ..verdict import CheckResult, judged, undecided

__all__ = ["CHECK", "ROLE", "judge", "roles"]

CHECK = "half-close"
ROLE = "half-close"


def roles(settings: VerifySettings, *, alone: bool = False) -> list[Role]:
    """The check's one client (``alone`` changes nothing: it is one connection already); none
    for a server that speaks first, whose judge says why."""
    profile = settings.profile
    if profile.speaks_first:
        return []
    send = b"" if isinstance(profile, HttpProfile) else profile.probe(str(settings.target))
    params = HalfCloseParams(
        when="after",
        send=send.decode("latin-1"),
        hold=settings.half_close_cap,
        connect_timeout=settings.connect_timeout,
    )
    return [Role(name=ROLE, spec=ClientSpec.of(params))]


def judge(records: Sequence[ClientRecord], settings: VerifySettings) -> CheckResult:
    if settings.profile.speaks_first:
        why = f"{settings.profile.name} servers speak first: an answer is not told from a greeting"
        return undecided(CHECK, settings.expectations, why)
    record = next((r for r in records if r.connected is not None), None)
    if record is None:
        return undecided(CHECK, settings.expectations, "no connection could be made")
    if isinstance(settings.profile, HttpProfile):
        answered = bool(record.detail.get("got_response"))
    else:
        answered = record.bytes_received > 0
    if answered:
        value = "respond"
        measured = "respond" + (f" ({record.status})" if record.status is not None else "")
    elif record.outcome is Outcome.ERROR:
        value = "close"
        measured = f"close (the connection broke: {record.error})"
    elif record.outcome in (Outcome.CLOSED_BY_SERVER, Outcome.RESET_BY_SERVER):
        value = "close"
        measured = "close (" + ("reset" if record.outcome is Outcome.RESET_BY_SERVER else "FIN")
        measured += " without an answer)"
    else:
        value = "no answer"
        measured = f"no answer within {settings.half_close_cap:g} s"
    expected = settings.expectations.half_close
    return judged(
        CHECK,
        settings.expectations,
        measured=measured,
        value=value,
        holds=value == expected,
        failure=f"expected {expected}, but the server's answer was: {measured}",
        detail={"status": record.status, "outcome": record.outcome.value},
    )
