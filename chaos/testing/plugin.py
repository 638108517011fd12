"""The pytest plugin (entry point `pytest11`): servers, chaos runs and profiles for any project.

Fixtures: `toolkit_server_factory` (session) starts toolkit servers and shuts them all down at
the end; `toolkit_server` (per test) is a fresh one with short timeouts; `chaos_served`
(session) is the user's own server command (`--chaos-serve "python -m app --port {port}"`);
`chaos_target` is the server under test (`--chaos-target HOST:PORT`, else the served
command, else a fresh toolkit server); `chaos_expect` is what it promises; `chaos` runs plans
against it and judges them from the wire, and `chaos.hunt(budget=...)` searches scripted
clients for a hold past its timeouts (`chaos_async` is the same for trio tests, awaited);
`chaos_check` runs the whole conformance suite from a user's own test. Options live in one
group, `chaos`; the Hypothesis profiles `ci` and `deep` are chosen with `--chaos-profile` or
CHAOS_PROFILE; markers `chaos_<check>` pick the suite's checks.

Loaded in every pytest process of a project that installed us, so loading it imports next to
nothing: the attacks, the toolkit, Hypothesis and Faker are imported by the fixtures and hooks
that use them (Hypothesis's profiles are registered once a profile is chosen or Hypothesis is
in use).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from ..tolerances import IN_PROCESS_TOLERANCE, WIRE_TOLERANCE
from . import profiles
from .markers import SUMMARIES, marker
from .serve import START_TIMEOUT

if TYPE_CHECKING:
    from hypothesis import settings

    from toolkit import Server, ServerConfig

    from .attack import AsyncChaosSession, ChaosSession
    from .bounds import Bounds
    from .conformance import Conformance
    from .serve import ServedCommand

    PROFILES: dict[str, settings]
    TEST_CONFIG: ServerConfig

__all__ = ["PROFILES", "TEST_CONFIG", "ChaosSession"]


@functools.cache
def _test_config() -> ServerConfig:
    """A toolkit server whose timeouts fire within tens of milliseconds, so each test is quick,
    with a queue for every request the wire suite's hogging check can have in flight at once
    (two specs of up to twelve keep-alive holders, and a probe): with room for four, a loaded
    machine let eight holders' requests pile up and the probe was answered 503."""
    from toolkit import ServerConfig

    return ServerConfig(
        idle_timeout=0.1,
        request_timeout=0.3,
        write_timeout=0.2,
        queue_timeout=0.1,
        workers=4,
        max_pending=32,
        shutdown_grace=0.05,
        dispatch="readiness",
    )


def __getattr__(name: str) -> Any:
    """The exported names that import what loading the plugin does not (pytest lists a
    plugin's attributes to find its hooks and fixtures, so these are not among them)."""
    if name == "PROFILES":
        return profiles.PROFILES
    if name == "TEST_CONFIG":
        return _test_config()
    if name == "ChaosSession":
        from .attack import ChaosSession

        return ChaosSession
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_TIMEOUTS = (
    ("idle-timeout", "closes a silent client"),
    ("request-timeout", "cuts a request trickled from its first byte"),
    ("write-timeout", "cuts a client that does not read"),
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("chaos", "chaos testing of TCP servers")
    group.addoption(
        "--chaos-target",
        metavar="HOST:PORT",
        help="run the chaos suite against this server instead of a toolkit one",
    )
    group.addoption(
        "--chaos-serve",
        metavar="COMMAND",
        help="start this server command for the session, e.g. 'python -m app --port {port}' "
        "({port} is a free port), and aim the chaos suite at it",
    )
    group.addoption(
        "--chaos-serve-timeout",
        type=float,
        default=START_TIMEOUT,
        metavar="SECONDS",
        help=f"longest wait for the --chaos-serve command to listen (default {START_TIMEOUT:g})",
    )
    group.addoption(
        "--chaos-allow-remote",
        action="store_true",
        help="allow a --chaos-target that is not loopback",
    )
    for name, what in _TIMEOUTS:
        group.addoption(
            f"--chaos-{name}",
            type=float,
            metavar="SECONDS",
            help=f"seconds after which the target {what}",
        )
    group.addoption(
        "--chaos-tolerance",
        type=float,
        metavar="SECONDS",
        help=f"slack on every timing judgement (default {IN_PROCESS_TOLERANCE:g}, or "
        f"{WIRE_TOLERANCE:g} for a server in another process; env CHAOS_TOLERANCE)",
    )
    group.addoption(
        "--chaos-profile",
        choices=sorted(profiles.NAMES),
        help="Hypothesis profile for chaos tests (env CHAOS_PROFILE): ci (default for the "
        f"suite, {profiles.CI_EXAMPLES} examples) or deep ({profiles.DEEP_EXAMPLES})",
    )
    group.addoption(
        "--chaos-examples",
        type=int,
        metavar="N",
        help="examples per generated check of the suite (default: the profile's)",
    )


def _usage(config: pytest.Config) -> None:
    """Refuse bad chaos options before any test runs: one line, as pytest reports them."""
    option = config.getoption
    given = option("chaos_target")
    if given is not None and option("chaos_serve") is not None:
        raise pytest.UsageError("--chaos-target and --chaos-serve: give one server, not two")
    if given is not None:
        from ..target import Target

        try:
            target = Target.parse(given)
            loopback = option("chaos_allow_remote") or target.is_loopback()
        except ValueError as exc:
            raise pytest.UsageError(f"--chaos-target: {exc}") from None
        except OSError as exc:
            raise pytest.UsageError(f"--chaos-target {given}: cannot resolve it ({exc})") from None
        if not loopback:
            raise pytest.UsageError(
                f"--chaos-target {given} is not loopback; pass --chaos-allow-remote to aim there"
            )
    command = option("chaos_serve")
    if command is not None and "{port}" not in command:
        raise pytest.UsageError(f"--chaos-serve: needs {{port}} where the port goes: {command!r}")
    examples = option("chaos_examples")
    if examples is not None and examples < 1:
        raise pytest.UsageError(f"--chaos-examples: expected an integer >= 1, got {examples}")
    timeout = option("chaos_serve_timeout")
    if not timeout > 0:
        raise pytest.UsageError(f"--chaos-serve-timeout: must be > 0, got {timeout}")
    promises = ("chaos_idle_timeout", "chaos_request_timeout", "chaos_write_timeout")
    try:
        if any(option(name) is not None for name in promises):
            _promised(config, tolerance=1.0)
        if option("chaos_tolerance") is not None:
            from .bounds import Bounds

            Bounds(tolerance=option("chaos_tolerance"))
    except ValueError as exc:
        name, _, why = str(exc).partition(":")
        raise pytest.UsageError(f"--chaos-{name.replace('_', '-')}:{why}") from None


def _promised(config: pytest.Config, *, tolerance: float) -> Bounds:
    """What the options promise of a server in another process."""
    from .bounds import Bounds

    return Bounds(
        idle_timeout=config.getoption("chaos_idle_timeout"),
        request_timeout=config.getoption("chaos_request_timeout"),
        write_timeout=config.getoption("chaos_write_timeout"),
        tolerance=tolerance,
    )


def _profile(config: pytest.Config) -> str | None:
    chosen: str | None = config.getoption("chaos_profile") or os.environ.get("CHAOS_PROFILE")
    if chosen and chosen not in profiles.NAMES:
        names = sorted(profiles.NAMES)
        raise pytest.UsageError(f"CHAOS_PROFILE must be one of {names}, got {chosen!r}")
    return chosen or None


def pytest_configure(config: pytest.Config) -> None:
    _usage(config)
    chosen = _profile(config)
    if chosen or "hypothesis" in sys.modules:
        profiles.register()
    if chosen:
        from hypothesis import settings

        settings.load_profile(chosen)
    config.addinivalue_line("markers", "chaos: a test that attacks a server with chaos clients")
    for check, summary in SUMMARIES.items():
        config.addinivalue_line("markers", f"{marker(check)}: the suite's check: {summary}")


def pytest_collection_finish(session: pytest.Session) -> None:
    """Register the profiles once collection has brought Hypothesis in, before any test runs
    (``settings.load_profile("deep")`` then works in a test)."""
    if "hypothesis" in sys.modules:
        profiles.register()


def _remote(config: pytest.Config) -> bool:
    """Whether the server under test runs in another process (judged with the wire's slack)."""
    option = config.getoption
    return option("chaos_target") is not None or option("chaos_serve") is not None


def _tolerance(config: pytest.Config) -> float:
    """The option, else CHAOS_TOLERANCE, else the slack for where the server runs."""
    value: float | None = config.getoption("chaos_tolerance")
    if value is not None:
        return value
    default = WIRE_TOLERANCE if _remote(config) else IN_PROCESS_TOLERANCE
    return float(os.environ.get("CHAOS_TOLERANCE", default))


@pytest.fixture(scope="session")
def toolkit_server_factory() -> Iterator[Callable[..., Server]]:
    """`make(config=None, handler="http-hello", **overrides)` starts a toolkit server; every
    one still running is shut down at the end of the session."""
    servers: list[Server] = []

    def make(
        config: ServerConfig | None = None,
        handler: str = "http-hello",
        **overrides: Any,  # fields of ServerConfig, which checks them
    ) -> Server:
        from toolkit import Server

        server = Server(replace(config or _test_config(), **overrides), handler)
        server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.shutdown()


@pytest.fixture
def toolkit_server(toolkit_server_factory: Callable[..., Server]) -> Iterator[Server]:
    """A fresh toolkit server (TEST_CONFIG) for one test, shut down after it."""
    server = toolkit_server_factory()
    yield server
    server.shutdown()


@pytest.fixture(scope="session")
def chaos_served(request: pytest.FixtureRequest) -> Iterator[ServedCommand | None]:
    """The `--chaos-serve` command, started on first use and stopped (its whole process group)
    at the end of the session, however it ends; None without the option."""
    from .serve import ServeError, start

    command = request.config.getoption("chaos_serve")
    if command is None:
        yield None
        return
    try:
        served = start(command, timeout=request.config.getoption("chaos_serve_timeout"))
    except (ServeError, ValueError) as exc:
        pytest.fail(f"--chaos-serve: {exc}", pytrace=False)
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture
def chaos_target(request: pytest.FixtureRequest) -> str:
    """HOST:PORT of the server under test: `--chaos-target`, the `--chaos-serve` command, or
    a fresh toolkit server."""
    from ..target import Target

    given = request.config.getoption("chaos_target")
    if given is not None:
        from .conformance import reach

        target = str(Target.parse(given))  # checked in pytest_configure
        try:
            reach(target)
        except AssertionError as exc:
            pytest.fail(f"--chaos-target: {exc}", pytrace=False)
        return target
    served: ServedCommand | None = request.getfixturevalue("chaos_served")
    if served is not None:
        return served.target
    host, port = request.getfixturevalue("toolkit_server").address
    return str(Target(host=host, port=port))


@pytest.fixture
def chaos_expect(request: pytest.FixtureRequest) -> Bounds:
    """What the server under test promises: the options, or the toolkit server's config."""
    from .bounds import Bounds

    config = request.config
    tolerance = _tolerance(config)
    if not _remote(config):
        server = request.getfixturevalue("toolkit_server")
        return Bounds.from_config(server.config, tolerance=tolerance)
    return _promised(config, tolerance=tolerance)


@pytest.fixture
def chaos(request: pytest.FixtureRequest, chaos_target: str, chaos_expect: Bounds) -> ChaosSession:
    """Run chaos plans against the server under test: `chaos.run(specs)`, `chaos.violations(r)`."""
    from .attack import ChaosSession

    chosen = profiles.check_settings(
        _profile(request.config), examples=request.config.getoption("chaos_examples")
    )
    return ChaosSession(chaos_target, chaos_expect, chosen)


@pytest.fixture
def chaos_async(chaos_target: str, chaos_expect: Bounds) -> AsyncChaosSession:
    """`chaos` for trio tests: `await chaos_async.run(specs)`, `await chaos_async.probe()`."""
    from .attack import AsyncChaosSession

    return AsyncChaosSession(chaos_target, chaos_expect)


@pytest.fixture
def chaos_check(chaos: ChaosSession) -> Callable[..., Conformance]:
    """`chaos_check(checks=None)` holds the server under test to every wire check (or those
    named) and returns the findings; raises AssertionError naming each broken setting."""
    from .conformance import hold_to_checks

    def check(checks: Iterable[str] | None = None) -> Conformance:
        __tracebackhide__ = True
        return hold_to_checks(checks, lambda: nullcontext(chaos))

    return check
