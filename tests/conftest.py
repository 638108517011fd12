"""Fixtures for the tests that use the package as users do: a user's environment, nginx, and
the runs that wait on timeouts (README blocks, pytest in users' projects), started with the
session so that they overlap the rest of the suite instead of adding to it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from chaos.testing.serve import ServedCommand

from .plugin.users import Run, start_runs
from .readme_blocks import BLOCKS, Reading, read
from .real_servers import NGINX, README_TIMEOUT, nginx
from .userenv import INSTALL_TIMEOUT, ROOT, Lane, UserEnv, build

# Session fixtures started before the first test when a selected test uses them, in the
# order their tests come.
EARLY = ("user_runs", "readme_reading")
# Their commands run this many at a time, the rest started between tests as these end: all
# at once they would load the machine while the first tests time themselves.
LANE = Lane(width=3)


class _Early:
    """The user's environment, built by a process of its own from the end of collection (it
    takes seconds of pip, and a thread here would open descriptors under the tests that count
    theirs); the EARLY fixtures start at the first test after it is ready."""

    def __init__(self) -> None:
        self.root: Path | None = None
        self.builder: subprocess.Popen[bytes] | None = None
        self.used: set[str] = set()
        self.started = False

    def start(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="chaos-user-"))
        code = f"import sys; sys.path.insert(0, {str(ROOT)!r}); from tests.userenv import build; "
        code += f"from pathlib import Path; build(Path({str(self.root)!r}))"
        with (self.root / "build.log").open("wb") as log:
            self.builder = subprocess.Popen(
                [sys.executable, "-c", code], stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )

    def ready(self) -> bool:
        return self.builder is not None and self.builder.poll() is not None

    def env(self) -> UserEnv:
        assert self.builder is not None and self.root is not None
        if self.builder.wait(INSTALL_TIMEOUT) != 0:
            log = (self.root / "build.log").read_text(errors="replace")
            raise RuntimeError(f"building the user's environment failed: {log[-2000:]}")
        return UserEnv(self.root / "venv")

    def stop(self) -> None:
        if self.builder is not None and self.builder.poll() is None:
            self.builder.kill()
            self.builder.wait()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)


EARLY_STATE = _Early()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    used = {name for item in items for name in getattr(item, "fixturenames", ())}
    EARLY_STATE.used = used & set(EARLY)
    if EARLY_STATE.used and EARLY_STATE.builder is None:
        EARLY_STATE.start()


def pytest_unconfigure() -> None:
    EARLY_STATE.stop()


@pytest.fixture(scope="session")
def user_env(tmp_path_factory: pytest.TempPathFactory) -> UserEnv:
    """A fresh virtual environment outside the repository with this checkout installed."""
    if EARLY_STATE.builder is not None:
        return EARLY_STATE.env()
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


@pytest.fixture(autouse=True)
def _start_early(request: pytest.FixtureRequest) -> None:
    """Start the EARLY fixtures the selected tests use, at the first test that finds the
    user's environment built (the tests before it run meanwhile)."""
    early = EARLY_STATE
    if early.started or not early.ready():
        return
    early.started = True
    for name in EARLY:
        if name in early.used:
            request.getfixturevalue(name)


def pytest_runtest_teardown() -> None:
    """Between tests, start what the lane now has room for."""
    LANE.advance()
