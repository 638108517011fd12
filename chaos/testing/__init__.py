"""Testing servers with chaos: the invariant checker, strategies, the pytest plugin and suite.

The checker (:func:`check`, :func:`check_wire`) judges records against :class:`Bounds`;
:func:`observe` runs a plan against an in-process toolkit server and gathers what it judges;
:mod:`chaos.testing.strategies` generates configs and plans for Hypothesis. The plugin
(:mod:`chaos.testing.plugin`) and the wire suite (:mod:`chaos.testing.suite`) are loaded by
pytest as ``chaos.pytest_plugin`` and ``chaos.suite``.
"""

from __future__ import annotations

from .bounds import Bounds
from .checker import Observation, ServerRecord, ServerStats, Violation, check, check_wire, join
from .harness import observe, settle_time
from .strategies import chaos_plans, client_specs, fault_params, payloads, server_configs

__all__ = [
    "Bounds",
    "Observation",
    "ServerRecord",
    "ServerStats",
    "Violation",
    "chaos_plans",
    "check",
    "check_wire",
    "client_specs",
    "fault_params",
    "join",
    "observe",
    "payloads",
    "server_configs",
    "settle_time",
]
