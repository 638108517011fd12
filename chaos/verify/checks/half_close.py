"""Check: half-close. A complete request followed by our FIN (SHUT_WR): does the server
still answer, or close without answering?

``respond``: a complete response arrived (HTTP) or any byte did (raw). ``close``: the server
closed or reset unanswered. Neither within the cap: ``no answer``, which matches no promise.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...faults import HalfCloseParams
from ...plan import ClientSpec
from ...record import ClientRecord, Outcome
from ..settings import VerifySettings
from ..stage import Role
from ..verdict import CheckResult, judged
from .timing import not_measured

__all__ = ["CHECK", "ROLE", "judge", "roles"]

CHECK = "half-close"
ROLE = "half-close"


def roles(settings: VerifySettings, *, alone: bool = False) -> list[Role]:
    """The check's one client (``alone`` changes nothing: it is one connection already)."""
    params = HalfCloseParams(
        when="after", hold=settings.half_close_cap, connect_timeout=settings.connect_timeout
    )
    return [Role(name=ROLE, spec=ClientSpec.of(params))]


def judge(records: Sequence[ClientRecord], settings: VerifySettings) -> CheckResult:
    record = next((r for r in records if r.connected is not None), None)
    if record is None:
        return not_measured(CHECK, settings.expectations, "no connection could be made")
    if settings.protocol == "http":
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
