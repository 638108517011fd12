"""The wire-level chaos suite, run as ``pytest --pyargs chaos.suite --chaos-target HOST:PORT``.

The tests live in :mod:`chaos.testing.suite`; pytest collects them from here by this name.
"""

from __future__ import annotations

from .testing.suite import (
    test_non_readers_are_cut_at_the_write_timeout,
    test_serves_again_after_hostile_input,
    test_silent_clients_are_cut_at_the_idle_timeout,
    test_stays_available_while_connections_are_hogged,
    test_trickled_requests_are_cut_at_the_request_deadline,
)

__all__ = [
    "test_non_readers_are_cut_at_the_write_timeout",
    "test_serves_again_after_hostile_input",
    "test_silent_clients_are_cut_at_the_idle_timeout",
    "test_stays_available_while_connections_are_hogged",
    "test_trickled_requests_are_cut_at_the_request_deadline",
]
