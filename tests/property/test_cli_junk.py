"""Hypothesis feeds the command lines and the plan loader junk: each either succeeds or prints
one line on stderr and exits 2, never a traceback.

No junk sends a packet anywhere but to a closed loopback port: every target drawn is one that
is refused before any traffic (non-loopback), cannot be resolved without a lookup that fails
locally (an oversized label, a character IDNA refuses), or is that closed port. A `verify`
always has a target (without one it would start the embedded server and run for ~25 s), and
`toolkit serve` binds only port 0 on loopback and stops at once (its signal wait returns).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

import chaos.cli
import chaos.cli.verify
import toolkit.cli

# Enough junk to meet each flag with each kind of bad value; each example takes milliseconds.
EXAMPLES = 30
# Derandomised: the suite meets the same junk on every run (a failure replays); a wider search
# is `--hypothesis-seed` away.
JUNK = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Values a shell can pass that tend to break parsers. (argv never holds NUL, so neither do we.)
AWKWARD = [
    "",
    " ",
    "-1",
    "0",
    "1",
    "3",
    "0.0",
    "nan",
    "inf",
    "-inf",
    "1e309",
    "9" * 40,
    "0x10",
    "1_000",
    "²",
    "none",
    "true",
    "a\nb",
    "\udcff",
    "é",
    "idle-timeout=1",
    "idle-timeout=",
    "=1",
    "max-connections=-3",
    "half-close=maybe",
    "x.html",
    "/nonexistent/dir/out.html",
]
_text = st.text(st.characters(exclude_characters="\x00"), max_size=12)
values = st.sampled_from(AWKWARD) | _text | st.integers(-5, 50).map(str) | st.floats().map(str)


@pytest.fixture(scope="module")
def refused() -> Iterator[int]:
    """A loopback port bound but not listening: a connection to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def targets(port: int) -> st.SearchStrategy[str]:
    """Targets that can never reach a server: refused, non-loopback, or malformed."""
    return st.sampled_from(
        [
            f"127.0.0.1:{port}",
            f"[::1]:{port}",
            "127.0.0.1:0",
            "127.0.0.1:99999",
            "127.0.0.1",
            ":80",
            "[::1]",
            "192.0.2.1:80",
            "[2001:db8::1]:80",
            "a" * 64 + ".example:80",
            "\udcff:80",
            "a..b:80",
            "nonsense",
            "",
        ]
    )


def _flags(parser: argparse.ArgumentParser) -> list[str]:
    return [o for action in parser._actions for o in action.option_strings if o.startswith("--")]


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(commands.choices)


def _pairs(flags: list[str], port: int) -> st.SearchStrategy[list[str]]:
    """Flag-value pairs (a target flag gets a target), with stray values between them."""
    stray = values.filter(lambda v: not v.startswith("-"))

    def pair(flag: str) -> st.SearchStrategy[list[str]]:
        value = targets(port) if flag == "--target" else values
        return st.one_of(st.just([flag]), value.map(lambda v: [flag, v]))

    token = st.sampled_from(flags).flatmap(pair) | stray.map(lambda v: [v])
    return st.lists(token, max_size=6).map(lambda groups: [t for g in groups for t in g])


def _run(main, argv: list[str]) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 2
    return code, out.getvalue(), err.getvalue()


def _one_line_or_success(code: int, out: str, err: str, argv: list[str]) -> None:
    event(f"exit {code}")
    if code == 0:
        return
    assert code == 2, (argv, code, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, (argv, err)
    assert "Traceback" not in err


@st.composite
def chaos_argv(draw: st.DrawFn, port: int) -> list[str]:
    commands = _subcommands(chaos.cli.build_parser())
    name = draw(st.sampled_from(sorted(commands)) | _text)
    parser = commands.get(name)
    if parser is None:
        return [name, *draw(_pairs(["--target", "--json"], port))]
    argv = [name, *draw(_pairs(_flags(parser), port))]
    if name == "verify":
        argv += ["--target", draw(targets(port))]
    return argv


@given(data=st.data())
@JUNK
def test_the_chaos_command_line_takes_junk_in_one_line(
    data: st.DataObject, refused: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_embedded_run() -> None:
        raise AssertionError("junk started the embedded server")

    monkeypatch.setattr(chaos.cli.verify, "embedded_server", no_embedded_run)
    argv = data.draw(chaos_argv(refused))
    _one_line_or_success(*_run(chaos.cli.main, argv), argv)


@given(data=st.data())
@JUNK
def test_toolkit_serve_takes_junk_in_one_line(
    data: st.DataObject, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A config the junk makes valid is served, and stopped at once as if by SIGTERM.
    monkeypatch.setattr(signal, "pthread_sigmask", lambda how, mask: set())
    monkeypatch.setattr(signal, "sigwait", lambda mask: signal.SIGTERM)
    monkeypatch.setattr(gc, "freeze", lambda: None)  # serving's, not this test process's
    serve = _subcommands(toolkit.cli.build_parser())["serve"]
    # --help is a success that prints the usage, not a server: it is not junk.
    flags = [f for f in _flags(serve) if f not in ("--host", "--port", "-h", "--help")]
    host = st.sampled_from(["127.0.0.1", "::1", "", "a" * 64 + ".example", "\udcff", "a..b"])
    port = st.sampled_from(["0", "-1", "65536", "x", ""])
    junk = st.lists(st.sampled_from(flags).flatmap(lambda f: values.map(lambda v: [f, v])))
    argv = ["serve", "--host", data.draw(host), "--port", data.draw(port)]
    argv += [t for pair in data.draw(junk.filter(lambda p: len(p) <= 4)) for t in pair]
    code, out, err = _run(toolkit.cli.main, argv)
    _one_line_or_success(code, out, err, argv)
    if code == 0:
        assert out.startswith("listening on ") and json.loads(out.splitlines()[-1])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=12,
)
plan_fields = st.fixed_dictionaries(
    {},
    optional={
        "clients": json_values
        | st.lists(
            st.fixed_dictionaries(
                {"kind": st.sampled_from(["never_send", "probe", "flood", "nope"]) | json_values},
                optional={
                    "params": st.dictionaries(st.sampled_from(["hold", "repeat", "x"]), json_values)
                    | json_values,
                    "count": json_values,
                    "start": json_values,
                },
            ),
            max_size=2,
        ),
        "horizon": json_values,
        "seed": json_values,
        "target": json_values,
        "records": json_values,
        "plan": json_values,
    },
)
plan_bytes = (
    plan_fields.map(lambda plan: json.dumps(plan).encode())
    | json_values.map(lambda value: json.dumps(value).encode())
    | st.binary(max_size=40)
    | st.integers(1, 200_000).map(lambda depth: b"[" * depth + b"]" * depth)
)


@given(content=plan_bytes)
@example(content=b'{"\\u0085": null}')  # a key holding a line break str.splitlines() knows
@JUNK
def test_the_plan_loader_takes_junk_in_one_line(
    content: bytes, refused: int, tmp_path: Path
) -> None:
    path = tmp_path / "plan.json"
    path.write_bytes(content)
    argv = ["run", str(path), "--target", f"127.0.0.1:{refused}"]
    code, out, err = _run(chaos.cli.main, argv)
    assert code == 2, (content[:200], err)
    _one_line_or_success(code, out, err, argv)
