"""Check: idle timeout. Connections that never send a byte; when does the server close them?

Measured from our handshake to the server's FIN or RST, median of a few connections. One the
server never accepted (its kernel holds a silent connection until its first bytes under a
deferred accept, Apache's default on Linux and nginx's ``deferred``) was never the server's
to time, and one it accepted late had waited in its kernel first: the measurement says so.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...faults import NeverSendParams
from ...plan import ClientSpec
from ...record import ClientRecord
from ..settings import VerifySettings
from ..stage import Role
from ..verdict import CheckResult
from .timing import judge_timeout

__all__ = ["CHECK", "ROLE", "SAMPLES", "judge", "roles"]

CHECK = "idle-timeout"
ROLE = "idle"
# Two silent clients: one stray scheduling delay shows up as a spread, not as the answer.
SAMPLES = 2
UNACCEPTED = "never accepted: the server's kernel held it, waiting for its first bytes or a turn"


def roles(settings: VerifySettings, *, alone: bool = False) -> list[Role]:
    """Silent clients held until the server closes them or the cap passes (one if ``alone``)."""
    params = NeverSendParams(
        hold=settings.timeout_cap(CHECK), connect_timeout=settings.connect_timeout
    )
    count = 1 if alone else SAMPLES
    return [Role(name=ROLE, spec=ClientSpec.of(params, count=count))]


def judge(records: Sequence[ClientRecord], settings: VerifySettings) -> CheckResult:
    """Seconds from connect to the server ending each connection."""
    connected = [r for r in records if r.connected is not None]
    notes = []
    if any(r.server_ended is None and r.detail.get("unaccepted") for r in connected):
        notes.append(UNACCEPTED)
    waited = [w for r in connected if (w := _waited(r)) is not None]
    if waited and max(waited) > settings.tolerance:
        notes.append(f"the server accepted it {max(waited):.2f} s after the handshake")
    return judge_timeout(CHECK, settings, [r.server_closed_after for r in connected], notes=notes)


def _waited(record: ClientRecord) -> float | None:
    """Seconds from the handshake to the server accepting the connection, if seen."""
    accepted = record.number("accepted")
    return None if accepted is None or record.connected is None else accepted - record.connected
