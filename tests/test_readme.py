"""Every fenced block of README.md runs here, in order, as a user would run it.

The convention, for everyone who adds to the README (its "Contributing" section says the same):

- A ```sh block runs with bash (``set -e``: each command must succeed) and a ```python block
  as a script, both in one scratch directory outside the repository, in a fresh virtual
  environment with this checkout installed (``python``, ``pytest``, ``chaos`` and ``toolkit``
  on PATH are its), with none of the repository's settings (no CHAOS_* variables, no profile).
- ``127.0.0.1:8080`` (and ``--port 8080``) in a block is the server under test: the one the
  latest ``<!-- background -->`` block started, on a free port.
- HTML comments on the lines right above the opening fence, one per line, say more:
  ``<!-- expect: REGEX -->`` (repeatable): the block's output (stdout and stderr) matches it
  (``re.MULTILINE``); for a background block, its output once it has been stopped (SIGTERM).
  ``<!-- background -->``: a one-line server command, started (and waited for) here, stopped
  after the README's last block.
  ``<!-- against: nginx -->``: also run the block against nginx, with the README server's
  timeouts (README_TIMEOUT) and the large file the write check asks for; reported as skipped
  when nginx is not installed.
  ``<!-- file: NAME -->``: the block is a file the next blocks use (``plan.json``), saved there
  (aimed at the server under test, as a block that runs is).
  ``<!-- exit: N -->``: the status the block's last command ends with, when not 0.
  ``<!-- not run: REASON -->``: not run here, for the reason given (reported as a skip); a
  reason naming ``.ci/run`` is held to it: each of the block's commands is a line of .ci/run.
- Any other block, or an unknown directive, fails the test: nothing in the README goes
  untested by accident.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
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
_FENCE = re.compile(r"^(`{3,})(\S*)\s*$")
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
        while number < len(lines) and lines[number].rstrip() != fence:
            body.append(lines[number])
            number += 1
        text = "\n".join(body) + "\n"
        blocks.append(Block(number - len(body), opening.group(2), text, directives))
        number += 1
    return blocks


BLOCKS = parse(README.read_text())


def _aimed(text: str, target: str) -> str:
    port = target.rsplit(":", 1)[1]
    return text.replace(PLACEHOLDER, target).replace(PORT_FLAG, f"--port {port}")


@dataclass
class Ran:
    """What a block printed and how it ended."""

    code: int
    output: str


def _run(block: Block, user_env: UserEnv, cwd: Path, target: str | None) -> Ran:
    text = block.text
    if PLACEHOLDER in text or PORT_FLAG in text:
        assert target is not None, f"{block} aims at {PLACEHOLDER}: start a server above it"
        text = _aimed(text, target)
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


@dataclass
class Reader:
    """The README's state as its blocks run: the scratch directory, the servers started."""

    scratch: Path
    servers: list[tuple[Block, ServedCommand]] = field(default_factory=list)

    @property
    def target(self) -> str | None:
        return self.servers[-1][1].target if self.servers else None


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reader]:
    state = Reader(tmp_path_factory.mktemp("readme"))
    yield state
    for _, served in state.servers:
        served.stop()


def _check_ci(block: Block) -> None:
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    for command in filter(None, (line.strip() for line in block.text.splitlines())):
        assert command in ci, f"{block} says .ci/run runs it, but .ci/run lacks {command!r}"


def _against_nginx(
    block: Block, user_env: UserEnv, cwd: Path, request: pytest.FixtureRequest
) -> Future[Ran] | None:
    """Start the block's nginx run beside the toolkit one (both wait on timeouts, not CPU)."""
    against = block.one("against")
    if against is None or NGINX is None:
        return None
    assert against == "nginx", f"{block}: only 'against: nginx' is known, not {against!r}"
    served: ServedCommand = request.getfixturevalue("readme_nginx")
    elsewhere = cwd.parent / f"{cwd.name}-nginx-{block.line}"
    shutil.copytree(cwd, elsewhere)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="readme-nginx")
    future = pool.submit(_run, block, user_env, elsewhere, served.target)
    pool.shutdown(wait=False)  # the run goes on; its future is waited for
    return future


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


@pytest.mark.parametrize("block", BLOCKS, ids=[f"line{b.line}-{b.lang}" for b in BLOCKS])
def test_the_readme_block_runs_and_says_what_the_readme_says(
    block: Block, reader: Reader, user_env: UserEnv, request: pytest.FixtureRequest
) -> None:
    kind = kind_of(block)
    if kind == "not run":
        reason = block.one("not run") or ""
        if ".ci/run" in reason:
            _check_ci(block)
        pytest.skip(f"{block} not run: {reason}")
    if kind == "file":
        target = reader.target
        text = block.text if target is None else _aimed(block.text, target)
        (reader.scratch / (block.one("file") or "")).write_text(text)
        return
    if kind == "background":
        command = block.text.strip().replace(PORT_FLAG, "--port {port}")
        reader.servers.append((block, start(command, env=user_env.environ())))
        return
    nginx = _against_nginx(block, user_env, reader.scratch, request)
    _judge(block, _run(block, user_env, reader.scratch, reader.target), "against toolkit")
    if nginx is not None:
        _judge(block, nginx.result(BLOCK_TIMEOUT), "against nginx")
    elif block.one("against") is not None:
        pytest.skip(f"{block} ran against the toolkit server; nginx is not installed")


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
    (block,) = parse(text + "<!-- file: plan.json -->\n````json\n{}\n````\n")[:1]
    assert (block.line, block.lang, block.text) == (4, "sh", "kubectl x\n")
    assert block.directives == {"not run": ["needs a cluster"], "expect": ["a"]}
    assert [kind_of(b) for b in parse(text + "```python\npass\n```\n")] == ["not run", "run"]


def test_the_readme_servers_stop_as_the_readme_says(reader: Reader) -> None:
    assert reader.servers, "the README starts no server for its examples"
    for block, served in reader.servers:
        _judge(block, Ran(served.stop() or 0, served.text()), "once stopped")
