"""The pytest plugin's entry point (``pytest11``: ``chaos = chaos.pytest_plugin``).

The plugin lives in :mod:`chaos.testing.plugin`; this module is the stable name pytest loads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .lazy import exports
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


# From the plugin when first asked for: they import Hypothesis, the toolkit and the attacks,
# which loading the plugin does not. (No __dir__: pytest lists a plugin's attributes to find
# its hooks and fixtures, and would import them.)
__getattr__, _ = exports(
    __name__, {"chaos.testing.plugin": ("PROFILES", "TEST_CONFIG", "ChaosSession")}
)
