"""The pool model keeps every promise under generated configurations and chaos plans.

`target()` steers the search toward the worst accept lag and the most connections held, so a
knee in the server's behaviour is found rather than guessed.
"""

from __future__ import annotations

from hypothesis import given, target

from chaos.plan import Plan
from chaos.testing.bounds import Bounds
from chaos.testing.checker import check, join
from chaos.testing.harness import observe
from chaos.testing.strategies import chaos_plans, server_configs
from toolkit import ServerConfig


@given(config=server_configs(), plan=chaos_plans())
def test_pool_model_has_no_violations(config: ServerConfig, plan: Plan) -> None:
    observation = observe(config, plan)
    pairs, _ = join(observation.clients, observation.server)
    lags = [s.accepted - c.connected for c, s in pairs if s is not None and c.connected]
    target(max(lags, default=0.0), label="worst accept lag (s)")
    target(float(observation.stats.max_open), label="connections held at once")
    violations = check(observation, Bounds.from_config(config))
    assert not violations, "\n".join(map(str, violations))
