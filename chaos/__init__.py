"""Misbehaving TCP clients on trio: faults, plans of faults, and the records they leave.

The names here are the few most code needs, in three groups:

- **the data**: a :class:`Plan` of :class:`ClientSpec` s aimed at a :class:`Target`; one
  :class:`ClientRecord` (with its :class:`Outcome`) per connection; a :class:`ChaosResult`
  with its :class:`Distribution` s and :class:`ProbeSummary`.
- **running a plan**: :func:`run` (synchronous) and :func:`run_plan` (trio), reporting
  :class:`Progress`, on one process or several; a :class:`Segment` of it per host, and
  :func:`merge` for their results; :class:`LimitError` (:class:`FdLimitError` for open
  files) when the plan cannot fit, before any connection.
- **one client of each fault**: ``await never_send(target, hold=5)`` and the other thirteen;
  :data:`FAULTS` and :func:`get_fault` find a :class:`Fault` by kind; :func:`is_available` is
  the probes' default judgement.

Everything else lives in a namespace of its own: :mod:`chaos.faults` (each fault's parameter
class, its traits), :mod:`chaos.engine` (sessions, slots, the exchange loop, payloads, limits),
:mod:`chaos.testing` (the checker, strategies, the pytest plugin and suite),
:mod:`chaos.verify` (``chaos verify``) and :mod:`chaos.cli` (the command line).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .lazy import exports

if TYPE_CHECKING:
    from .engine.fdlimit import FdLimitError, LimitError
    from .engine.segment import Segment
    from .faults import (
        FAULTS,
        Fault,
        ask,
        flood,
        garbage,
        get_fault,
        half_close,
        holder,
        is_available,
        never_send,
        oversized,
        probe,
        reset,
        scripted,
        slow_body,
        slow_read,
        slow_send,
        slowloris,
    )
    from .merge import merge
    from .plan import ClientSpec, Plan
    from .record import ClientRecord, Outcome
    from .result import ChaosResult, Distribution, ProbeSummary
    from .runner import Progress, run, run_plan
    from .target import Target

__all__ = [
    "FAULTS",
    "ChaosResult",
    "ClientRecord",
    "ClientSpec",
    "Distribution",
    "Fault",
    "FdLimitError",
    "LimitError",
    "Outcome",
    "Plan",
    "ProbeSummary",
    "Progress",
    "Segment",
    "Target",
    "ask",
    "flood",
    "garbage",
    "get_fault",
    "half_close",
    "holder",
    "is_available",
    "merge",
    "never_send",
    "oversized",
    "probe",
    "reset",
    "run",
    "run_plan",
    "scripted",
    "slow_body",
    "slow_read",
    "slow_send",
    "slowloris",
]

# Imported on first use, so that importing one module of the package (the pytest plugin, the
# command line) does not import them all.
__getattr__, __dir__ = exports(
    __name__,
    {
        ".engine.fdlimit": ("FdLimitError", "LimitError"),
        ".engine.segment": ("Segment",),
        ".faults": (
            "FAULTS",
            "Fault",
            "ask",
            "flood",
            "garbage",
            "get_fault",
            "half_close",
            "holder",
            "is_available",
            "never_send",
            "oversized",
            "probe",
            "reset",
            "scripted",
            "slow_body",
            "slow_read",
            "slow_send",
            "slowloris",
        ),
        ".merge": ("merge",),
        ".plan": ("ClientSpec", "Plan"),
        ".record": ("ClientRecord", "Outcome"),
        ".result": ("ChaosResult", "Distribution", "ProbeSummary"),
        ".runner": ("Progress", "run", "run_plan"),
        ".target": ("Target",),
    },
)
