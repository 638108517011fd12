"""`python -m bench.profile`: where a toolkit server's CPU goes per request, two ways.

- `callgrind`: the server runs under valgrind's callgrind with collection off; after a warm-up
  it is switched on for a fixed number of requests (keep-alive, or a new connection each)
  from a few sequential clients, and the instructions counted are divided by the requests.
  The count hardly moves with the machine's load, so two builds compare on a busy machine.
- `perf`: `perf stat` counts system calls, context switches and CPU time per request over
  the same load.
- `pyspy`: py-spy samples the server (pinned to one core) while wrk loads it from the other;
  the table gives each function's share of the samples where it was on top of the stack.

`--source DIR` runs the `toolkit` package found in DIR (an exported older commit, say), so
builds are measured side by side in one run. Every process started here is stopped.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from .raw_http import REQUEST, REQUEST_CLOSE, response_end
from .serve import free_port

__all__ = ["callgrind", "main", "pyspy"]

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
# Requests before counting starts (imports, first-use allocations), and counted per client.
WARMUP = 200
CLIENTS = 4
START_TIMEOUT = 60.0  # valgrind starts Python slowly


def _server_argv(port: int, dispatch: str) -> list[str]:
    return [sys.executable, "-m", "toolkit", "serve", "--port", str(port), "--dispatch", dispatch]


def _start(argv: list[str], source: Path, core: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(source))
    return subprocess.Popen(
        ["taskset", "-c", str(core), *argv],
        cwd=source,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with socket.create_connection((HOST, port), timeout=1.0):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _client(port: int, count: int, close: bool) -> None:
    """`count` requests one after another: on one connection, or a new one each."""
    request = REQUEST_CLOSE if close else REQUEST
    sock: socket.socket | None = None
    try:
        for _ in range(count):
            if sock is None:
                sock = socket.create_connection((HOST, port), timeout=30)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(request)
            data = b""
            while response_end(data) is None:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("closed before the response ended")
                data += chunk
            if close:
                sock.close()
                sock = None
    finally:
        if sock is not None:
            sock.close()


def _load(port: int, per_client: int, close: bool) -> None:
    threads = [
        threading.Thread(target=_client, args=(port, per_client, close)) for _ in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)


def callgrind(source: Path, dispatch: str, close: bool, requests: int) -> float:
    """Instructions the server executes per request (all its threads, kernel excluded)."""
    port = free_port()
    out = Path(f"/tmp/callgrind-{os.getpid()}-{port}.out")
    argv = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]
    proc = _start([*argv, *_server_argv(port, dispatch)], source, core=0)
    try:
        _wait_listening(port, proc)
        _load(port, WARMUP // CLIENTS, close)
        subprocess.run(
            ["callgrind_control", "-i", "on", str(proc.pid)], check=True, capture_output=True
        )
        _load(port, requests // CLIENTS, close)
        subprocess.run(
            ["callgrind_control", "-i", "off", str(proc.pid)], check=True, capture_output=True
        )
    finally:
        _stop(proc)
    text = out.read_text(errors="replace")
    if os.environ.get("BENCH_KEEP_CALLGRIND"):
        print(f"bench.profile: kept {out}", file=sys.stderr)
    else:
        out.unlink()
    # With instrumentation off at the start, `summary` stays 0; `totals` has the count.
    total = sum(int(m) for m in re.findall(r"^totals: (\d+)", text, re.M))
    return total / (CLIENTS * (requests // CLIENTS))


PERF_EVENTS = ("raw_syscalls:sys_enter", "context-switches", "task-clock")


def perf(
    source: Path, dispatch: str, close: bool, requests: int, wrk_seconds: int = 0
) -> dict[str, float]:
    """System calls, context switches and CPU microseconds per request, by `perf stat` on
    the server process over the counted requests (the CPU time moves with the load; the
    counts hardly do). With `wrk_seconds`, the load is wrk's 50 connections for that long
    instead (the requests counted are wrk's)."""
    port = free_port()
    proc = _start(_server_argv(port, dispatch), source, core=0)
    values: dict[str, float] = {}
    try:
        _wait_listening(port, proc)
        _load(port, WARMUP // CLIENTS, close)
        argv = ["perf", "stat", "-x", ",", "-e", ",".join(PERF_EVENTS), "-p", str(proc.pid)]
        stat = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)  # perf attaches
        if wrk_seconds:
            out = _wrk(port, close, wrk_seconds)
            counted = int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
            values["req/s"] = counted / wrk_seconds
        else:
            _load(port, requests // CLIENTS, close)
            counted = CLIENTS * (requests // CLIENTS)
        stat.send_signal(signal.SIGINT)
        _, report = stat.communicate(timeout=30)
    finally:
        _stop(proc)
    for line in report.splitlines():
        fields = line.split(",")
        if len(fields) > 2 and fields[2] in PERF_EVENTS and fields[0].replace(".", "").isdigit():
            values[fields[2]] = float(fields[0]) / counted
    values["task-clock"] = values.get("task-clock", 0.0) * 1000  # msec -> us
    return values


def _wrk(port: int, close: bool, seconds: int) -> str:
    """wrk's report of `seconds` of load from 50 connections, pinned to core 1."""
    wrk = ["taskset", "-c", "1", "wrk", "-t2", "-c50", f"-d{seconds}s"]
    if close:
        wrk += ["-H", "Connection: close"]
    run = [*wrk, f"http://{HOST}:{port}/"]
    return subprocess.run(run, capture_output=True, text=True, timeout=seconds + 30).stdout


def pyspy(
    source: Path, dispatch: str, close: bool, seconds: int, top: int
) -> list[tuple[str, float]]:
    """Each function's share of py-spy's samples of the thread holding the GIL (the Python
    work, whichever thread does it) as the innermost frame, under wrk load."""
    port = free_port()
    proc = _start(_server_argv(port, dispatch), source, core=0)
    raw = Path(f"/tmp/pyspy-{os.getpid()}-{port}.txt")
    try:
        _wait_listening(port, proc)
        spy = subprocess.Popen(
            [
                "py-spy",
                "record",
                "--format",
                "raw",
                "--rate",
                "1000",
                "--nonblocking",
                "--gil",
                "--duration",
                str(seconds + 1),
                "--output",
                str(raw),
                "--pid",
                str(proc.pid),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wrk(port, close, seconds)
        spy.wait(seconds + 60)
    finally:
        _stop(proc)
    selves: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        leaf = stack.rsplit(";", 1)[-1]
        selves[re.sub(r":\d+\)$", ")", leaf)] += int(count)
    raw.unlink()
    total = sum(selves.values()) or 1
    packages: collections.Counter[str] = collections.Counter()
    for name, n in selves.items():
        match = re.search(r"\((\w+)[/.]", name)
        packages[f"all of {match[1] if match else 'other'}"] += n
    rows = selves.most_common(top) + packages.most_common(4)
    return [(name, 100.0 * n / total) for name, n in rows]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.profile", description=__doc__.splitlines()[0]
    )
    parser.add_argument("how", choices=("callgrind", "perf", "pyspy"))
    parser.add_argument("--source", type=Path, action="append", help="dir holding toolkit/")
    parser.add_argument("--dispatch", default="readiness")
    parser.add_argument("--close", action="store_true", help="a new connection per request")
    parser.add_argument("--requests", type=int, default=2000, help="callgrind: requests counted")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds")
    parser.add_argument("--wrk", type=int, default=0, help="perf: seconds of wrk load instead")
    parser.add_argument("--seconds", type=int, default=10, help="pyspy: seconds of load")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)
    tool = {"callgrind": "valgrind", "perf": "perf", "pyspy": "py-spy"}[args.how]
    if shutil.which(tool) is None:
        print(f"bench.profile: {tool} is not on PATH", file=sys.stderr)
        return 2
    sources = args.source or [ROOT]
    what = "new connection per request" if args.close else "keep-alive"
    if args.how == "perf":
        print(f"| build | dispatch | {what}: syscalls | context switches | CPU us | req/s |")
        print("|---|---|---|---|---|---|")
        for _ in range(args.rounds):
            for source in sources:
                got = perf(source, args.dispatch, args.close, args.requests, args.wrk)
                cells = " | ".join(f"{got.get(e, 0.0):.1f}" for e in (*PERF_EVENTS, "req/s"))
                print(f"| {source} | {args.dispatch} | {cells} |", flush=True)
        return 0
    if args.how == "callgrind":
        print(f"| build | dispatch | {what}: instructions per request |\n|---|---|---|")
        for _ in range(args.rounds):
            for source in sources:
                per = callgrind(source, args.dispatch, args.close, args.requests)
                print(f"| {source} | {args.dispatch} | {per:,.0f} |", flush=True)
        return 0
    for source in sources:
        print(f"\n{source}, {args.dispatch}, {what}\n\n| function | % of samples |\n|---|---|")
        for name, share in pyspy(source, args.dispatch, args.close, args.seconds, args.top):
            print(f"| `{name}` | {share:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
