"""Check: resets. A burst of clients that abort with RST (some before sending anything, some
part-way through a request); is the server still serving afterwards?
"""

from __future__ import annotations

from ...faults import ResetParams
from ...plan import ClientSpec
from ..settings import VerifySettings
from ..stage import Role
from ..verdict import CheckResult
from .base import Aftermath, survived

__all__ = ["CHECK", "PARTIAL", "ROLE", "judge", "roles"]

CHECK = "resets"
ROLE = "rst"
# Bytes sent before the RST by the second half: part of a request line and headers.
PARTIAL = 40


def roles(settings: VerifySettings) -> list[Role]:
    data = "http" if settings.protocol == "http" else "random"
    silent = settings.resets // 2
    out = []
    if silent:
        params = ResetParams(size=0, connect_timeout=settings.connect_timeout)
        out.append(Role(name=ROLE, spec=ClientSpec.of(params, count=silent)))
    params = ResetParams(size=PARTIAL, data=data, connect_timeout=settings.connect_timeout)
    out.append(Role(name=ROLE, spec=ClientSpec.of(params, count=settings.resets - silent)))
    return out


def judge(evidence: Aftermath, settings: VerifySettings) -> CheckResult:
    """How many RSTs went out, and whether the server answered after them."""
    records, after = evidence.records, evidence.after
    sent = sum(1 for r in records if r.detail.get("aborted"))
    if not records:
        measured = "not measured: the resets did not run"
    else:
        measured = f"{sent} sent RST"
        if sent < len(records):
            measured += f" ({len(records) - sent} could not connect)"
        measured += f"; probe after: {after}"
    detail: dict[str, object] = {"clients": len(records), "reset": sent, "probe_after": after}
    return survived(CHECK, evidence, settings, measured=measured, detail=detail)
