"""The `http-hello` and `sleep` apps: pure functions from a request to a reply."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from .replies import Reply
from .request import Request

__all__ = ["HELLO", "MAX_BYTES_BODY", "hello_app", "sleep_app"]

HELLO = b"hello world"
# `GET /bytes/N` answers N bytes, so slow-reader clients can ask for a response larger than
# every socket buffer; capped so one request cannot make the server allocate without bound.
MAX_BYTES_BODY = 16 * 1024 * 1024
_BYTES_PREFIX = b"/bytes/"
_HELLO = Reply(body=HELLO, fixed=True)


def hello_app(request: Request) -> Reply:
    """`hello world` for any target, or N bytes of `x` for `/bytes/N`."""
    if request.target.startswith(_BYTES_PREFIX):
        size = request.target[len(_BYTES_PREFIX) :]
        if not size.isdigit() or int(size) > MAX_BYTES_BODY:
            return Reply(status=400, body=b"size must be 0..%d\n" % MAX_BYTES_BODY)
        return Reply(body=b"x" * int(size))
    return _HELLO


def sleep_app(seconds: float) -> Callable[[Request], Reply]:
    """`hello_app`, after `seconds` of simulated work (as a slow request handler would)."""

    def app(request: Request) -> Reply:
        return dataclasses.replace(hello_app(request), delay=seconds)

    return app
