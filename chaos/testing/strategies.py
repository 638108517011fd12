"""Hypothesis strategies for chaos testing: server configs, client specs, plans and payloads.

Every strategy is a plain function returning a strategy; keyword arguments bound sizes and
durations, and are validated eagerly (ValueError naming the argument). Defaults keep one
example well under a second: timeouts of tens of milliseconds, a handful of clients.
"""

from __future__ import annotations

from typing import Any

from faker import Faker
from hypothesis import strategies as st

from toolkit import DISPATCH_MODES, ServerConfig

from ..plan import ClientSpec, Plan

__all__ = [
    "FAULT_KINDS",
    "chaos_plans",
    "client_specs",
    "payloads",
    "server_configs",
]

FAULT_KINDS = (
    "never_send",
    "slow_send",
    "slowloris",
    "slow_body",
    "half_close",
    "reset",
    "slow_read",
    "garbage",
    "oversized",
    "flood",
    "probe",
)
# What a probe accepts as "available" in a property run: far above any tens-of-ms timeout.
PROBE_LATENCY = 1.0
# A response no socket buffer on loopback can hold: a non-reading client must block the write.
LARGE_RESPONSE = "/bytes/8000000"
_FAKER_STYLES = ("text", "name", "address", "email", "url", "json")


def _check_range(name: str, low: float, high: float) -> None:
    if not 0 <= low <= high:
        raise ValueError(f"{name}: need 0 <= min <= max, got {low!r}..{high!r}")


def server_configs(
    *,
    models: tuple[str, ...] = ("pool",),
    dispatch: tuple[str, ...] = DISPATCH_MODES,
    timeouts: tuple[float, float] = (0.03, 0.12),
    workers: tuple[int, int] = (1, 4),
    max_pending: tuple[int, int] = (0, 4),
) -> st.SearchStrategy[ServerConfig]:
    """Toolkit server configurations with short timeouts, bound to 127.0.0.1 on a free port."""
    _check_range("timeouts", *timeouts)
    _check_range("workers", *workers)
    _check_range("max_pending", *max_pending)
    if timeouts[0] <= 0:
        raise ValueError(f"timeouts: must be > 0, got {timeouts!r}")
    seconds = st.floats(*timeouts, allow_nan=False, allow_infinity=False)

    @st.composite
    def build(draw: st.DrawFn) -> ServerConfig:
        model = draw(st.sampled_from(models))
        mode = draw(st.sampled_from(dispatch)) if model == "pool" else "on-accept"
        idle = draw(seconds)
        return ServerConfig(
            host="127.0.0.1",
            port=0,
            backlog=256,
            model=model,
            dispatch=mode,
            workers=draw(st.integers(*workers)),
            max_pending=draw(st.integers(*max_pending)),
            idle_timeout=idle,
            # At least the idle timeout, so a trickle inside idle_timeout is cut by this one.
            request_timeout=draw(st.floats(idle, 2 * timeouts[1])),
            write_timeout=draw(seconds),
            queue_timeout=draw(seconds),
            max_request_bytes=draw(st.integers(512, 8192)),
            overload=draw(st.sampled_from(("busy", "close"))),
            shutdown_grace=0.02,
        )

    return build()


def payloads(*, max_size: int = 2000, text: bool = False) -> st.SearchStrategy[Any]:
    """Realistic payloads from Faker, seeded from Hypothesis so a failure replays byte for byte.

    Bytes by default, or str with `text=True` (for parameters that take text).
    """
    if max_size < 1:
        raise ValueError(f"max_size: must be >= 1, got {max_size!r}")

    @st.composite
    def build(draw: st.DrawFn) -> Any:
        seed = draw(st.integers(0, 2**32 - 1))
        style = draw(st.sampled_from(_FAKER_STYLES))
        fake = Faker()
        fake.seed_instance(seed)
        value = {
            "text": lambda: fake.text(max_nb_chars=max(5, max_size)),
            "name": fake.name,
            "address": fake.address,
            "email": fake.email,
            "url": fake.url,
            "json": lambda: fake.json(num_rows=3),
        }[style]()[:max_size]
        return value if text else value.encode()

    return build()


def client_specs(
    *,
    kinds: tuple[str, ...] = FAULT_KINDS,
    max_count: int = 3,
    max_start: float = 0.1,
    max_hold: float = 0.3,
    interval: tuple[float, float] = (0.005, 0.02),
) -> st.SearchStrategy[ClientSpec]:
    """One spec of `count` clients of one fault kind, with bounded timing."""
    unknown = set(kinds) - set(FAULT_KINDS)
    if unknown or not kinds:
        raise ValueError(f"kinds: expected names from {FAULT_KINDS}, got {kinds!r}")
    if max_count < 1:
        raise ValueError(f"max_count: must be >= 1, got {max_count!r}")
    _check_range("max_start", 0, max_start)
    _check_range("interval", *interval)
    if max_hold <= 0:
        raise ValueError(f"max_hold: must be > 0, got {max_hold!r}")
    hold = st.floats(max_hold / 4, max_hold)
    step = st.floats(*interval)

    @st.composite
    def build(draw: st.DrawFn) -> ClientSpec:
        kind = draw(st.sampled_from(kinds))
        params: dict[str, Any] = {}
        if kind == "never_send":
            params = {"hold": draw(hold)}
        elif kind == "slow_send":
            params = {
                "payload": draw(payloads(max_size=200, text=True)),
                "chunk": draw(st.integers(1, 4)),
                "interval": draw(step),
                "hold": draw(hold),
            }
        elif kind == "slowloris":
            params = {"interval": draw(step), "hold": draw(hold)}
        elif kind == "slow_body":
            params = {"content_length": 100_000, "interval": draw(step), "hold": draw(hold)}
        elif kind == "half_close":
            params = {"when": draw(st.sampled_from(("before", "after"))), "hold": draw(hold)}
        elif kind == "reset":
            params = {
                "size": draw(st.integers(0, 300)),
                "data": draw(st.sampled_from(("http", "random"))),
            }
        elif kind == "slow_read":
            params = {
                "path": LARGE_RESPONSE,
                "never_read": draw(st.booleans()),
                "rcvbuf": 4096,
                "hold": draw(hold),
            }
        elif kind == "garbage":
            params = {
                "size": draw(st.integers(1, 3000)),
                "mode": draw(st.sampled_from(("random", "faker"))),
                "hold": draw(hold),
            }
        elif kind == "oversized":
            params = {
                "part": draw(st.sampled_from(("header", "body"))),
                "size": draw(st.integers(10_000, 30_000)),
                "hold": draw(hold),
            }
        elif kind == "flood":
            params = {"hold": draw(st.sampled_from((0.0, max_hold / 2)))}
        elif kind == "probe":
            params = {"max_latency": PROBE_LATENCY}
        count = draw(st.integers(1, max_count * (4 if kind == "flood" else 1)))
        start = draw(st.floats(0, max_start))
        return ClientSpec(kind=kind, params=params, count=count, start=start)

    return build()


def chaos_plans(
    *,
    kinds: tuple[str, ...] = FAULT_KINDS,
    max_specs: int = 3,
    max_count: int = 3,
    max_start: float = 0.1,
    max_hold: float = 0.3,
) -> st.SearchStrategy[Plan]:
    """Mixes of faulty clients with start offsets; the horizon leaves room for every hold."""
    if max_specs < 1:
        raise ValueError(f"max_specs: must be >= 1, got {max_specs!r}")
    specs = client_specs(kinds=kinds, max_count=max_count, max_start=max_start, max_hold=max_hold)
    return st.builds(
        lambda clients, seed: Plan(
            clients=tuple(clients), horizon=max_start + max_hold + 0.2, seed=seed
        ),
        st.lists(specs, min_size=1, max_size=max_specs),
        st.integers(0, 2**31 - 1),
    )
