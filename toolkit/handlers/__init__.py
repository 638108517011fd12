"""Handlers: the protocols the server speaks, selectable by name."""

from __future__ import annotations

from ..config import DEFAULT_HTTP_PARSER
from .base import Handler, Ready, Session
from .echo import Echo
from .h11_session import H11Session
from .hello import hello_app, sleep_app
from .http import App, HttpHandler
from .llhttp_session import LlhttpSession
from .replies import Reply, canned
from .request import ParsedRequest, Request

__all__ = [
    "DEFAULT_SLEEP",
    "HANDLERS",
    "App",
    "Echo",
    "H11Session",
    "Handler",
    "HttpHandler",
    "LlhttpSession",
    "ParsedRequest",
    "Ready",
    "Reply",
    "Request",
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
    name: str,
    *,
    max_request_bytes: int = 64 * 1024,
    sleep: float = DEFAULT_SLEEP,
    parser: str = DEFAULT_HTTP_PARSER,
) -> Handler:
    """The handler called `name` (an HTTP one reading requests with `parser`); ValueError
    naming `handler` if there is none."""
    if name == "echo":
        return Echo()
    if name == "http-hello":
        return HttpHandler(name, hello_app, max_request_bytes, parser)
    if name == "sleep":
        if not sleep >= 0:
            raise ValueError(f"sleep must be >= 0 seconds, got {sleep!r}")
        return HttpHandler(name, sleep_app(sleep), max_request_bytes, parser)
    raise ValueError(f"handler must be one of {', '.join(HANDLERS)}, got {name!r}")
