"""Scripted clients: a step language any plan can carry, the protocol parts it sends, and what
the wire says about progress."""

from __future__ import annotations

from .steps import (
    Close,
    Part,
    Pause,
    Read,
    ReadSlowly,
    Repeat,
    Reply,
    Reset,
    Send,
    Shut,
    Step,
    StopReading,
    Trickle,
    expand,
    format_steps,
    parse_steps,
)

__all__ = [
    "Close",
    "Part",
    "Pause",
    "Read",
    "ReadSlowly",
    "Repeat",
    "Reply",
    "Reset",
    "Send",
    "Shut",
    "Step",
    "StopReading",
    "Trickle",
    "expand",
    "format_steps",
    "parse_steps",
]
