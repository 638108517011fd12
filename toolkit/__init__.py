"""toolkit: a threaded TCP server with enforced deadlines, bounded limits and an event log."""

from __future__ import annotations

from .clock import now
from .config import DISPATCH_MODES, HTTP_PARSERS, MODELS, OVERLOAD_POLICIES, ServerConfig
from .connection import Connection
from .errors import (
    BadRequest,
    ConnectionEnded,
    IdleTimeout,
    PeerReset,
    RequestTimeout,
    RequestTooLarge,
    ServerShutdown,
    WriteTimeout,
)
from .events import CloseReason, ConnectionRecord, EventLog, Stats
from .handlers import HANDLERS, Handler, Ready, Reply, Session, make_handler
from .server import Server

__all__ = [
    "DISPATCH_MODES",
    "HANDLERS",
    "HTTP_PARSERS",
    "MODELS",
    "OVERLOAD_POLICIES",
    "BadRequest",
    "CloseReason",
    "Connection",
    "ConnectionEnded",
    "ConnectionRecord",
    "EventLog",
    "Handler",
    "IdleTimeout",
    "PeerReset",
    "Ready",
    "Reply",
    "RequestTimeout",
    "RequestTooLarge",
    "Server",
    "ServerConfig",
    "ServerShutdown",
    "Session",
    "Stats",
    "WriteTimeout",
    "make_handler",
    "now",
]
