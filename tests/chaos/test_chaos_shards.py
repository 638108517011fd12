"""A plan spread over processes, or over segments run apart and merged, is the same plan:
the same bytes per client, the same counts; too big a plan is refused before it connects;
and an interrupted run leaves no process, socket or descriptor behind."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import chaos
from bench.procs import descendants
from chaos import ChaosResult, ClientSpec, Plan
from chaos.cli import main
from chaos.engine.fdlimit import open_fds
from chaos.engine.processes import ShardError
from chaos.verify.lateness import sampling
from tests import waiting

ROOT = Path(__file__).resolve().parents[2]
# Bounds for what must not hang: a shard's start on a slow, loaded machine, a run's stop.
LONG = 30.0
# Connections the interrupted runs hold: enough to spread over two processes, few to open.
HELD = 400


def read_all(conn) -> None:
    conn.read_all()


# One of each way a client can be run: swarm (flood, never_send, slowloris) and trio tasks
# (garbage random and Faker, reset, slow_send), each with bytes that do not depend on timing.
MIXED = [
    ClientSpec(kind="flood", count=12),
    ClientSpec(kind="never_send", params={"hold": 0.2}, count=5),
    ClientSpec(kind="slowloris", params={"hold": 0.2, "interval": 30.0}, count=4),
    # A hold counts from the connect: 0.5 s (as slow_send's) lets a starved client reach its
    # send, and costs nothing, the clients running side by side.
    ClientSpec(kind="garbage", params={"size": 300, "hold": 0.5}, count=5),
    ClientSpec(kind="garbage", params={"size": 300, "mode": "faker", "hold": 0.5}, count=3),
    ClientSpec(kind="reset", params={"size": 50, "data": "random"}, count=4),
    ClientSpec(kind="slow_send", params={"size": 40, "chunk": 20, "interval": 0.01, "hold": 0.5}),
]


def by_index(result: ChaosResult) -> dict[int, tuple[str, str, int]]:
    return {r.index: (r.kind, r.sent_digest, r.bytes_sent) for r in result.records}


def test_the_same_plan_sends_the_same_bytes_whatever_the_number_of_processes(serve):
    server = serve(read_all)
    plan = Plan(clients=MIXED, horizon=3.0, seed=21)
    # Three processes split the 35 clients unevenly: each shard's share is cut, not divided.
    runs = {n: chaos.run(plan, target=server.target, processes=n) for n in (1, 3)}
    one = runs[1]
    assert len(one.records) == plan.total_clients
    for n, result in runs.items():
        assert by_index(result) == by_index(one), n
        assert result.counts == one.counts, n
        assert [r.index for r in result.records] == sorted(r.index for r in result.records)
        shared = [note for note in result.notes if "processes shared" in note]
        assert shared == ([] if n == 1 else [f"{n} processes shared the clients"])
    assert len({d for _, d, _ in by_index(one).values()}) > 10, "clients draw their own bytes"


def close_after(delay: float):
    def handler(conn) -> None:
        conn.stop.wait(delay)

    return handler


def test_segments_run_apart_and_merged_are_the_one_process_run(serve, tmp_path, capsys):
    server = serve(close_after(0.15))
    plan = Plan(
        clients=[
            ClientSpec(kind="flood", params={"hold": 1.0}, count=10),
            ClientSpec(kind="never_send", params={"hold": 1.0}, count=6),
            ClientSpec(kind="garbage", params={"size": 200, "hold": 1.0}, count=6),
        ],
        horizon=2.0,
        seed=9,
        target=server.target,
    )
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan.to_json()))

    lag = 0.0  # the worst any run woke late: its clients noted their connects that late

    def run(*extra: str) -> str:
        nonlocal lag
        with sampling() as lateness:
            assert main(["run", str(plan_file), "--json", "--processes", "1", *extra]) == 0
        lag = max(lag, lateness.worst)
        return capsys.readouterr().out

    one = ChaosResult.from_json(run())
    parts = []
    for i in range(4):
        path = tmp_path / f"r{i}.json"
        path.write_text(run("--segment", f"{i}/4", "--start-at", str(time.time())))
        parts.append(str(path))
    assert main(["merge", *reversed(parts), "--json"]) == 0
    merged = ChaosResult.from_json(capsys.readouterr().out)
    assert merged.segment.whole and merged.plan == one.plan
    assert by_index(merged) == by_index(one)
    assert merged.counts == one.counts
    assert [r.index for r in merged.records] == [r.index for r in one.records]
    for kind, dist in one.closed_after.items():
        other = merged.closed_after[kind]
        assert dist is not None and other is not None and other.count == dist.count
        # The server closes each 150 ms after its accept, in either run: each segment's times
        # are aligned on its own start (misaligned, they would fall outside the run); how late
        # past 150 ms a loaded machine sees the close differs from run to run, and a client
        # woken late from its connect counts from then.
        for run_dist in (dist, other):
            early = 0.15 - 0.01 - lag
            assert early <= run_dist.min <= run_dist.max <= plan.horizon, (kind, run_dist, lag)


def lowered_limit(limit: int):
    def setup() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    return setup


def chaos_cli(*argv: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "chaos", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=LONG,
        **kwargs,
    )


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def test_a_plan_past_the_open_file_limit_is_refused_up_front_with_the_numbers(hold_server):
    done = chaos_cli(
        "never-send",
        "--target",
        hold_server.target,
        "--count",
        "2000",
        "--processes",
        "2",
        preexec_fn=lowered_limit(512),
    )
    assert done.returncode == 2 and done.stdout == ""
    line = one_line(done.stderr)
    assert "2,000 sockets" in line and "1,000 in one of 2 processes" in line
    assert "hard limit of 512" in line and "--processes 5" in line
    # Only the reachability check connected; no client did.
    assert hold_server.accepted <= 1


def test_a_plan_past_the_ports_of_its_sources_is_refused_up_front(hold_server):
    done = chaos_cli(
        "never-send",
        "--target",
        hold_server.target,
        "--count",
        "30000",
        "--processes",
        "4",
        "--source",
        "127.0.0.1",
    )
    assert done.returncode == 2
    line = one_line(done.stderr)
    assert "30,000 connections" in line and "at least 2 addresses with --source" in line
    assert hold_server.accepted <= 1


def children_of(pid: int) -> set[int]:
    """Every live descendant of ``pid``."""
    return descendants(pid) - {pid}


def new_children(others: set[int]) -> set[int]:
    """This process's descendants outside the trees of ``others``: what a run started, not
    the servers or commands the session already had running (their own children included)."""
    found = children_of(os.getpid())
    return found - {pid for other in others for pid in descendants(other)}


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_until(condition, timeout: float = LONG) -> bool:
    return waiting.wait_until(condition, timeout)


def test_sigint_to_the_command_line_stops_every_shard_and_closes_every_socket(hold_server):
    argv = [sys.executable, "-m", "chaos", "never-send", "--target", hold_server.target]
    argv += ["--count", str(HELD), "--hold", "60", "--processes", "2", "--quiet"]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert wait_until(lambda: hold_server.open >= HELD), hold_server.open
        shards = children_of(proc.pid)
        assert shards, "the run has a shard process"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=LONG)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert "interrupted" in one_line(err.decode())
    assert not [pid for pid in shards if alive(pid)]
    assert hold_server.wait_idle(HELD + 1), f"{hold_server.open} connections still open"


def test_sigint_in_the_middle_of_a_run_leaks_no_process_socket_or_descriptor(hold_server):
    plan = Plan(
        clients=[ClientSpec(kind="never_send", params={"hold": 60.0}, count=HELD)], horizon=60
    )
    before = open_fds()
    # Children the session already had (servers other tests started) are not the run's.
    others = children_of(os.getpid())
    seen: set[int] = set()

    def interrupt() -> None:
        if wait_until(lambda: hold_server.open >= HELD):
            seen.update(new_children(others))
            os.kill(os.getpid(), signal.SIGINT)

    helper = threading.Thread(target=interrupt, daemon=True)
    helper.start()
    with pytest.raises(KeyboardInterrupt):
        chaos.run(plan, target=hold_server.target, processes=2)
    helper.join(LONG)
    assert seen, "the run had a shard process when interrupted"
    assert not [pid for pid in seen if alive(pid)]
    assert not new_children(others)
    assert hold_server.wait_idle(HELD)
    assert open_fds() == before


def test_a_verify_stage_without_probes_to_wait_for_spreads_over_processes(hold_server):
    import trio

    from chaos.faults import FloodParams, SlowlorisParams
    from chaos.target import Target
    from chaos.verify.stage import Role, run_stage

    roles = [
        Role(name="hold", spec=ClientSpec.of(FloodParams(hold=0.2), count=30)),
        Role(name="loris", spec=ClientSpec.of(SlowlorisParams(hold=0.2), count=10)),
    ]
    target = Target.parse(hold_server.target)
    stage = trio.run(lambda: run_stage("s", roles, target, limit=2.0, processes=2))
    assert "2 processes shared the clients" in stage.result.notes
    assert [r.index for r in stage.of("hold")] == list(range(30))
    assert [r.index for r in stage.of("loris")] == list(range(30, 40))
    assert {r.kind for r in stage.of("loris")} == {"slowloris"}


def test_a_shard_that_dies_mid_run_is_reported_at_once_and_the_rest_stopped(hold_server):
    plan = Plan(
        clients=[ClientSpec(kind="never_send", params={"hold": 60.0}, count=HELD)], horizon=60
    )
    others = children_of(os.getpid())  # not the run's: killed, they would fail other tests
    victims: set[int] = set()

    def kill_a_shard() -> None:
        if wait_until(lambda: hold_server.open >= HELD):
            victims.update(new_children(others))
            for pid in victims:
                os.kill(pid, signal.SIGKILL)

    helper = threading.Thread(target=kill_a_shard, daemon=True)
    helper.start()
    began = time.monotonic()
    with pytest.raises(ShardError, match=r"shard 1/2:1 \(exit -9\)"):
        chaos.run(plan, target=hold_server.target, processes=2)
    helper.join(LONG)
    assert victims and time.monotonic() - began < LONG
    assert hold_server.wait_idle(HELD)
