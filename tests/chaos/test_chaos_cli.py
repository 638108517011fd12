"""The command line: one line and exit 2 for anything wrong; tables or JSON otherwise."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from chaos import ChaosResult, ClientSpec, Plan
from chaos.cli import COMMAND_MODULES, build_parser, main

ROOT = Path(__file__).resolve().parents[2]


def read_all(conn) -> None:
    conn.read_all()


def one_line_error(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert captured.out == ""
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["never-send", "--target", "127.0.0.1:1", "--hold", "abc"], "--hold"),
        (["never-send", "--target", "127.0.0.1:1", "--hold", "-1"], "hold"),
        (["never-send", "--target", "127.0.0.1:1", "--count", "0"], "count"),
        (["half-close", "--target", "127.0.0.1:1", "--when", "later"], "--when"),
        (["never-send"], "--target"),
        (["never-send", "--target", "nonsense"], "target"),
        (["explode", "--target", "127.0.0.1:1"], "explode"),
        ([], "COMMAND"),
        (["never-send", "--target", "127.0.0.1:1", "--bogus"], "--bogus"),
    ],
)
def test_bad_flags_print_one_line_and_exit_2(argv, needle, capsys):
    assert main(argv) == 2
    assert needle in one_line_error(capsys)


def test_remote_targets_are_refused_without_the_opt_in(capsys):
    # 192.0.2.0/24 is TEST-NET-1: refused before any packet would be sent.
    assert main(["never-send", "--target", "192.0.2.1:80"]) == 2
    assert "--allow-remote" in one_line_error(capsys)


def test_unreachable_target_is_one_line_and_exit_2(closed_port, capsys):
    assert main(["probe", "--target", f"127.0.0.1:{closed_port}"]) == 2
    assert "cannot reach" in one_line_error(capsys)


def test_fault_subcommand_prints_a_table_or_the_whole_result(serve, capsys):
    server = serve(read_all)
    argv = ["never-send", "--target", server.target, "--hold", "0.05", "--count", "2"]
    assert main([*argv, "--seed", "4"]) == 0
    out = capsys.readouterr().out
    assert "held_to_end" in out and "seed 4" in out
    assert main([*argv, "--seed", "4", "--json"]) == 0
    result = ChaosResult.from_json(capsys.readouterr().out)
    assert result.counts["held_to_end"] == 2 and result.plan.seed == 4


def test_run_executes_a_plan_file_and_replays_a_result(serve, tmp_path, capsys):
    server = serve(read_all)
    plan = Plan(
        clients=[ClientSpec(kind="garbage", params={"size": 64, "hold": 0.05}, count=2)],
        horizon=1,
        seed=11,
        target=server.target,
    )
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan.to_json()))
    assert main(["run", str(plan_file), "--json"]) == 0
    first = ChaosResult.from_json(capsys.readouterr().out)
    result_file = tmp_path / "result.json"
    result_file.write_text(json.dumps(first.to_json()))
    assert main(["run", str(result_file), "--json"]) == 0
    replay = ChaosResult.from_json(capsys.readouterr().out)
    assert replay.plan == plan
    assert [r.sent_digest for r in replay.records] == [r.sent_digest for r in first.records]


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "cannot read"),
        (b"{", "not valid JSON"),
        (b'{"clients": [], "horizon": 1}', "clients"),
        # Latin-1 text, not UTF-8: the decoder raised UnicodeDecodeError.
        ('{"clients": [], "horizon": 1, "seed": "\u00e9"}'.encode("latin-1"), "not UTF-8"),
        # Nested past the JSON decoder's recursion limit: it raised RecursionError.
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper"),
        # Nested within the decoder's limit but past any plan's depth.
        (b'{"clients": ' + b"[" * 500 + b"]" * 500 + b', "horizon": 1}', "nested deeper"),
    ],
)
def test_run_rejects_bad_plan_files(tmp_path, capsys, content, needle):
    path = tmp_path / "plan.json"
    if content is not None:
        path.write_bytes(content)
    assert main(["run", str(path)]) == 2
    assert needle in one_line_error(capsys)


# A label past DNS's 63 characters: the resolver's IDNA codec raised UnicodeError.
LONG_LABEL = "a" * 64 + ".example:80"


@pytest.mark.parametrize("command", ["never-send", "slowloris", "verify"])
def test_a_host_label_past_63_characters_is_one_line_and_exit_2(command, capsys):
    assert main([command, "--target", LONG_LABEL]) == 2
    assert "1 to 63 characters" in one_line_error(capsys)


def test_a_horizon_of_zero_is_refused_not_taken_as_the_default(capsys):
    assert main(["never-send", "--target", "127.0.0.1:1", "--horizon", "0"]) == 2
    assert "horizon: must be in (0," in one_line_error(capsys)


def test_a_line_break_in_a_value_stays_on_the_one_line(tmp_path, capsys):
    assert main(["run", str(tmp_path / "two\nlines.json")]) == 2
    assert "two\\nlines.json" in one_line_error(capsys)


def test_run_needs_a_target_from_somewhere(tmp_path, capsys):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(Plan(clients=[ClientSpec(kind="probe")], horizon=1).to_json()))
    assert main(["run", str(path)]) == 2
    assert "target" in one_line_error(capsys)


def test_another_module_can_register_a_subcommand():
    parser = build_parser([*COMMAND_MODULES, "chaos.cli.run"][-1:])
    assert parser.parse_args(["run", "x.json"]).plan == "x.json"
    assert "chaos.cli.faults" in COMMAND_MODULES


def test_python_dash_m_chaos_exits_2_with_one_line():
    proc = subprocess.run(
        [sys.executable, "-m", "chaos", "slowloris", "--target", "127.0.0.1:1", "--interval", "x"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "--interval" in proc.stderr


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(commands.choices)


def test_help_reads_as_one_tool_with_an_example_per_command(capsys):
    commands = _subcommands()
    # One spelling each: no underscore names, no aliases listed beside them.
    assert all("_" not in name for name in commands), sorted(commands)
    assert len({id(p) for p in commands.values()}) == len(commands)
    with pytest.raises(SystemExit):
        main(["--help"])
    top = capsys.readouterr().out
    assert "``" not in top and "example: chaos " in top
    for name in commands:
        with pytest.raises(SystemExit) as stop:
            main([name, "--help"])
        assert stop.value.code == 0
        assert f"example: chaos {name} " in capsys.readouterr().out, name
