"""Typed reasons a connection ends, raised by `Connection` and turned into close reasons."""

from __future__ import annotations

from .events import CloseReason

__all__ = [
    "BadRequest",
    "ConnectionEnded",
    "IdleTimeout",
    "PeerReset",
    "RequestTimeout",
    "RequestTooLarge",
    "ServerShutdown",
    "WriteTimeout",
]


class ConnectionEnded(Exception):
    """Base of every expected way a connection ends; `reason` is what the event log records."""

    reason: CloseReason = CloseReason.HANDLER_ERROR


class IdleTimeout(ConnectionEnded):
    """The peer sent no byte within idle_timeout."""

    reason = CloseReason.IDLE_TIMEOUT


class RequestTimeout(ConnectionEnded):
    """The whole request did not arrive within request_timeout of its first byte."""

    reason = CloseReason.REQUEST_TIMEOUT


class WriteTimeout(ConnectionEnded):
    """The response could not be sent within write_timeout: the peer reads too slowly."""

    reason = CloseReason.WRITE_TIMEOUT


class RequestTooLarge(ConnectionEnded):
    """The request grew past max_request_bytes."""

    reason = CloseReason.TOO_LARGE


class PeerReset(ConnectionEnded):
    """The peer aborted the connection (RST, broken pipe)."""

    reason = CloseReason.RESET


class ServerShutdown(ConnectionEnded):
    """The server is shutting down and closed this connection."""

    reason = CloseReason.SHUTDOWN


class BadRequest(ConnectionEnded):
    """The peer broke the protocol (e.g. malformed HTTP)."""

    reason = CloseReason.BAD_REQUEST
