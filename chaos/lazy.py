"""Names a package exports, imported from their modules on first use (PEP 562).

A package whose ``__init__`` imported everything it exports would make every import of any of
its modules pay for all of them: the pytest plugin, loaded in every pytest process of a user
who installed us, and ``chaos --help`` would import trio, Hypothesis and Faker.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["exports"]


class _Package(types.ModuleType):
    """A package whose exported names win over its submodules of the same name: importing
    ``chaos.merge`` (the module) leaves ``chaos.merge`` the function, as an eager
    ``from .merge import merge`` in its ``__init__`` did."""

    _exported: frozenset[str] = frozenset()

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and name in self._exported:
            return
        super().__setattr__(name, value)


def exports(
    package: str, homes: Mapping[str, Sequence[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module ``__getattr__`` and ``__dir__`` for module ``package``: each name of
    ``homes[module]`` is imported from ``module`` (absolute, or relative to ``package``) when
    first asked for, then kept."""
    home_of = {name: module for module, names in homes.items() for name in names}
    module = sys.modules[package]
    module.__class__ = _Package
    assert isinstance(module, _Package)
    module._exported = frozenset(home_of)

    def __getattr__(name: str) -> Any:
        module = home_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *home_of})

    return __getattr__, __dir__
