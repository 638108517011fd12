"""Every fenced block of README.md runs, as a user would run it, and says what the README says.

The convention is in tests/readme_blocks.py (and the README's "Contributing" section). The
blocks start with the session (tests/conftest.py, ``readme_reading``): they wait on their
servers' timeouts, so they run while the rest of the suite does; each test here judges one.
"""

from __future__ import annotations

import re

import pytest

from .readme_blocks import (
    BLOCK_TIMEOUT,
    BLOCKS,
    MAIN_JOB,
    Block,
    Reading,
    check_ci,
    judge,
    kind_of,
    parse,
)


@pytest.mark.parametrize("block", BLOCKS, ids=[f"line{b.line}-{b.lang}" for b in BLOCKS])
def test_the_readme_block_runs_and_says_what_the_readme_says(
    block: Block, readme_reading: Reading
) -> None:
    refused = readme_reading.refused.get(block.line)
    assert refused is None, refused
    reason = block.one("not run")
    if reason is not None:
        if ".ci/run" in reason:
            check_ci(block)
        pytest.skip(f"{block} not run: {reason}")
    against = block.one("against")
    assert against in (None, "nginx"), f"{block}: only 'against: nginx' is known, not {against!r}"
    run = readme_reading.runs.get(block.line)
    if run is None:
        return  # a file saved, or a server started: judged below
    judge(block, *run.wait(BLOCK_TIMEOUT), "against toolkit")
    on_nginx = readme_reading.on_nginx.get(block.line)
    if on_nginx is not None:
        judge(block, *on_nginx.wait(BLOCK_TIMEOUT), "against nginx")
    elif against is not None:
        pytest.skip(f"{block} ran against the toolkit server; nginx is not installed")


def test_the_main_job_runs_as_a_user_runs_it_shortened(readme_reading: Reading) -> None:
    (first, *_) = BLOCKS
    assert first.text.strip().endswith(f".venv/bin/{MAIN_JOB}"), f"{first} is not the main job"
    assert readme_reading.main_job is not None
    code, output = readme_reading.main_job.wait(BLOCK_TIMEOUT)
    assert code == 0, output
    assert "embedded toolkit server" in output and "default configuration" in output
    assert output.splitlines()[-1].startswith("ok: all 2 expectations hold"), output


def test_the_readme_servers_stop_as_the_readme_says(readme_reading: Reading) -> None:
    assert readme_reading.servers, "the README starts no server for its examples"
    for block, served in readme_reading.servers:
        code = served.stop()
        judge(block, code or 0, served.text(), "once stopped")


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
