"""One module per fault, their base (`Fault`) and the registry that lists them by kind."""

from __future__ import annotations

from .ask import AskParams, ask
from .base import Deadline, Fault, Traits
from .flood import FloodParams, flood
from .garbage import GarbageParams, garbage
from .half_close import HalfCloseParams, half_close
from .holder import HolderParams, holder
from .never_send import NeverSendParams, never_send
from .oversized import OversizedParams, oversized
from .probe import Predicate, ProbeParams, is_available, probe
from .registry import FAULTS, get_fault, traits_of
from .reset import ResetParams, reset
from .scripted import ScriptedParams, scripted
from .slow_body import SlowBodyParams, slow_body
from .slow_read import SlowReadParams, slow_read
from .slow_send import SlowSendParams, slow_send
from .slowloris import SlowlorisParams, slowloris

__all__ = [
    "FAULTS",
    "AskParams",
    "Deadline",
    "Fault",
    "FloodParams",
    "GarbageParams",
    "HalfCloseParams",
    "HolderParams",
    "NeverSendParams",
    "OversizedParams",
    "Predicate",
    "ProbeParams",
    "ResetParams",
    "ScriptedParams",
    "SlowBodyParams",
    "SlowReadParams",
    "SlowSendParams",
    "SlowlorisParams",
    "Traits",
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
    "traits_of",
]
