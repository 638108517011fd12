"""The WSGI hello app that cheroot, waitress and gunicorn serve."""

from __future__ import annotations

from collections.abc import Callable, Iterable

__all__ = ["BODY", "app"]

BODY = b"hello world"
_HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))]


def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
    start_response("200 OK", _HEADERS)
    return [BODY]
