"""Fixtures for the tests that use the package as users do: a user's environment, nginx."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chaos.testing.serve import ServedCommand

from .real_servers import NGINX, README_TIMEOUT, nginx
from .userenv import UserEnv, build


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
