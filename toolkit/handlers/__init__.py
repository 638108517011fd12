"""Handlers: the protocols the server speaks, selectable by name."""

from __future__ import annotations

from .base import Handler, Ready, Session
from .echo import Echo
from .hello import hello_app, sleep_app
from .http import HttpHandler, HttpSession
from .replies import Reply, canned

__all__ = [
    "DEFAULT_SLEEP",
    "HANDLERS",
    "Echo",
    "Handler",
    "HttpHandler",
    "HttpSession",
    "Ready",
    "Reply",
    "Session",
    "canned",
    "hello_app",
    "make_handler",
    "sleep_app",
]

HANDLERS = ("http-hello", "echo", "sleep")
# Long enough to hold a worker visibly busy in a demo, short enough not to stall a test.
DEFAULT_SLEEP = 1.0


def make_handler(
    name: str, *, max_request_bytes: int = 64 * 1024, sleep: float = DEFAULT_SLEEP
) -> Handler:
    """The handler called `name`; ValueError naming `handler` if there is none."""
    if name == "echo":
        return Echo()
    if name == "http-hello":
        return HttpHandler(name, hello_app, max_request_bytes)
    if name == "sleep":
        if not sleep >= 0:
            raise ValueError(f"sleep must be >= 0 seconds, got {sleep!r}")
        return HttpHandler(name, sleep_app(sleep), max_request_bytes)
    raise ValueError(f"handler must be one of {', '.join(HANDLERS)}, got {name!r}")
