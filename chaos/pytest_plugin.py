"""The pytest plugin's entry point (``pytest11``: ``chaos = chaos.pytest_plugin``).

The plugin lives in :mod:`chaos.testing.plugin`; this module is the stable name pytest loads.
"""

from __future__ import annotations

from .testing.plugin import (
    PROFILES,
    TEST_CONFIG,
    ChaosSession,
    chaos,
    chaos_async,
    chaos_check,
    chaos_expect,
    chaos_served,
    chaos_target,
    pytest_addoption,
    pytest_configure,
    toolkit_server,
    toolkit_server_factory,
)

__all__ = [
    "PROFILES",
    "TEST_CONFIG",
    "ChaosSession",
    "chaos",
    "chaos_async",
    "chaos_check",
    "chaos_expect",
    "chaos_served",
    "chaos_target",
    "pytest_addoption",
    "pytest_configure",
    "toolkit_server",
    "toolkit_server_factory",
]
