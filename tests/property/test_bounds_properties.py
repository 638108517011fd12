"""Every row of the bounds table, as generated scripted clients: in both dispatch modes no
client holds a slot or a worker longer than `toolkit.bounds` allows, by the server's event
log; and the same property, aimed at a server with the pipelining pin, finds it.

One example runs a client of every row at once against one server (enough workers that the
rows cannot queue behind each other), so the whole table costs one longest row per example.
"""

from __future__ import annotations

import os
import time

import hypothesis
import trio
from hypothesis import HealthCheck, Phase, given, settings, target
from hypothesis import strategies as st

import chaos
from chaos.testing.behaviours import Behaviour, behaviour_scripts, example, judge, params_for
from chaos.testing.bounds import IN_PROCESS_TOLERANCE, widened
from chaos.testing.checker import join
from chaos.testing.checker.violation import Violation
from chaos.testing.vulnerable import VulnerableConfig, VulnerableServer
from toolkit import DISPATCH_MODES, ConnectionRecord, EventLog, Server, ServerConfig
from toolkit.bounds import BEHAVIOURS

# The toolkit tests' slack, widened the same way on a slow machine (TOOLKIT_TEST_TOLERANCE).
TOLERANCE = float(os.environ.get("TOOLKIT_TEST_TOLERANCE", IN_PROCESS_TOLERANCE))
# Eight clients share one server's threads (two of them sending 16 MB), so its timers fire
# later than for the toolkit tests' one client: at half a CPU, a never-reads worker was let
# go 0.13 s after its write deadline. Twice their slack, widened with the load per core.
# (The pin found on the vulnerable server is judged with the toolkit tests' own slack.)
SHARED = 2
# Short deadlines, each a different length, so a bound summing the wrong ones shows.
TIMEOUTS = {"idle_timeout": 0.1, "request_timeout": 0.25, "write_timeout": 0.15}
CONFIG = {**TIMEOUTS, "queue_timeout": 0.15, "workers": len(BEHAVIOURS), "max_pending": 8}
# Each client gives up this long after connecting: past every row's bound.
HOLD = 1.5
# How long the server gets to log closes after the clients are done (bounded wait).
LOG_WAIT = 2.0
# Generated examples per mode besides each row's plain client: a tenth of the profile's (the
# CI profile's 15 gives 1, the deep profile's 300 gives 30).
EXAMPLES = max(1, settings.default.max_examples // 10)
QUICK = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def every_row(config: ServerConfig) -> st.SearchStrategy[list[Behaviour]]:
    return st.tuples(*(behaviour_scripts(b, config) for b in BEHAVIOURS)).map(list)


def run_clients(address: tuple[str, int], clients: list[Behaviour]) -> list[chaos.ClientRecord]:
    host, port = address
    records: list[chaos.ClientRecord] = [None] * len(clients)  # type: ignore[list-item]

    async def one(index: int, client: Behaviour) -> None:
        records[index] = await chaos.scripted(f"{host}:{port}", params_for(client, hold=HOLD))

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            for index, client in enumerate(clients):
                nursery.start_soon(one, index, client)

    trio.run(main)
    return records


def logged(log: EventLog, records: list[chaos.ClientRecord]) -> list[ConnectionRecord | None]:
    """The server's record of each client, once it has logged every close (bounded)."""
    ports = {r.local_port for r in records if r.connected is not None}
    until = time.monotonic() + LOG_WAIT
    while time.monotonic() < until:
        if ports <= {r.peer_port for r in log.records() if r.closed is not None}:
            break
        time.sleep(0.01)
    pairs, _ = join(records, log.records())
    by_port = {c.local_port: s for c, s in pairs}
    return [by_port.get(r.local_port) for r in records]


def violations(
    config: ServerConfig, clients: list[Behaviour], log: EventLog, address, *, slack: float
) -> list:
    records = run_clients(address, clients)
    found: list[Violation] = []
    worst = 0.0
    for client, record, server in zip(clients, records, logged(log, records), strict=True):
        assert record.connected is not None, record
        assert server is not None, f"{client.name}: no server record of {record.local_port}"
        worst = max(worst, server.worker_longest)
        found += judge(client.name, config, record, server, tolerance=slack)
    target(worst, label="longest worker hold (s)")
    return found


def check_toolkit(dispatch: str, clients: list[Behaviour]) -> None:
    config = ServerConfig(dispatch=dispatch, **CONFIG)  # type: ignore[arg-type]
    server = Server(config, "http-hello")
    address = server.start()
    try:
        found = violations(config, clients, server.log, address, slack=widened(SHARED * TOLERANCE))
    finally:
        server.shutdown()
    assert not found, "\n".join(map(str, found))


_CONFIGS = {d: ServerConfig(dispatch=d, **CONFIG) for d in DISPATCH_MODES}  # type: ignore[arg-type]
_ROWS = {d: every_row(config) for d, config in _CONFIGS.items()}
_PLAIN = {d: [example(b, config) for b in BEHAVIOURS] for d, config in _CONFIGS.items()}


@QUICK
@given(clients=_ROWS["readiness"])
@hypothesis.example(clients=_PLAIN["readiness"])
def test_no_generated_client_outlasts_its_row_with_readiness(clients: list[Behaviour]) -> None:
    check_toolkit("readiness", clients)


@QUICK
@given(clients=_ROWS["on-accept"])
@hypothesis.example(clients=_PLAIN["on-accept"])
def test_no_generated_client_outlasts_its_row_on_accept(clients: list[Behaviour]) -> None:
    check_toolkit("on-accept", clients)


def test_the_same_property_finds_the_pipelining_pin_on_the_old_rule() -> None:
    # The vulnerable server keeps a worker while the next request trickles in, as the
    # toolkit once did; judged by the readiness row, the generated pipelining clients find it.
    config = ServerConfig(dispatch="readiness", **CONFIG)  # type: ignore[arg-type]
    vulnerable = VulnerableConfig(workers=len(BEHAVIOURS), **TIMEOUTS)
    seen: list[list[Violation]] = []

    @settings(QUICK, max_examples=25, phases=(Phase.generate, Phase.target), database=None)
    @given(st.lists(behaviour_scripts("pipelining", config), min_size=4, max_size=4))
    def pipelining(clients: list[Behaviour]) -> None:
        with VulnerableServer(vulnerable) as server:
            found = violations(config, clients, server.log, server.address, slack=TOLERANCE)
        seen.append(found)
        assert not [v for v in found if v.invariant == "worker"], "\n".join(map(str, found))

    try:
        pipelining()
    except AssertionError as failure:
        assert "worker" in str(failure)
    else:
        raise AssertionError(f"no pin found in {len(seen)} examples")
