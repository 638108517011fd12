"""The interface every check has: its name in the table, and a judge of its evidence.

Each check is a module: ``CHECK`` is its name and ``judge(evidence, settings)`` turns what its
clients left into a :class:`~chaos.verify.verdict.CheckResult`. What the evidence is depends
on the check (records, probe views, ramp steps, an attack's aftermath), hence the type
parameter; a timeout check also names the role of its records and makes its clients, so the
timeouts stage can run them together or one at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from ...record import ClientRecord
from ..settings import VerifySettings
from ..stage import Role
from ..verdict import CheckResult, judged

__all__ = ["Aftermath", "AttackCheck", "Check", "TimeoutCheck", "survived"]

E_contra = TypeVar("E_contra", contravariant=True)


class Check(Protocol[E_contra]):
    """A row of the verdict table and the pure function that decides it."""

    @property
    def CHECK(self) -> str: ...  # a module constant, read through the protocol

    def judge(self, evidence: E_contra, settings: VerifySettings, /) -> CheckResult: ...


class TimeoutCheck(Check[Sequence[ClientRecord]], Protocol):
    """A timeout (or half-close) check: clients of one role, judged by their records."""

    @property
    def ROLE(self) -> str: ...

    def roles(self, settings: VerifySettings, *, alone: bool = False) -> list[Role]: ...


@dataclass(frozen=True, kw_only=True)
class Aftermath:
    """What an attack left: its clients' records and whether the server answered afterwards."""

    records: Sequence[ClientRecord]
    survived: bool
    after: str  # how the probe afterwards read: "ok (2 ms)", or the last failure
    overflows: int | None = None  # the kernel's ListenOverflows over the attack, if known


class AttackCheck(Check[Aftermath], Protocol):
    """An attack then recovery probes (flood, resets): clients of one role, judged after."""

    @property
    def ROLE(self) -> str: ...

    def roles(self, settings: VerifySettings) -> list[Role]: ...


def survived(
    check: str,
    evidence: Aftermath,
    settings: VerifySettings,
    *,
    measured: str,
    detail: dict[str, object],
) -> CheckResult:
    """An attack's row: ``survives`` if the server answered a probe afterwards, else ``down``."""
    value = "survives" if evidence.survived and evidence.records else "down"
    return judged(
        check,
        settings.expectations,
        measured=measured,
        value=value,
        holds=value == settings.expectations.get(check),
        failure=f"expected the server to answer after the {check}: {evidence.after}",
        detail=detail,
    )
