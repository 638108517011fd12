"""Every fault by name: the one table the plan, runner and command line look kinds up in."""

from __future__ import annotations

from typing import Any

from ..params import FaultParams
from .ask import FAULT as ASK
from .base import Fault, Traits
from .flood import FAULT as FLOOD
from .garbage import FAULT as GARBAGE
from .half_close import FAULT as HALF_CLOSE
from .holder import FAULT as HOLDER
from .never_send import FAULT as NEVER_SEND
from .oversized import FAULT as OVERSIZED
from .probe import FAULT as PROBE
from .reset import FAULT as RESET
from .scripted import FAULT as SCRIPTED
from .slow_body import FAULT as SLOW_BODY
from .slow_read import FAULT as SLOW_READ
from .slow_send import FAULT as SLOW_SEND
from .slowloris import FAULT as SLOWLORIS

__all__ = ["FAULTS", "fault_for", "get_fault", "traits_of"]

# Every fault, by kind; a fault of each parameter type, hence Fault[Any].
FAULTS: dict[str, Fault[Any]] = {
    fault.kind: fault
    for fault in (
        NEVER_SEND,
        SLOW_SEND,
        SLOWLORIS,
        SLOW_BODY,
        HALF_CLOSE,
        RESET,
        SLOW_READ,
        GARBAGE,
        OVERSIZED,
        FLOOD,
        HOLDER,
        SCRIPTED,
        PROBE,
        ASK,
    )
}


_NO_TRAITS = Traits()


def get_fault(kind: str) -> Fault[Any]:
    """The fault called ``kind``; an unknown name raises ValueError naming ``kind``."""
    try:
        return FAULTS[kind]
    except (KeyError, TypeError):
        raise ValueError(f"kind: unknown fault {kind!r}; known: {', '.join(FAULTS)}") from None


def fault_for(params: FaultParams) -> Fault[Any]:
    """The fault whose parameter class ``params`` is; ValueError if no fault has it."""
    for fault in FAULTS.values():
        if type(params) is fault.params:
            return fault
    raise ValueError(f"params: no fault takes {type(params).__name__}")


def traits_of(kind: str) -> Traits:
    """The traits of fault ``kind``; a kind no fault has (a hand-made record) has none."""
    fault = FAULTS.get(kind)
    return _NO_TRAITS if fault is None else fault.traits
