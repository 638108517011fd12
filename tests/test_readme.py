"""Every fenced block of README.md runs here, as a user would run it.

The convention, for everyone who adds to the README (its "Contributing" section says the same):

- A ```sh block runs with bash (``set -e``: each command must succeed) and a ```python block
  as a script, in a scratch directory outside the repository, in a fresh virtual environment
  with this checkout installed (``python``, ``pytest``, ``chaos`` and ``toolkit`` on PATH are
  its), with none of the repository's settings (no CHAOS_* variables, no profile).
- ``127.0.0.1:8080`` (and ``--port 8080``) in a block is the server under test: an instance
  of the latest ``<!-- background -->`` block's server, started for that block alone.
- Blocks start in the README's order without waiting for each other (they mostly wait on
  their servers' timeouts): each runs in a directory of its own holding the file blocks above
  it. So a block is self-contained: what one block writes, no other block reads (put both
  commands in one block).
- HTML comments on the lines right above the opening fence, one per line, say more:
  ``<!-- expect: REGEX -->`` (repeatable): the block's output (stdout and stderr) matches it
  (``re.MULTILINE``); for a background block, its own instance's output once stopped (SIGTERM).
  ``<!-- background -->``: a one-line server command with ``--port 8080``.
  ``<!-- against: nginx -->``: also run the block against nginx, with the README server's
  timeouts (README_TIMEOUT) and the large file the write check asks for; reported as skipped
  when nginx is not installed.
  ``<!-- file: NAME -->``: the block is a file the blocks below use (``plan.json``), aimed at
  each one's server as the block itself is.
  ``<!-- exit: N -->``: the status the block's last command ends with, when not 0.
  ``<!-- not run: REASON -->``: not run here, for the reason given (reported as a skip); a
  reason naming ``.ci/run`` is held to it: each of the block's commands is a line of .ci/run.
- Any other block, or an unknown directive, fails the test: nothing in the README goes
  untested by accident.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from chaos.testing.serve import ServedCommand, start

from .real_servers import NGINX
from .userenv import ROOT, UserEnv

README = ROOT / "README.md"
PLACEHOLDER = "127.0.0.1:8080"
PORT_FLAG = "--port 8080"
DIRECTIVES = ("expect", "background", "against", "file", "exit", "not run")
# A block runs for seconds (each example is short by design); a hang ends here.
BLOCK_TIMEOUT = 120
# Blocks running at once: they mostly wait on their servers' timeouts.
RUNNERS = 8
# An opening fence: up to three spaces, three or more backquotes or tildes, the language.
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$")
_DIRECTIVE = re.compile(r"^<!--\s*(.*?)\s*-->$")


@dataclass(frozen=True)
class Block:
    """One fenced block: where it is, its language, its text and the directives above it."""

    line: int
    lang: str
    text: str
    directives: dict[str, list[str]] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"README.md line {self.line} ({self.lang or 'no language'})"

    def one(self, name: str) -> str | None:
        values = self.directives.get(name)
        return values[-1] if values else None


def parse(text: str) -> list[Block]:
    """Every fenced block of ``text`` with the directives on the lines right above it."""
    lines = text.splitlines()
    blocks, number = [], 0
    while number < len(lines):
        opening = _FENCE.match(lines[number])
        if opening is None:
            number += 1
            continue
        directives: dict[str, list[str]] = {}
        above = number - 1
        while above >= 0 and (comment := _DIRECTIVE.match(lines[above])):
            name, _, value = comment.group(1).partition(":")
            directives.setdefault(name.strip(), []).insert(0, value.strip())
            above -= 1
        fence, body, number = opening.group(1), [], number + 1
        while number < len(lines) and lines[number].strip() != fence:
            body.append(lines[number])
            number += 1
        text = "\n".join(body) + "\n"
        blocks.append(Block(number - len(body), opening.group(2), text, directives))
        number += 1
    return blocks


BLOCKS = parse(README.read_text())


def _aimed(text: str, target: str | None) -> str:
    if target is None:
        return text
    port = target.rsplit(":", 1)[1]
    return text.replace(PLACEHOLDER, target).replace(PORT_FLAG, f"--port {port}")


@dataclass
class Ran:
    """What a block printed and how it ended."""

    code: int
    output: str


def _run(block: Block, user_env: UserEnv, cwd: Path, target: str | None) -> Ran:
    if PLACEHOLDER in block.text or PORT_FLAG in block.text:
        assert target is not None, f"{block} aims at {PLACEHOLDER}: start a server above it"
    text = _aimed(block.text, target)
    if block.lang == "python":
        script = cwd / f"readme_line_{block.line}.py"
        script.write_text(text)
        argv = ["python", script.name]
    else:
        argv = ["bash", "-e", "-o", "pipefail", "-c", text]
    done = user_env.run(argv, cwd=cwd, timeout=BLOCK_TIMEOUT, merged=True)
    return Ran(done.returncode, done.stdout)


def _judge(block: Block, ran: Ran, where: str) -> None:
    expected = int(block.one("exit") or 0)
    assert ran.code == expected, f"{block} {where}: exit {ran.code}, not {expected}\n{ran.output}"
    for pattern in block.directives.get("expect", []):
        assert re.search(pattern, ran.output, re.MULTILINE), (
            f"{block} {where}: output does not match {pattern!r}\n{ran.output}"
        )


def _check_ci(block: Block) -> None:
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    for command in filter(None, (line.strip() for line in block.text.splitlines())):
        assert command in ci, f"{block} says .ci/run runs it, but .ci/run lacks {command!r}"


def kind_of(block: Block) -> str:
    """How the convention runs ``block``: "not run", "file", "background" or "run"; an
    AssertionError saying what to add when it cannot."""
    unknown = set(block.directives) - set(DIRECTIVES)
    assert not unknown, f"{block}: unknown directive {sorted(unknown)}; known: {DIRECTIVES}"
    if block.one("not run") is not None:
        return "not run"
    if block.one("file") is not None:
        return "file"
    assert block.lang in ("sh", "python"), (
        f"{block}: a ```{block.lang} block must be marked <!-- not run: REASON --> "
        "or saved with <!-- file: NAME --> (see tests/test_readme.py)"
    )
    if block.one("background") is None:
        return "run"
    command = block.text.strip()
    assert "\n" not in command and PORT_FLAG in command, (
        f"{block}: a background block is one command with {PORT_FLAG}"
    )
    return "background"


@dataclass
class Reading:
    """The README read top to bottom, its runnable blocks started as they come: the runs,
    their nginx runs, the servers started, and what could not be planned."""

    runs: dict[int, Future[Ran]] = field(default_factory=dict)
    on_nginx: dict[int, Future[Ran]] = field(default_factory=dict)
    servers: list[tuple[Block, ServedCommand]] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)


def _read(
    reading: Reading, stack: ExitStack, scratch: Path, user_env: UserEnv, nginx: str | None
) -> None:
    """Plan and start every block. A runnable block gets a directory of its own, holding the
    file blocks above it (aimed at its server), and an instance of its own of the latest
    background server, so it can run beside the others."""
    pool = stack.enter_context(ThreadPoolExecutor(RUNNERS, thread_name_prefix="readme"))
    files: list[tuple[str, str]] = []
    command: str | None = None

    def prepare(block: Block, where: str, target: str | None) -> Path:
        home = scratch / f"line{block.line}-{where}"
        home.mkdir()
        for name, text in files:
            (home / name).write_text(_aimed(text, target))
        return home

    def serve() -> str | None:
        if command is None:
            return None
        served = start(command, env=user_env.environ())
        stack.callback(served.stop)
        return served.target

    for block in BLOCKS:
        try:
            kind = kind_of(block)
        except AssertionError as exc:
            reading.refused[block.line] = str(exc)
            continue
        if kind == "file":
            files.append((block.one("file") or "", block.text))
        elif kind == "background":
            command = block.text.strip().replace(PORT_FLAG, "--port {port}")
            served = start(command, env=user_env.environ())
            stack.callback(served.stop)
            reading.servers.append((block, served))
        elif kind == "run":
            target = serve()
            home = prepare(block, "toolkit", target)
            reading.runs[block.line] = pool.submit(_run, block, user_env, home, target)
            if block.one("against") == "nginx" and nginx is not None:
                home = prepare(block, "nginx", nginx)
                reading.on_nginx[block.line] = pool.submit(_run, block, user_env, home, nginx)


@pytest.fixture(scope="module")
def reading(
    tmp_path_factory: pytest.TempPathFactory, user_env: UserEnv, request: pytest.FixtureRequest
) -> Iterator[Reading]:
    """Every block started at once (they wait on timeouts, not on the CPU); each test then
    judges one. Everything started is stopped at the end, whatever the tests found."""
    nginx = None
    if NGINX is not None and any(b.one("against") == "nginx" for b in BLOCKS):
        nginx = request.getfixturevalue("readme_nginx").target
    reading = Reading()
    with ExitStack() as stack:
        _read(reading, stack, tmp_path_factory.mktemp("readme"), user_env, nginx)
        yield reading


@pytest.mark.parametrize("block", BLOCKS, ids=[f"line{b.line}-{b.lang}" for b in BLOCKS])
def test_the_readme_block_runs_and_says_what_the_readme_says(
    block: Block, reading: Reading
) -> None:
    refused = reading.refused.get(block.line)
    assert refused is None, refused
    reason = block.one("not run")
    if reason is not None:
        if ".ci/run" in reason:
            _check_ci(block)
        pytest.skip(f"{block} not run: {reason}")
    against = block.one("against")
    assert against in (None, "nginx"), f"{block}: only 'against: nginx' is known, not {against!r}"
    run = reading.runs.get(block.line)
    if run is None:
        return  # a file saved, or a server started: judged below
    _judge(block, run.result(BLOCK_TIMEOUT), "against toolkit")
    on_nginx = reading.on_nginx.get(block.line)
    if on_nginx is not None:
        _judge(block, on_nginx.result(BLOCK_TIMEOUT), "against nginx")
    elif against is not None:
        pytest.skip(f"{block} ran against the toolkit server; nginx is not installed")


def test_the_readme_servers_stop_as_the_readme_says(reading: Reading) -> None:
    assert reading.servers, "the README starts no server for its examples"
    for block, served in reading.servers:
        code = served.stop()
        _judge(block, Ran(code or 0, served.text()), "once stopped")


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("```yaml\nkind: Job\n```\n", "must be marked <!-- not run: REASON -->"),
        ("<!-- expects: 1 -->\n```sh\ntrue\n```\n", "unknown directive ['expects']"),
        ("<!-- background -->\n```sh\nsleep 1\n```\n", "one command with --port 8080"),
    ],
)
def test_a_block_outside_the_convention_fails(text: str, complaint: str) -> None:
    (block,) = parse(text)
    with pytest.raises(AssertionError, match=re.escape(complaint)):
        kind_of(block)


def test_the_convention_reads_directives_and_languages() -> None:
    text = "x\n<!-- not run: needs a cluster -->\n<!-- expect: a -->\n```sh\nkubectl x\n```\n"
    block, saved = parse(text + "<!-- file: plan.json -->\n~~~json title\n{}\n~~~\n")
    assert (block.line, block.lang, block.text) == (4, "sh", "kubectl x\n")
    assert (saved.lang, saved.text, saved.one("file")) == ("json", "{}\n", "plan.json")
    assert block.directives == {"not run": ["needs a cluster"], "expect": ["a"]}
    assert [kind_of(b) for b in parse(text + " ```python run me\npass\n ```\n")] == [
        "not run",
        "run",
    ]
