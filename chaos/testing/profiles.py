"""Hypothesis settings for chaos tests: the ``ci`` and ``deep`` profiles, and what the generated
checks of the wire suite run with.

The suite's checks carry their settings themselves (:func:`check_settings`), so a user's own
Hypothesis profile (strict health checks, a deadline, a thousand examples) cannot break or
stretch them; ``--chaos-profile`` / ``CHAOS_PROFILE`` still chooses ``ci`` or ``deep``.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

__all__ = [
    "CI_EXAMPLES",
    "DEEP_EXAMPLES",
    "DEFAULT_PROFILE",
    "PROFILES",
    "SUPPRESSED",
    "check_settings",
    "register",
]

# Each example attacks a real server for a fraction of a second: slow by Hypothesis's
# standards, which is fine, and fixtures such as `chaos` are rightly shared by the examples.
SUPPRESSED = (HealthCheck.too_slow, HealthCheck.function_scoped_fixture)
# Enough to vary the mix of attacks; a generated check then takes seconds, fit for any CI.
CI_EXAMPLES = 15
# A real search when there is time for one (minutes per check).
DEEP_EXAMPLES = 300
# What the generated checks run with when no profile is chosen.
DEFAULT_PROFILE = "ci"

# Hypothesis's own defaults, not whatever profile a user loaded before importing us.
_BASE = settings.get_profile("default")
PROFILES = {
    # Reproducible and quick: the same examples on every run.
    "ci": settings(
        _BASE,
        max_examples=CI_EXAMPLES,
        derandomize=True,
        deadline=None,
        print_blob=True,
        suppress_health_check=SUPPRESSED,
    ),
    # Random each run, failures saved to the example database.
    "deep": settings(
        _BASE,
        max_examples=DEEP_EXAMPLES,
        deadline=None,
        print_blob=True,
        suppress_health_check=SUPPRESSED,
    ),
}


def register() -> None:
    """Register the profiles with Hypothesis (``settings.load_profile("deep")`` then works)."""
    for name, profile in PROFILES.items():
        settings.register_profile(name, profile)


def check_settings(profile: str | None = None, *, examples: int | None = None) -> settings:
    """The settings a generated check runs with: profile ``profile`` (``ci`` by default), with
    ``examples`` examples if given. Nothing comes from whatever profile is loaded."""
    name = DEFAULT_PROFILE if profile is None else profile
    if name not in PROFILES:
        raise ValueError(f"profile: expected one of {sorted(PROFILES)}, got {name!r}")
    chosen = PROFILES[name]
    if examples is None:
        return chosen
    if isinstance(examples, bool) or not isinstance(examples, int) or examples < 1:
        raise ValueError(f"examples: expected an integer >= 1, got {examples!r}")
    return settings(chosen, max_examples=examples)
