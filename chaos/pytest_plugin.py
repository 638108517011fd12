"""The pytest plugin's entry point (``pytest11``: ``chaos = chaos.pytest_plugin``).

The plugin lives in :mod:`chaos.testing.plugin`; this module is the stable name pytest loads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .testing import plugin
from .testing.plugin import (
    chaos,
    chaos_async,
    chaos_check,
    chaos_expect,
    chaos_served,
    chaos_target,
    pytest_addoption,
    pytest_collection_finish,
    pytest_configure,
    toolkit_server,
    toolkit_server_factory,
)

if TYPE_CHECKING:
    from .testing.plugin import PROFILES, TEST_CONFIG, ChaosSession

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
    "pytest_collection_finish",
    "pytest_configure",
    "toolkit_server",
    "toolkit_server_factory",
]


def __getattr__(name: str) -> Any:
    """PROFILES, TEST_CONFIG and ChaosSession, from the plugin, when first asked for (they
    import Hypothesis, the toolkit and the attacks, which loading the plugin does not)."""
    if name in ("PROFILES", "TEST_CONFIG", "ChaosSession"):
        return getattr(plugin, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
