"""Fixtures for the tests that use the package as users do: a user's environment, nginx, and
the runs that wait on timeouts (README blocks, pytest in users' projects), started with the
session so that they overlap the rest of the suite instead of adding to it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from chaos.testing.serve import ServedCommand

from .plugin.users import Run, start_runs
from .readme_blocks import BLOCKS, Reading, read
from .real_servers import NGINX, README_TIMEOUT, nginx
from .userenv import Lane, UserEnv, build

# Session fixtures started before the first test when a selected test uses them, in the
# order their tests come.
EARLY = ("user_runs", "readme_reading")
# Their commands run this many at a time, the rest started between tests as these end: all
# at once they would load the machine while the first tests time themselves.
LANE = Lane(width=3)


@pytest.fixture(scope="session")
def user_env(tmp_path_factory: pytest.TempPathFactory) -> UserEnv:
    """A fresh virtual environment outside the repository with this checkout installed."""
    return build(tmp_path_factory.mktemp("user"))


@pytest.fixture(scope="session")
def readme_nginx() -> Iterator[ServedCommand]:
    """nginx with the README's timeouts; the test skips when nginx is not installed."""
    if NGINX is None:
        pytest.skip("nginx is not installed")
    with nginx(README_TIMEOUT) as served:
        yield served


def _nginx_target(request: pytest.FixtureRequest) -> str | None:
    return request.getfixturevalue("readme_nginx").target if NGINX is not None else None


@pytest.fixture(scope="session")
def readme_reading(
    tmp_path_factory: pytest.TempPathFactory, user_env: UserEnv, request: pytest.FixtureRequest
) -> Iterator[Reading]:
    """Every README block started; stopped at the end whatever the tests found."""
    wants_nginx = any(b.one("against") == "nginx" for b in BLOCKS)
    target = _nginx_target(request) if wants_nginx else None
    with ExitStack() as stack:
        yield read(stack, tmp_path_factory.mktemp("readme"), user_env, target, LANE)


@pytest.fixture(scope="session")
def user_runs(
    tmp_path_factory: pytest.TempPathFactory, user_env: UserEnv
) -> Iterator[dict[str, Run]]:
    """pytest started in users' projects, by name; stopped at the end whatever was found."""
    with ExitStack() as stack:
        root = tmp_path_factory.mktemp("as-a-user")
        yield start_runs(user_env, root, stack)


@pytest.fixture(scope="session", autouse=True)
def _start_early(request: pytest.FixtureRequest) -> None:
    """Start the EARLY fixtures the selected tests use, before the first test runs."""
    used = {name for item in request.session.items for name in getattr(item, "fixturenames", ())}
    for name in EARLY:
        if name in used:
            request.getfixturevalue(name)


def pytest_runtest_teardown() -> None:
    """Between tests, start what the lane now has room for."""
    LANE.advance()
