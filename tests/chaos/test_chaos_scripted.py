"""The scripted client: its step language round-trips, bad scripts are refused by name, and
what it sends and times on the wire is what the steps say (against a toolkit server); a
stage watched live ends when its watch says, the client cut short still timing its stall."""

from __future__ import annotations

import functools
import json
import random
import time
from collections.abc import Iterator

import h11
import pytest
import trio

import chaos
from chaos import ChaosResult, ClientSpec, Plan
from chaos.cli import main
from chaos.faults import ScriptedParams
from chaos.script import Part, Pause, Send, format_steps, parse_steps
from chaos.script.grammar import Composer, grammar_for
from chaos.script.progress import HttpProgress, longest_stall
from chaos.verify.stage import Live, Role, run_stage
from toolkit import CloseReason, Server, ServerConfig

IDLE = 0.3
REQUEST = 0.6
# Slack on a stall the server's deadline ends: scheduling on a loaded machine.
SLACK = 0.25

SCRIPTS = [
    "send request next=1; trickle rest every=0.2; send end next=1; repeat 3 last=2",
    "send line=POST header length=4 expect end; reply; trickle body=4 every=0.1 size=2",
    'send "GET / HTTP/1.1\\r\\nX: \\x00\\"q\\"\\r\\n"; pause 0.25; shut',
    'stop-reading; send request="GET /bytes/100"; read 10; read-slowly size=4 every=0.5',
    "send junk=16 request=HEAD; reset",
    "pause 1e-06; close",
]


@pytest.mark.parametrize("text", SCRIPTS)
def test_a_script_reads_back_as_the_steps_it_was_written_from(text: str) -> None:
    steps = parse_steps(text)
    assert parse_steps(format_steps(steps)) == steps
    assert format_steps(parse_steps(format_steps(steps))) == format_steps(steps)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("pause -1", "pause: must be >= 0"),
        ("send", "send: needs at least one part"),
        ("send request; repeat 2 last=5", "repeat: last=5, but only 1 steps"),
        ("jump 3", "unknown step 'jump'"),
        ('send "\\q"', "bad escape"),
        ("send next=0", "next: must be 1.."),
        ("trickle request", "trickle: needs every="),
        ("send body", "body: needs a value"),
        ("send request; repeat 10000", "at most 10000 steps"),
    ],
)
def test_a_bad_script_is_refused_naming_what_is_wrong(text: str, needle: str) -> None:
    with pytest.raises(ValueError, match="^steps: .*" + needle.replace("(", r"\(")):
        ScriptedParams(steps=text)


def test_a_part_the_protocol_lacks_is_refused_naming_the_protocol() -> None:
    with pytest.raises(ValueError, match="header: raw has no such part"):
        ScriptedParams(steps="send header", protocol="raw")


def test_parts_render_as_h11_frames_them_and_rest_continues_next() -> None:
    composer = Composer(grammar_for("http"), "h", random.Random(1))
    head = composer.join((Part("next", 3),)) + composer.join((Part("rest"), Part("end")))
    server = h11.Connection(h11.SERVER)
    server.receive_data(head)
    event = server.next_event()
    assert isinstance(event, h11.Request) and event.method == b"GET"
    one, two = (Composer(grammar_for("http"), "h", random.Random(7)) for _ in range(2))
    assert one.join((Part("junk", 32),)) == two.join((Part("junk", 32),))  # seeded


def test_progress_frames_a_head_answer_without_a_body_and_skips_100_continue() -> None:
    progress = HttpProgress()
    progress.sent(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
    progress.received(b"HTTP/1.1 100 Continue\r\n\r\n", 1.0)
    progress.received(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 2.0)  # HEAD: whole
    progress.received(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\no", 3.0)
    progress.received(b"k", 4.0)
    assert progress.completions == [2.0, 4.0]
    assert progress.statuses == [200, 200] and progress.interim == 1
    assert longest_stall(0.0, progress.completions, 9.0) == (5.0, 4.0)


@pytest.fixture
def server(no_leaks: None) -> Iterator[Server]:
    config = ServerConfig(idle_timeout=IDLE, request_timeout=REQUEST, write_timeout=0.5)
    server = Server(config, "http-hello")
    server.start()
    yield server
    server.shutdown()


def target(server: Server) -> str:
    host, port = server.address
    return f"{host}:{port}"


def run(server: Server, steps: str, **params: object) -> chaos.ClientRecord:
    async def main() -> chaos.ClientRecord:
        return await chaos.scripted(target(server), steps=steps, **params)  # type: ignore[arg-type]

    return trio.run(main)


def test_pipelined_get_and_head_are_both_answered_and_counted(server: Server) -> None:
    record = run(server, "send request request=HEAD; reply; reply; close", hold=3)
    assert record.outcome is chaos.Outcome.COMPLETED, record
    assert record.detail["responses"] == 2 and record.detail["statuses"] == "200,200"
    assert record.number("stalled") < SLACK


def test_expect_100_continue_is_waited_for_and_the_body_answered(server: Server) -> None:
    steps = "send line=POST header length=4 expect end; reply; send body=4; reply; close"
    record = run(server, steps, hold=3)
    assert record.outcome is chaos.Outcome.COMPLETED and record.detail["statuses"] == "200"
    assert record.number("steps_run") == 5


def test_a_stall_lasts_until_the_server_deadline_ends_it(server: Server) -> None:
    # The head is never finished: the request deadline ends it, and that whole time is a
    # stall; the server logs the connection as cut by that deadline.
    record = run(server, "send line; trickle header every=0.05; pause 5", hold=3)
    assert record.outcome is chaos.Outcome.CLOSED_BY_SERVER, record
    stalled = record.number("stalled")
    assert stalled is not None and REQUEST - 0.05 <= stalled <= REQUEST + SLACK
    closed = [r for r in server.log.records() if r.peer_port == record.local_port]
    assert [r.reason for r in closed] == [CloseReason.REQUEST_TIMEOUT]


def test_reset_ends_the_script_with_an_rst_the_server_sees(server: Server) -> None:
    record = run(server, "send line header; reset", hold=3)
    assert record.outcome is chaos.Outcome.COMPLETED and record.detail.get("aborted")
    for _ in range(200):  # bounded: the server logs the close within its tick
        closed = [r for r in server.log.records() if r.peer_port == record.local_port]
        if closed and closed[0].closed is not None:
            break
        trio.run(trio.sleep, 0.01)
    assert closed[0].reason in (CloseReason.RESET, CloseReason.PEER_CLOSED)


def test_a_scripted_plan_round_trips_and_chaos_run_replays_it(
    server: Server, tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    params = ScriptedParams(steps="send request; reply; pause 0.05; send request=HEAD", hold=1)
    plan = Plan(clients=(ClientSpec.of(params, count=2),), horizon=3, seed=5, target=target(server))
    assert Plan.from_json(json.dumps(plan.to_json())) == plan
    path = tmp_path / "plan.json"  # type: ignore[operator]
    path.write_text(json.dumps(plan.to_json()))
    assert main(["run", str(path), "--json"]) == 0
    result = ChaosResult.from_json(capsys.readouterr().out)
    assert result.plan == plan
    assert [r.detail["statuses"] for r in result.records] == ["200,200", "200,200"]


def test_the_cli_runs_a_script_given_as_a_flag(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["scripted", "--target", target(server), "--steps", "send request; reply; close"]
    assert main([*argv, "--json"]) == 0
    result = ChaosResult.from_json(capsys.readouterr().out)
    assert result.records[0].status == 200
    assert main(["scripted", "--target", target(server), "--steps", "pause x"]) == 2
    assert "steps: pause: expected seconds" in capsys.readouterr().err


def test_steps_are_data_a_python_caller_builds_directly() -> None:
    steps = (Send((Part("request"), Part("next", 2))), Pause(0.5))
    params = ScriptedParams(steps=format_steps(steps))
    assert params.script == steps


# A stage watched until its scripted client has stalled this long, with a hold far past it:
# a stage that ends near the cut was ended by the watch, not by the hold.
CUT = 0.1
LONG_HOLD = 3.0


def test_a_watch_reads_a_stage_live_and_ends_it_with_the_stall_recorded(hold_server) -> None:
    seen: list[chaos.ClientRecord] = []

    async def watch(live: Live) -> None:
        while True:
            await trio.sleep(0.01)
            (record,) = live("script") or (None,)
            if record is not None and record.connected is not None:
                seen.append(record)
                if time.monotonic() - record.connected > CUT:
                    return

    spec = ClientSpec.of(ScriptedParams(steps="send request", hold=LONG_HOLD))
    aim = chaos.Target.parse(hold_server.target)
    stage = trio.run(
        functools.partial(
            run_stage, "cut", [Role(name="script", spec=spec)], aim, limit=LONG_HOLD, watch=watch
        )
    )
    (record,) = stage.of("script")
    assert seen and all(r.closed is None for r in seen)  # reading it live left it open
    assert record.outcome is chaos.Outcome.HELD_TO_END and record.closed is not None
    assert record.closed - record.connected < LONG_HOLD / 2, record  # the watch ended it
    # The client cut short still says what it saw: a stall from its connect to the cut.
    stalled = record.number("stalled")
    assert stalled is not None and CUT < stalled <= record.closed - record.connected, record
