"""The client-side chaos suite: aim it at any server with

    pytest --pyargs chaos.suite --chaos-target HOST:PORT --chaos-idle-timeout 5 ...

One test per check of :mod:`chaos.testing.conformance` (their one home), each marked
``chaos_<check>`` (``-m chaos_idle_timeout`` runs only that one). A timeout not promised by
an option is skipped, and so is a check this machine lagged too much to decide (its reason
says so). Without ``--chaos-target`` (or ``--chaos-serve``) the suite attacks a
fresh toolkit server, which is how the project tests the suite itself.
"""

from __future__ import annotations

import pytest

from chaos.testing.attack import ChaosSession
from chaos.testing.conformance import CHECKS, run_check

__all__ = [
    "test_non_readers_are_cut_at_the_write_timeout",
    "test_serves_again_after_hostile_input",
    "test_silent_clients_are_cut_at_the_idle_timeout",
    "test_stays_available_while_connections_are_hogged",
    "test_trickled_requests_are_cut_at_the_request_deadline",
]


def _check(name: str, chaos: ChaosSession) -> None:
    finding = run_check(name, chaos)
    needs = CHECKS[name].needs
    if finding.verdict == "not promised" and needs is not None:
        flag = "--chaos-" + needs.value.replace("_", "-")
        pytest.skip(f"the target promises no {needs.value} (pass {flag})")
    if finding.verdict == "inconclusive":
        pytest.skip(f"inconclusive: {finding.measured}")
    if finding.verdict == "fail":
        pytest.fail(finding.measured, pytrace=False)


@pytest.mark.chaos_idle_timeout
def test_silent_clients_are_cut_at_the_idle_timeout(chaos: ChaosSession) -> None:
    _check("idle-timeout", chaos)


@pytest.mark.chaos_request_timeout
def test_trickled_requests_are_cut_at_the_request_deadline(chaos: ChaosSession) -> None:
    _check("request-timeout", chaos)


@pytest.mark.chaos_write_timeout
def test_non_readers_are_cut_at_the_write_timeout(chaos: ChaosSession) -> None:
    _check("write-timeout", chaos)


@pytest.mark.chaos_hogging
def test_stays_available_while_connections_are_hogged(chaos: ChaosSession) -> None:
    _check("hogging", chaos)


@pytest.mark.chaos_hostile_input
def test_serves_again_after_hostile_input(chaos: ChaosSession) -> None:
    _check("hostile-input", chaos)
