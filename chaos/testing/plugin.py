"""The pytest plugin (entry point `pytest11`): servers, chaos runs and profiles for any project.

Fixtures: `toolkit_server_factory` (session) starts toolkit servers and shuts them all down at
the end; `toolkit_server` (per test) is a fresh one with short timeouts; `chaos_target` is the
server under test (`--chaos-target HOST:PORT`, or that fresh toolkit server); `chaos_expect`
is what it promises; `chaos` runs plans against it and judges them from the wire, and
`chaos.hunt(budget=...)` searches scripted clients for a hold past its timeouts.
Options live in one group, `chaos`; Hypothesis profiles `ci` and `deep` are chosen with
`--chaos-profile` or the CHAOS_PROFILE environment variable.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pytest
import trio
from hypothesis import HealthCheck, settings

from toolkit import Server, ServerConfig

from ..faults.probe import probe
from ..hunt import HuntBounds, HuntResult, hunt
from ..plan import ClientSpec, Plan
from ..record import ClientRecord
from ..result import ChaosResult
from ..runner import run
from ..target import Target
from ..verify.settings import WIRE_TOLERANCE
from .bounds import IN_PROCESS_TOLERANCE, Bounds
from .checker import Violation, check_wire

__all__ = ["PROFILES", "TEST_CONFIG", "ChaosSession"]

# Servers under chaos are slow to set up per example by Hypothesis's standards: that is fine.
_SUPPRESSED = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
PROFILES = {
    # Reproducible and quick: the same examples on every run, few enough for a CI budget.
    "ci": settings(
        max_examples=15,
        derandomize=True,
        deadline=None,
        print_blob=True,
        suppress_health_check=_SUPPRESSED,
    ),
    # A real search: many examples, random each run, failures saved to the example database.
    "deep": settings(
        max_examples=300, deadline=None, print_blob=True, suppress_health_check=_SUPPRESSED
    ),
}
# A toolkit server whose timeouts fire within tens of milliseconds, so each test is quick.
TEST_CONFIG = ServerConfig(
    idle_timeout=0.1,
    request_timeout=0.3,
    write_timeout=0.2,
    queue_timeout=0.1,
    workers=4,
    max_pending=4,
    shutdown_grace=0.05,
    dispatch="readiness",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("chaos", "chaos testing of TCP servers")
    group.addoption(
        "--chaos-target",
        metavar="HOST:PORT",
        help="run the chaos suite against this server instead of a toolkit one",
    )
    group.addoption(
        "--chaos-allow-remote",
        action="store_true",
        help="allow a --chaos-target that is not loopback",
    )
    for name, what in (
        ("idle-timeout", "closes a silent client"),
        ("request-timeout", "cuts a request trickled from its first byte"),
        ("write-timeout", "cuts a client that does not read"),
    ):
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
        f"{WIRE_TOLERANCE:g} with --chaos-target; env CHAOS_TOLERANCE)",
    )
    group.addoption(
        "--chaos-profile",
        choices=sorted(PROFILES),
        help="Hypothesis profile (env CHAOS_PROFILE): ci or deep",
    )


def pytest_configure(config: pytest.Config) -> None:
    for name, profile in PROFILES.items():
        settings.register_profile(name, profile)
    chosen = config.getoption("chaos_profile") or os.environ.get("CHAOS_PROFILE")
    if chosen:
        if chosen not in PROFILES:
            raise pytest.UsageError(
                f"CHAOS_PROFILE must be one of {sorted(PROFILES)}, got {chosen!r}"
            )
        settings.load_profile(chosen)
    config.addinivalue_line("markers", "chaos: a test that attacks a server with chaos clients")


def _tolerance(config: pytest.Config, *, remote: bool) -> float:
    """The option, else CHAOS_TOLERANCE, else the slack for where the server runs."""
    value: float | None = config.getoption("chaos_tolerance")
    if value is not None:
        return value
    default = WIRE_TOLERANCE if remote else IN_PROCESS_TOLERANCE
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
        server = Server(replace(config or TEST_CONFIG, **overrides), handler)
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


@pytest.fixture
def chaos_target(request: pytest.FixtureRequest) -> str:
    """HOST:PORT of the server under test: `--chaos-target`, or a fresh toolkit server."""
    given = request.config.getoption("chaos_target")
    if given is None:
        host, port = request.getfixturevalue("toolkit_server").address
        return f"{host}:{port}"
    target = Target.parse(given)
    if request.config.getoption("chaos_allow_remote"):
        return str(target)
    try:
        loopback = target.is_loopback()
    except OSError as exc:
        raise pytest.UsageError(f"--chaos-target {given}: cannot resolve it ({exc})") from None
    if not loopback:
        raise pytest.UsageError(
            f"--chaos-target {given} is not loopback; pass --chaos-allow-remote to aim elsewhere"
        )
    return str(target)


@pytest.fixture
def chaos_expect(request: pytest.FixtureRequest) -> Bounds:
    """What the server under test promises: the options, or the toolkit server's config."""
    options = request.config.getoption
    remote = options("chaos_target") is not None
    tolerance = _tolerance(request.config, remote=remote)
    if not remote:
        server = request.getfixturevalue("toolkit_server")
        return Bounds.from_config(server.config, tolerance=tolerance)
    return Bounds(
        idle_timeout=options("chaos_idle_timeout"),
        request_timeout=options("chaos_request_timeout"),
        write_timeout=options("chaos_write_timeout"),
        tolerance=tolerance,
    )


@dataclass
class ChaosSession:
    """Runs plans against one target and judges them from the wire."""

    target: str
    expect: Bounds

    def run(
        self, clients: Plan | Sequence[ClientSpec], *, horizon: float = 5.0, seed: int = 0
    ) -> ChaosResult:
        plan = (
            clients
            if isinstance(clients, Plan)
            else Plan(clients=tuple(clients), horizon=horizon, seed=seed)
        )
        return run(plan, target=self.target)

    def violations(self, result: ChaosResult) -> list[Violation]:
        return check_wire(result.records, self.expect)

    def probe(self) -> ClientRecord:
        """One well-formed request now; `detail["available"]` says whether it was served."""
        return trio.run(functools.partial(probe, self.target))

    def hunt(self, *, budget: float = 10.0, seed: int = 0, **options: Any) -> HuntResult:
        """Search client scripts for a hold past the target's timeouts, ``budget`` seconds
        with ``seed`` (the same seed, the same search: fixed for CI); ``result.exit_code``
        is 0 when every bound held. ``options`` are :func:`chaos.hunt.hunt`'s."""
        bounds = HuntBounds(
            idle_timeout=self.expect.idle_timeout,
            request_timeout=self.expect.request_timeout,
            write_timeout=self.expect.write_timeout,
            tolerance=self.expect.tolerance,
        )
        return hunt(self.target, bounds, budget=budget, seed=seed, **options)


@pytest.fixture
def chaos(chaos_target: str, chaos_expect: Bounds) -> ChaosSession:
    """Run chaos plans against the server under test: `chaos.run(specs)`, `chaos.violations(r)`."""
    return ChaosSession(chaos_target, chaos_expect)
