"""How README.md's fenced blocks run (tests/test_readme.py judges them), as a user runs them.

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
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from chaos.testing.serve import ServedCommand, start

from .userenv import ROOT, Lane, Running, UserEnv

__all__ = [
    "BLOCKS",
    "MAIN_JOB",
    "Block",
    "Reading",
    "check_ci",
    "judge",
    "kind_of",
    "parse",
    "read",
]

README = ROOT / "README.md"
PLACEHOLDER = "127.0.0.1:8080"
PORT_FLAG = "--port 8080"
DIRECTIVES = ("expect", "background", "against", "file", "exit", "not run")
# A block runs for seconds (each example is short by design); a hang ends here.
BLOCK_TIMEOUT = 120
# The main job, the README's first command, takes ~15 s, so .ci/run runs it as written; here
# its last step runs as a user runs it, on the same embedded default server, with two of its
# checks (about a second): the command the README shows, with a short override.
MAIN_JOB = "python -m chaos verify"
MAIN_JOB_SHORT = ["--checks", "half-close,resets", "--resets", "10"]
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


def _start(block: Block, user_env: UserEnv, cwd: Path, target: str | None, lane: Lane) -> Running:
    if PLACEHOLDER in block.text or PORT_FLAG in block.text:
        assert target is not None, f"{block} aims at {PLACEHOLDER}: start a server above it"
    text = _aimed(block.text, target)
    if block.lang == "python":
        script = cwd / f"readme_line_{block.line}.py"
        script.write_text(text)
        argv = ["python", script.name]
    else:
        argv = ["bash", "-e", "-o", "pipefail", "-c", text]
    return user_env.start(argv, cwd=cwd, output=cwd.parent / f"{cwd.name}.out", lane=lane)


def judge(block: Block, code: int, output: str, where: str) -> None:
    """The block ended as its directives say: its exit status, and output matching each
    ``expect``."""
    expected = int(block.one("exit") or 0)
    assert code == expected, f"{block} {where}: exit {code}, not {expected}\n{output}"
    for pattern in block.directives.get("expect", []):
        assert re.search(pattern, output, re.MULTILINE), (
            f"{block} {where}: output does not match {pattern!r}\n{output}"
        )


def check_ci(block: Block) -> None:
    """Each command of a block whose reason names .ci/run is a line of .ci/run."""
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
        "or saved with <!-- file: NAME --> (see tests/readme_blocks.py)"
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

    runs: dict[int, Running] = field(default_factory=dict)
    on_nginx: dict[int, Running] = field(default_factory=dict)
    servers: list[tuple[Block, ServedCommand]] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)
    main_job: Running | None = None


def read(
    stack: ExitStack, scratch: Path, user_env: UserEnv, nginx: str | None, lane: Lane
) -> Reading:
    """Plan every block and start each in ``lane``, none waiting for another (they wait on
    their servers' timeouts, not on the CPU); ``stack`` stops all of it. A runnable block gets
    a directory of its own, holding the file blocks above it (aimed at its server), and an
    instance of its own of the latest background server, so it can run beside the others."""
    reading = Reading()
    files: list[tuple[str, str]] = []
    command: str | None = None
    # The runnable blocks in order, each with the file blocks above it and its server's
    # command (None: it aims at no server), and the background blocks with theirs.
    planned: list[tuple[Block, list[tuple[str, str]], str | None]] = []
    backgrounds: list[tuple[Block, str]] = []
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
            backgrounds.append((block, command))
        elif kind == "run":
            planned.append((block, list(files), command))
    commands = [c for _, c in backgrounds] + [c for _, _, c in planned if c is not None]
    servers = iter(_serve_all(commands, user_env, stack))
    reading.servers = [(block, next(servers)) for block, _ in backgrounds]

    def run(block: Block, above: list[tuple[str, str]], where: str, target: str | None) -> Running:
        home = scratch / f"line{block.line}-{where}"
        home.mkdir()
        for name, text in above:
            (home / name).write_text(_aimed(text, target))
        running = _start(block, user_env, home, target, lane)
        stack.callback(running.stop)
        return running

    main_job = scratch / "main-job"
    main_job.mkdir()
    argv = [*MAIN_JOB.split(), *MAIN_JOB_SHORT]
    output = scratch / "main-job.out"
    reading.main_job = user_env.start(argv, cwd=main_job, output=output, lane=lane)
    stack.callback(reading.main_job.stop)
    for block, above, server_command in planned:
        target = None if server_command is None else next(servers).target
        reading.runs[block.line] = run(block, above, "toolkit", target)
        if block.one("against") == "nginx" and nginx is not None:
            reading.on_nginx[block.line] = run(block, above, "nginx", nginx)
    return reading


def _serve_all(commands: list[str], user_env: UserEnv, stack: ExitStack) -> list[ServedCommand]:
    """Every command started at once, each waiting for its own to listen (not on the CPU);
    ``stack`` stops them. Each starts on a thread that lives until they are stopped: Linux
    stops a served command when the thread that started it ends."""
    pool = ThreadPoolExecutor(max_workers=max(1, len(commands)), thread_name_prefix="readme")
    stack.callback(pool.shutdown)  # registered first, so it runs after every stop below

    def serve(command: str) -> ServedCommand:
        return start(command, env=user_env.environ())

    futures = [pool.submit(serve, command) for command in commands]
    served: list[ServedCommand] = []
    failed: Exception | None = None
    for future in futures:  # every one that started is stopped, even if another did not
        try:
            served.append(future.result())
        except Exception as exc:
            failed = failed or exc
            continue
        stack.callback(served[-1].stop)
    if failed is not None:
        raise failed
    return served
