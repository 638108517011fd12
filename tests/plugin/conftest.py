"""Servers the plugin tests aim at: one that never times anything out, in a thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from .timeoutless import make

# Bound on joining the server's thread: it stops within one poll interval.
JOIN = 5.0


@pytest.fixture
def timeoutless() -> Iterator[str]:
    """HOST:PORT of a server that answers but never cuts a silent client."""
    server = make()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    host, port = server.server_address[:2]
    yield f"{host}:{port}"
    server.shutdown()
    server.server_close()
    thread.join(JOIN)
    assert not thread.is_alive(), "the timeoutless server's thread did not exit"
