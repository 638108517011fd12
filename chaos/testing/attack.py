"""Attacking one server from a test: run plans against a target and judge them from the wire.

:class:`ChaosSession` is for plain test functions (each call runs trio itself), and its
``hunt()`` searches scripted clients for a hold past the target's timeouts;
:class:`AsyncChaosSession` is the same for code already inside trio (pytest-trio tests,
``trio.run``), whose calls are awaited instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import trio
from hypothesis import settings

from ..faults.probe import probe
from ..hunt import HuntBounds, HuntResult, hunt
from ..plan import ClientSpec, Plan
from ..record import ClientRecord
from ..result import ChaosResult
from ..runner import run, run_plan
from .bounds import Bounds
from .checker import Violation, check_wire
from .profiles import check_settings

__all__ = ["DEFAULT_HORIZON", "AsyncChaosSession", "ChaosSession", "as_plan"]

# Room for a few short attacks against a test server; a plan may give its own.
DEFAULT_HORIZON = 5.0


def as_plan(clients: Plan | Sequence[ClientSpec], *, horizon: float, seed: int) -> Plan:
    """``clients`` as a plan: a plan as it is, or specs with this horizon and seed."""
    if isinstance(clients, Plan):
        return clients
    return Plan(clients=tuple(clients), horizon=horizon, seed=seed)


@dataclass
class _Aimed:
    """A target and what it promises; the judgement both sessions share."""

    target: str
    expect: Bounds

    def violations(self, result: ChaosResult) -> list[Violation]:
        """Every broken promise the records of ``result`` show."""
        return check_wire(result.records, self.expect)


@dataclass
class ChaosSession(_Aimed):
    """Runs plans against one target and judges them from the wire against ``expect``.

    ``settings`` is what the generated checks (:mod:`chaos.testing.conformance`) run with.
    """

    settings: settings = field(default_factory=check_settings)

    def run(
        self,
        clients: Plan | Sequence[ClientSpec],
        *,
        horizon: float = DEFAULT_HORIZON,
        seed: int = 0,
    ) -> ChaosResult:
        """Run a plan (or these specs) against the target."""
        return run(as_plan(clients, horizon=horizon, seed=seed), target=self.target)

    def probe(self) -> ClientRecord:
        """One well-formed request now; ``detail["available"]`` says whether it was served."""
        return trio.run(probe, self.target)

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


@dataclass
class AsyncChaosSession(_Aimed):
    """:class:`ChaosSession` for trio code: ``await chaos_async.run(specs)``."""

    async def run(
        self,
        clients: Plan | Sequence[ClientSpec],
        *,
        horizon: float = DEFAULT_HORIZON,
        seed: int = 0,
    ) -> ChaosResult:
        """Run a plan (or these specs) against the target."""
        return await run_plan(as_plan(clients, horizon=horizon, seed=seed), target=self.target)

    async def probe(self) -> ClientRecord:
        """One well-formed request now; ``detail["available"]`` says whether it was served."""
        return await probe(self.target)
