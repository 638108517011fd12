"""Running wrk and reading its report: requests, non-2xx answers, socket errors, percentiles."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

from .stats import to_ms

__all__ = ["LoadResult", "parse", "run_wrk", "wrk_path"]

_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}
# wrk's own per-request timeout: a request slower than this counts as a timeout error.
WRK_TIMEOUT = "2s"


@dataclass(frozen=True, slots=True)
class LoadResult:
    """One load run; `ok_rps` counts only 2xx answers (a 503 is not throughput)."""

    requests: int
    seconds: float
    non_2xx: int
    errors: int
    p50: float | None
    p99: float | None
    tool: str

    @property
    def ok_rps(self) -> float:
        return max(0, self.requests - self.non_2xx) / self.seconds if self.seconds else 0.0

    @property
    def p50_ms(self) -> float | None:
        return to_ms(self.p50)

    @property
    def p99_ms(self) -> float | None:
        return to_ms(self.p99)

    def to_json(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "non_2xx": self.non_2xx,
            "errors": self.errors,
            "ok_rps": round(self.ok_rps, 1),
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "tool": self.tool,
        }


def wrk_path() -> str | None:
    return shutil.which("wrk")


def _seconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"unreadable wrk duration {text!r}")
    return float(match[1]) * _UNITS[match[2]]


def parse(output: str) -> LoadResult:
    """Read wrk's `--latency` report; ValueError if the summary line is missing."""
    summary = re.search(r"(\d+) requests in ([\d.]+\w+),", output)
    if not summary:
        raise ValueError(f"no summary in wrk output: {output[-300:]!r}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    percent = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)\s*$", output, re.MULTILINE))
    return LoadResult(
        requests=int(summary[1]),
        seconds=_seconds(summary[2]),
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        errors=sum(int(n) for n in errors.groups()) if errors else 0,
        p50=_seconds(percent["50"]) if "50" in percent else None,
        p99=_seconds(percent["99"]) if "99" in percent else None,
        tool="wrk",
    )


def run_wrk(
    url: str,
    *,
    connections: int,
    seconds: float,
    close: bool,
    cores: frozenset[int] | None,
) -> LoadResult:
    """One wrk run (two threads, like ANCHORS), pinned to `cores`; bounded by its duration.

    wrk only takes whole seconds, so `seconds` is rounded (at least 1).
    """
    threads = min(2, connections)
    whole = max(1, round(seconds))  # wrk takes whole seconds
    argv = [wrk_path() or "wrk", f"-t{threads}", f"-c{connections}", f"-d{whole}s"]
    argv += ["--latency", "--timeout", WRK_TIMEOUT]
    if close:
        argv += ["-H", "Connection: close"]
    if cores is not None:
        argv = ["taskset", "-c", ",".join(map(str, sorted(cores))), *argv]
    done = subprocess.run(
        [*argv, url], capture_output=True, text=True, timeout=whole + 30, check=False
    )
    return parse(done.stdout)
