"""Fixtures for the toolkit tests: servers started on loopback and always shut down."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from chaos.testing.bounds import widened
from toolkit import DISPATCH_MODES, HTTP_PARSERS, MODELS, Server, ServerConfig

# Slack allowed on every timing assertion (seconds): 0.1 s, widened by how oversubscribed the
# CPUs this process may use are (a cgroup's quota included: under half a CPU, 0.1 s was seen
# exceeded by 0.26 s); TOOLKIT_TEST_TOLERANCE sets it outright.
TOLERANCE = float(os.environ.get("TOOLKIT_TEST_TOLERANCE") or widened(0.1))


# Every (model, dispatch) pair a server can run as.
SERVER_MODES = [("pool", d) for d in DISPATCH_MODES] + [(m, "on-accept") for m in MODELS[1:]]


@pytest.fixture(params=DISPATCH_MODES)
def dispatch(request: pytest.FixtureRequest) -> str:
    """Run the test once per dispatch mode of the pool model."""
    return request.param


@pytest.fixture(params=HTTP_PARSERS)
def parser(request: pytest.FixtureRequest) -> str:
    """Run the test once per HTTP parser the server can read requests with."""
    return request.param


@pytest.fixture
def make_server(no_leaks: None) -> Iterator[Callable[..., Server]]:
    """Start servers with `make_server(handler=..., **config)`; all are shut down after the test,
    and the test fails if they leave a thread or a descriptor behind."""
    servers: list[Server] = []

    def start(handler: str = "http-hello", sleep: float = 1.0, **config: object) -> Server:
        server = Server(ServerConfig(**config), handler, sleep=sleep)  # type: ignore[arg-type]
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
