"""Hypothesis settings for chaos tests: the ``ci`` and ``deep`` profiles, and what the generated
checks of the wire suite run with.

The suite's checks carry their settings themselves (:func:`check_settings`), so a user's own
Hypothesis profile (strict health checks, a deadline, a thousand examples) cannot break or
stretch them; ``--chaos-profile`` / ``CHAOS_PROFILE`` still chooses ``ci`` or ``deep``.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hypothesis import HealthCheck, settings

__all__ = [
    "CI_EXAMPLES",
    "DEEP_EXAMPLES",
    "DEFAULT_PROFILE",
    "NAMES",
    "PROFILES",
    "SUPPRESSED",
    "check_settings",
    "register",
]

# Enough to vary the mix of attacks; a generated check then takes seconds, fit for any CI.
CI_EXAMPLES = 15
# A real search when there is time for one (minutes per check).
DEEP_EXAMPLES = 300
# What the generated checks run with when no profile is chosen.
DEFAULT_PROFILE = "ci"
# The profiles, by the names --chaos-profile and CHAOS_PROFILE take: known without importing
# Hypothesis, which the plugin leaves to the tests that use it.
NAMES = ("ci", "deep")

if TYPE_CHECKING:
    # Built on first use (this module's __getattr__).
    PROFILES: dict[str, settings]
    SUPPRESSED: tuple[HealthCheck, ...]


def _suppressed() -> tuple[HealthCheck, ...]:
    """The health checks the profiles suppress: each example attacks a real server for a
    fraction of a second, slow by Hypothesis's standards, which is fine, and fixtures such as
    `chaos` are rightly shared by the examples."""
    from hypothesis import HealthCheck

    return (HealthCheck.too_slow, HealthCheck.function_scoped_fixture)


@functools.cache
def _profiles() -> dict[str, settings]:
    from hypothesis import settings

    # Hypothesis's own defaults, not whatever profile a user loaded before importing us.
    base = settings.get_profile("default")
    built = {
        # Reproducible and quick: the same examples on every run.
        "ci": settings(
            base,
            max_examples=CI_EXAMPLES,
            derandomize=True,
            deadline=None,
            print_blob=True,
            suppress_health_check=_suppressed(),
        ),
        # Random each run, failures saved to the example database.
        "deep": settings(
            base,
            max_examples=DEEP_EXAMPLES,
            deadline=None,
            print_blob=True,
            suppress_health_check=_suppressed(),
        ),
    }
    assert tuple(built) == NAMES
    return built


def __getattr__(name: str) -> Any:
    if name == "PROFILES":
        return _profiles()
    if name == "SUPPRESSED":
        return _suppressed()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def register() -> None:
    """Register the profiles with Hypothesis (``settings.load_profile("deep")`` then works)."""
    from hypothesis import settings

    for name, profile in _profiles().items():
        settings.register_profile(name, profile)


def check_settings(profile: str | None = None, *, examples: int | None = None) -> settings:
    """The settings a generated check runs with: profile ``profile`` (``ci`` by default), with
    ``examples`` examples if given. Nothing comes from whatever profile is loaded."""
    from hypothesis import settings

    name = DEFAULT_PROFILE if profile is None else profile
    if name not in NAMES:
        raise ValueError(f"profile: expected one of {sorted(NAMES)}, got {name!r}")
    chosen = _profiles()[name]
    if examples is None:
        return chosen
    if isinstance(examples, bool) or not isinstance(examples, int) or examples < 1:
        raise ValueError(f"examples: expected an integer >= 1, got {examples!r}")
    return settings(chosen, max_examples=examples)
