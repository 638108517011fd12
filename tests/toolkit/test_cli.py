"""`python -m toolkit serve`: the first line, graceful signals, the JSON stats, bad flags."""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import subprocess
import sys

import pytest

from ..waiting import wait_until
from .clients import http_get


def start(*args: str, preexec=None) -> tuple[subprocess.Popen[str], tuple[str, int]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "toolkit", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=preexec,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline().strip()
    assert first.startswith("listening on "), first
    host, port = first.removeprefix("listening on ").rsplit(":", 1)
    return proc, (host, int(port))


def stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> dict:
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_answers_and_stops_gracefully_on_a_signal(sig: int) -> None:
    proc, address = start("--workers", "2", "--idle-timeout", "0.5")
    try:
        assert http_get(address).endswith(b"hello world")
        stats = stop(proc, sig)
    finally:
        proc.kill()
        proc.wait(5)
    assert stats["accepted"] == stats["closed"] == 1
    assert stats["reasons"] == {"completed": 1}


@pytest.mark.parametrize(
    "args",
    [
        ["--workers", "0"],
        ["--bogus"],
        ["--idle-timeout", "soon"],
        ["--model", "forking"],
        ["--handler", "gopher"],
        ["--port", "99999"],
        # A label past DNS's 63 characters: the resolver's IDNA codec raises UnicodeError.
        ["--host", "a" * 64 + ".example"],
    ],
)
def test_bad_flags_get_one_line_and_exit_2(args: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "toolkit", "serve", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_out_of_descriptors_the_acceptor_backs_off_and_keeps_serving() -> None:
    """With a tiny open-file limit, a burst of clients exhausts the server's descriptors:
    it must count EMFILE back-offs, never die, and serve again once clients leave."""
    limit = 40

    def low_fd_limit() -> None:
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))

    proc, address = start(
        "--workers",
        "4",
        "--max-pending",
        "100",
        "--idle-timeout",
        "2",
        "--queue-timeout",
        "5",
        preexec=low_fd_limit,
    )
    clients = []
    try:
        for _ in range(limit + 20):
            clients.append(socket.create_connection(address, timeout=5))
        # Held until the server's descriptors run out (it has accepted all it can, and more
        # wait in the backlog): closed sooner, a slow server would never reach its limit.
        wait_until(lambda: len(os.listdir(f"/proc/{proc.pid}/fd")) >= limit, 10)
        for sock in clients:
            sock.close()
        clients.clear()
        assert http_get(address, timeout=10).endswith(b"hello world")
        stats = stop(proc)
    finally:
        for sock in clients:
            sock.close()
        proc.kill()
        proc.wait(5)
    assert stats["accept_backoffs"] > 0
    assert stats["handler_errors"] == 0
    assert stats["accepted"] == stats["closed"]
