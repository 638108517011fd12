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
    "error_for",
]


class ConnectionEnded(Exception):
    """Base of every expected way a connection ends; `reason` is what the event log records.

    `reply`, if given, is the final status to send before closing (e.g. the exact HTTP error
    h11 diagnosed); without one the server sends its handler's reply for the reason.
    """

    reason: CloseReason = CloseReason.HANDLER_ERROR

    def __init__(self, *args: object, reply: bytes = b"") -> None:
        super().__init__(*args)
        self.reply = reply


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


_BY_REASON: dict[CloseReason, type[ConnectionEnded]] = {
    error.reason: error
    for error in (
        IdleTimeout,
        RequestTimeout,
        WriteTimeout,
        RequestTooLarge,
        PeerReset,
        ServerShutdown,
        BadRequest,
    )
}


def error_for(reason: CloseReason) -> type[ConnectionEnded]:
    """The exception a connection raises when it ends for `reason`."""
    return _BY_REASON.get(reason, ConnectionEnded)
