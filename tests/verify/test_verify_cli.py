"""Must-hold 4: bad input gets one clear line on stderr and exit 2, before any traffic."""

from __future__ import annotations

import pytest

from chaos.cli import COMMAND_MODULES, main


def one_line_error(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert captured.out == ""
    return lines[0]


def test_verify_is_registered_as_a_command_module():
    assert "chaos.cli.verify" in COMMAND_MODULES


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--expect", "bogus=1"], "unknown key 'bogus'"),
        (["--expect", "idle-timeout=abc"], "idle-timeout: expected seconds or 'none'"),
        (["--expect", "idle-timeout=-1"], "idle-timeout: must be > 0"),
        (["--expect", "idle-timeout"], "is not KEY=VALUE"),
        (["--expect", "max-connections=1.5"], "max-connections: expected a count"),
        (["--expect", "half-close=maybe"], "half-close: expected respond or close"),
        (["--expect", "flood=dies"], "flood: expected survives"),
        (["--expect", "idle-timeout=1", "idle-timeout=2"], "idle-timeout given twice"),
        (["--checks", "idle-timeout", "--expect", "flood=survives"], "flood is not among"),
        (["--checks", "nope"], "unknown check 'nope'"),
        (["--tolerance", "-1"], "tolerance: must be > 0"),
        (["--tolerance", "abc"], "--tolerance"),
        (["--budget", "5"], "budget: 5 s is less than"),
        (["--flood", "0"], "flood: expected an integer >= 1"),
        (["--report", "out.txt"], "--report: expected a PATH.html"),
        (["--protocol", "raw"], "--protocol raw needs a --target"),
        (["--protocol", "gopher"], "--protocol"),
        (["--protocol", "custom"], "send: a custom protocol needs"),
        (["--protocol", "redis", "--match", "x"], "match: only the custom protocol"),
        (["--protocol", "custom", "--send", "x", "--match", "("], "match: not a regular"),
        (["--connect-rate", "0"], "connect_rate: must be > 0"),
        (["--expect", "max-served=0"], "max-served: expected a count >= 1"),
        (["--target", "nonsense"], "target: expected HOST:PORT"),
        (["--target", "192.0.2.1:80"], "refusing non-loopback target"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, needle, capsys):
    assert main(["verify", *argv]) == 2
    assert needle in one_line_error(capsys)


def test_an_unreachable_target_is_one_line_and_exit_2(closed_port, capsys):
    assert main(["verify", "--target", f"127.0.0.1:{closed_port}"]) == 2
    line = one_line_error(capsys)
    assert "cannot reach" in line and str(closed_port) in line


def test_bad_expectations_on_a_good_target_are_refused_before_any_traffic(toolkit_server, capsys):
    target, server = toolkit_server()
    assert main(["verify", "--target", target, "--expect", "idle-timeout=soon"]) == 2
    assert "idle-timeout" in one_line_error(capsys)
    assert server.stats().accepted == 0


@pytest.mark.parametrize(("flag", "name"), [("--report", "run.html"), ("--junit", "run.xml")])
def test_an_unwritable_output_path_is_refused_before_any_traffic(
    flag, name, tmp_path, toolkit_server, capsys
):
    target, server = toolkit_server()
    (tmp_path / name).mkdir()
    for path in (tmp_path / "missing" / name, tmp_path / name):  # no such folder; a folder
        assert main(["verify", "--target", target, flag, str(path), "--quiet"]) == 2
        line = one_line_error(capsys)
        assert line.startswith(f"chaos: {flag}: ") and str(path) in line, line
    assert server.stats().accepted == 0
    assert not (tmp_path / "missing").exists()
