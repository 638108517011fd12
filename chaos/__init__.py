"""Misbehaving TCP clients on trio: faults, plans of faults, and the records they leave.

Every fault is an async function returning a :class:`ClientRecord` (``flood`` returns one per
connection); :func:`run_plan` (trio) and :func:`run` (synchronous) run a whole :class:`Plan`.
"""

from __future__ import annotations

from .engine.fdlimit import FdBudget, FdLimitError, ensure_capacity
from .faults.base import Fault
from .faults.flood import FloodParams, flood
from .faults.garbage import GarbageParams, garbage
from .faults.half_close import HalfCloseParams, half_close
from .faults.never_send import NeverSendParams, never_send
from .faults.oversized import OversizedParams, oversized
from .faults.probe import ProbeParams, is_available, probe
from .faults.registry import FAULTS, get_fault
from .faults.reset import ResetParams, reset
from .faults.slow_body import SlowBodyParams, slow_body
from .faults.slow_read import SlowReadParams, slow_read
from .faults.slow_send import SlowSendParams, slow_send
from .faults.slowloris import SlowlorisParams, slowloris
from .params import FaultParams, HoldParams
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
    "FaultParams",
    "FdBudget",
    "FdLimitError",
    "FloodParams",
    "GarbageParams",
    "HalfCloseParams",
    "HoldParams",
    "NeverSendParams",
    "Outcome",
    "OversizedParams",
    "Plan",
    "ProbeParams",
    "ProbeSummary",
    "Progress",
    "ResetParams",
    "SlowBodyParams",
    "SlowReadParams",
    "SlowSendParams",
    "SlowlorisParams",
    "Target",
    "ensure_capacity",
    "flood",
    "garbage",
    "get_fault",
    "half_close",
    "is_available",
    "never_send",
    "oversized",
    "probe",
    "reset",
    "run",
    "run_plan",
    "slow_body",
    "slow_read",
    "slow_send",
    "slowloris",
]
