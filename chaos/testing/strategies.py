"""Hypothesis strategies for chaos testing: server configs, client specs, plans and payloads.

Every strategy is a plain function returning a strategy; keyword arguments bound sizes and
durations, and are validated eagerly (ValueError naming the argument). Defaults keep one
example well under a second: timeouts of tens of milliseconds, a handful of clients.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, overload

from faker import Faker
from hypothesis import strategies as st

from toolkit import DISPATCH_MODES, ServerConfig

from ..faults import (
    FloodParams,
    GarbageParams,
    HalfCloseParams,
    HolderParams,
    NeverSendParams,
    OversizedParams,
    ProbeParams,
    ResetParams,
    ScriptedParams,
    SlowBodyParams,
    SlowlorisParams,
    SlowReadParams,
    SlowSendParams,
)
from ..faults.base import Fault
from ..faults.garbage import MODES
from ..faults.half_close import WHEN
from ..faults.registry import FAULTS, get_fault
from ..faults.reset import DATA
from ..params import FaultParams, HoldParams
from ..plan import ClientSpec, Plan
from ..script.steps import format_steps
from ..script.strategies import Script, moves, scripts

__all__ = [
    "FAULT_KINDS",
    "LARGE_RESPONSE",
    "Script",
    "chaos_plans",
    "client_specs",
    "fault_params",
    "moves",
    "payloads",
    "scripts",
    "server_configs",
]

# Every registered fault, in registry order.
FAULT_KINDS = tuple(FAULTS)
# Connection-pressure faults are drawn with this many times the clients of the others.
PRESSURE_FACTOR = 4
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


@overload
def payloads(*, max_size: int = ..., text: Literal[False] = ...) -> st.SearchStrategy[bytes]: ...
@overload
def payloads(*, max_size: int = ..., text: Literal[True]) -> st.SearchStrategy[str]: ...


def payloads(*, max_size: int = 2000, text: bool = False) -> st.SearchStrategy[bytes | str]:
    """Realistic payloads from Faker, seeded from Hypothesis so a failure replays byte for byte.

    Bytes by default, or str with `text=True` (for parameters that take text).
    """
    if max_size < 1:
        raise ValueError(f"max_size: must be >= 1, got {max_size!r}")

    @st.composite
    def build(draw: st.DrawFn) -> bytes | str:
        seed = draw(st.integers(0, 2**32 - 1))
        style = draw(st.sampled_from(_FAKER_STYLES))
        fake = Faker()
        fake.seed_instance(seed)
        makers: dict[str, Callable[[], str]] = {
            "text": lambda: fake.text(max_nb_chars=max(5, max_size)),
            "name": fake.name,
            "address": fake.address,
            "email": fake.email,
            "url": fake.url,
            "json": lambda: fake.json(num_rows=3),
        }
        value = makers[style]()[:max_size]
        return value if text else value.encode()

    return build()


def fault_params(
    *, max_hold: float = 0.3, interval: tuple[float, float] = (0.005, 0.02)
) -> dict[type[FaultParams], st.SearchStrategy[FaultParams]]:
    """One strategy per parameter class (``st.builds``), each bounded so an example is quick.

    A fault with no entry here gets ``st.builds`` of its class, with a short ``hold`` if it has
    one, so a newly registered fault is drawn without touching this table.
    """
    _check_range("interval", *interval)
    if max_hold <= 0:
        raise ValueError(f"max_hold: must be > 0, got {max_hold!r}")
    hold = st.floats(max_hold / 4, max_hold)
    step = st.floats(*interval)
    return {
        NeverSendParams: st.builds(NeverSendParams, hold=hold),
        SlowSendParams: st.builds(
            SlowSendParams,
            payload=payloads(max_size=200, text=True),
            chunk=st.integers(1, 4),
            interval=step,
            hold=hold,
        ),
        SlowlorisParams: st.builds(SlowlorisParams, interval=step, hold=hold),
        SlowBodyParams: st.builds(
            SlowBodyParams, content_length=st.just(100_000), interval=step, hold=hold
        ),
        HalfCloseParams: st.builds(HalfCloseParams, when=st.sampled_from(WHEN), hold=hold),
        ResetParams: st.builds(ResetParams, size=st.integers(0, 300), data=st.sampled_from(DATA)),
        SlowReadParams: st.builds(
            SlowReadParams,
            path=st.just(LARGE_RESPONSE),
            never_read=st.booleans(),
            rcvbuf=st.just(4096),
            hold=hold,
        ),
        GarbageParams: st.builds(
            GarbageParams, size=st.integers(1, 3000), mode=st.sampled_from(MODES), hold=hold
        ),
        OversizedParams: st.builds(
            OversizedParams,
            part=st.sampled_from(("header", "body")),
            size=st.integers(10_000, 30_000),
            hold=hold,
        ),
        FloodParams: st.builds(FloodParams, hold=st.sampled_from((0.0, max_hold / 2))),
        # Silent, or keeping alive with a request every step (its replies discarded).
        HolderParams: st.builds(
            HolderParams,
            message=st.sampled_from(("", "GET / HTTP/1.1\r\nHost: chaos\r\n\r\n")),
            interval=step,
            hold=hold,
        ),
        ProbeParams: st.builds(ProbeParams),
        ScriptedParams: st.builds(
            ScriptedParams,
            steps=scripts(tick=interval[0], max_moves=2, large_path=LARGE_RESPONSE).map(
                lambda s: format_steps(s.steps)
            ),
            hold=hold,
        ),
    }


def _params_of(
    fault: Fault[Any],
    table: dict[type[FaultParams], st.SearchStrategy[FaultParams]],
    max_hold: float,
) -> st.SearchStrategy[FaultParams]:
    found = table.get(fault.params)
    if found is not None:
        return found
    if issubclass(fault.params, HoldParams):
        return st.builds(fault.params, hold=st.floats(max_hold / 4, max_hold))
    return st.builds(fault.params)


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
    table = fault_params(max_hold=max_hold, interval=interval)

    @st.composite
    def build(draw: st.DrawFn) -> ClientSpec:
        fault = get_fault(draw(st.sampled_from(kinds)))
        params = draw(_params_of(fault, table, max_hold))
        most = max_count * (PRESSURE_FACTOR if fault.traits.pressure else 1)
        count = draw(st.integers(1, most))
        start = draw(st.floats(0, max_start))
        return ClientSpec.of(params, count=count, start=start)

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
