from __future__ import annotations

import dataclasses
import math

import pytest

from toolkit import ServerConfig

BAD = [
    ("host", ""),
    ("port", -1),
    ("port", 70000),
    ("backlog", 0),
    ("workers", 0),
    ("workers", 2.5),
    ("max_pending", -1),
    ("max_connections", 0),
    ("idle_timeout", 0),
    ("idle_timeout", -1.0),
    ("request_timeout", math.inf),
    ("write_timeout", math.nan),
    ("queue_timeout", "1"),
    ("max_request_bytes", 0),
    ("overload", "drop"),
    ("shutdown_grace", -0.1),
    ("model", "forking"),
    ("dispatch", "magic"),
    ("log_capacity", 0),
    ("workers", True),
]


@pytest.mark.parametrize(("field", "value"), BAD)
def test_bad_value_raises_value_error_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=rf"^{field} ") as info:
        ServerConfig(**{field: value})  # type: ignore[arg-type]
    assert repr(value) in str(info.value)


def test_defaults_are_valid_and_frozen() -> None:
    config = ServerConfig()
    assert config.model == "pool"
    assert config.host == "127.0.0.1"
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.workers = 3  # type: ignore[misc]


def test_keyword_only() -> None:
    with pytest.raises(TypeError):
        ServerConfig("127.0.0.1")  # type: ignore[misc]


def test_dispatch_defaults_by_model() -> None:
    assert ServerConfig().dispatch_mode == "readiness"
    assert ServerConfig(model="iterative").dispatch_mode == "on-accept"
    assert ServerConfig(model="pool", dispatch="on-accept").dispatch_mode == "on-accept"
    # Unresolved, so switching the model of a default config stays valid.
    assert dataclasses.replace(ServerConfig(), model="iterative").dispatch_mode == "on-accept"


def test_open_limit_is_the_pools_bound_capped_by_max_connections() -> None:
    assert ServerConfig(dispatch="on-accept", workers=3, max_pending=2).open_limit == 5
    capped = ServerConfig(dispatch="on-accept", workers=3, max_pending=2, max_connections=4)
    assert capped.open_limit == 4
    assert ServerConfig(dispatch="readiness", max_connections=50).open_limit == 50


def test_readiness_needs_the_pool_model() -> None:
    with pytest.raises(ValueError, match="dispatch"):
        ServerConfig(model="iterative", dispatch="readiness")


def test_to_dict_round_trips() -> None:
    config = ServerConfig(workers=3, idle_timeout=0.5)
    assert ServerConfig(**config.to_dict()) == config  # type: ignore[arg-type]
