"""Check: acceptor under hogging. Probe latency while idle clients and slowloris clients are
held: does a well-behaved client still get served, and how fast?

The idle hogs reconnect when the server drops them (flood with ``replace``), so the pressure
lasts the whole window. Only a probe answered (status < 500) within a second is available.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from ...faults import FloodParams
from ...faults.registry import fault_for
from ...plan import ClientSpec
from ..observe import ProbeState, ProbeView, describe_probes, seconds
from ..probes import probe_role
from ..settings import VerifySettings
from ..stage import Role
from ..verdict import CheckResult, judged
from .request_timeout import trickle_interval, trickler

__all__ = ["CHECK", "PROBE_INTERVAL", "judge", "roles", "settle_time"]

CHECK = "hogging"
# Four probes a second resolve an outage to a quarter second.
PROBE_INTERVAL = 0.25
# Hogs opened per second, like the concurrency ramp's holders.
HOG_RATE = 2000.0
# Reconnections allowed per idle hog: bounds the churn against a server that drops at once.
MAX_REPLACEMENTS = 20
# Time for the hogs to take their places before the first probe.
SETTLE = 0.2


def settle_time(settings: VerifySettings) -> float:
    return 2 * settings.hogs / HOG_RATE + SETTLE


def _hold(settings: VerifySettings) -> float:
    return settle_time(settings) + settings.hog_time + settings.probe_timeout


def trickling(settings: VerifySettings) -> str:
    """What the trickling hogs are, as the table says it: ``slowloris``, ``slow-send``."""
    slow = trickler(settings, hold=_hold(settings), interval=trickle_interval(settings))
    return fault_for(slow).kind.replace("_", "-")


def roles(settings: VerifySettings) -> list[Role]:
    settle = settle_time(settings)
    hold = _hold(settings)
    idle = FloodParams(
        rate=HOG_RATE,
        hold=hold,
        replace=True,
        max_replacements=MAX_REPLACEMENTS,
        connect_timeout=settings.connect_timeout,
    )
    slow = trickler(settings, hold=hold, interval=trickle_interval(settings))
    out = [
        Role(name="idle-hog", spec=ClientSpec.of(idle, count=settings.hogs)),
        Role(name="slow-hog", spec=ClientSpec.of(slow, count=settings.hogs)),
    ]
    probes = max(1, round(settings.hog_time / PROBE_INTERVAL))
    out += [probe_role(settings, start=settle + n * PROBE_INTERVAL) for n in range(probes)]
    return out


def judge(views: Sequence[ProbeView], settings: VerifySettings) -> CheckResult:
    """Availability of the probes, and the median latency of those answered."""
    if not views:
        measured, value = "not measured: no probe ran", None
    else:
        ok = sum(1 for v in views if v.available)
        value = ok / len(views)
        answered = [
            v.latency
            for v in views
            if v.state in (ProbeState.OK, ProbeState.QUEUED) and v.latency is not None
        ]
        measured = f"probes {describe_probes(views)}"
        if answered:
            measured += f", p50 latency {seconds(statistics.median(answered))}"
        worst = next((v for v in views if not v.available), None)
        if worst is not None:
            measured += f"; e.g. {worst.describe()}"
        measured += f"; {settings.hogs} idle + {settings.hogs} {trickling(settings)} held"
    return judged(
        CHECK,
        settings.expectations,
        measured=measured,
        value=value,
        holds=value == 1.0,
        failure=f"expected every probe available, measured: {measured}",
        detail={"probes": [v.describe() for v in views], "hogs": settings.hogs},
    )
