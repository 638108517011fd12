"""Testing servers with chaos: the invariant checker, strategies, the pytest plugin and suite.

:func:`check_server` holds any server to every wire check (the conformance suite, in the
manner of ``trio.testing.check_two_way_stream``); :class:`ChaosSession` runs plans against a
target and judges them from the wire (:class:`AsyncChaosSession` inside trio); :func:`serve`
runs a user's own server command for a test session. The checker (:func:`check`,
:func:`check_wire`) judges records against :class:`Bounds`; :func:`observe` runs a plan
against an in-process toolkit server and gathers what it judges;
:mod:`chaos.testing.strategies` generates configs and plans for Hypothesis. The plugin
(:mod:`chaos.testing.plugin`) and the wire suite (:mod:`chaos.testing.suite`) are loaded by
pytest as ``chaos.pytest_plugin`` and ``chaos.suite``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import exports

if TYPE_CHECKING:
    from .attack import AsyncChaosSession, ChaosSession
    from .bounds import Bounds
    from .checker import Observation, ServerRecord, ServerStats, Violation, check, check_wire, join
    from .conformance import CHECKS, Conformance, ConformanceError, Finding, check_server
    from .harness import observe, settle_time
    from .profiles import PROFILES, check_settings
    from .serve import ServedCommand, ServeError, serve
    from .strategies import chaos_plans, client_specs, fault_params, payloads, server_configs

__all__ = [
    "CHECKS",
    "PROFILES",
    "AsyncChaosSession",
    "Bounds",
    "ChaosSession",
    "Conformance",
    "ConformanceError",
    "Finding",
    "Observation",
    "ServeError",
    "ServedCommand",
    "ServerRecord",
    "ServerStats",
    "Violation",
    "chaos_plans",
    "check",
    "check_server",
    "check_settings",
    "check_wire",
    "client_specs",
    "fault_params",
    "join",
    "observe",
    "payloads",
    "serve",
    "server_configs",
    "settle_time",
]

# Imported on first use: the plugin, loaded in every pytest process, imports this package.
__getattr__, __dir__ = exports(
    __name__,
    {
        ".attack": ("AsyncChaosSession", "ChaosSession"),
        ".bounds": ("Bounds",),
        ".checker": (
            "Observation",
            "ServerRecord",
            "ServerStats",
            "Violation",
            "check",
            "check_wire",
            "join",
        ),
        ".conformance": ("CHECKS", "Conformance", "ConformanceError", "Finding", "check_server"),
        ".harness": ("observe", "settle_time"),
        ".profiles": ("PROFILES", "check_settings"),
        ".serve": ("ServedCommand", "ServeError", "serve"),
        ".strategies": (
            "chaos_plans",
            "client_specs",
            "fault_params",
            "payloads",
            "server_configs",
        ),
    },
)
