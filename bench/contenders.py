"""The servers under test: how each is started, what it is told, and whether it is installed.

A contender turns a port and `Settings` into a command line. Settings a contender cannot take
are left out and the measurement says so; nothing here fails when a server is absent.
"""

from __future__ import annotations

import importlib.util
import math
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .nginx import write_config

__all__ = ["BASELINES", "Contender", "Settings", "all_contenders"]

# Ratios are reported against these (measured in the same run).
BASELINES = ("waitress", "socketserver")


@dataclass(frozen=True, kw_only=True)
class Settings:
    """What one measurement asks of a server; None keeps the server's own default."""

    idle_timeout: float | None = None
    request_timeout: float | None = None
    max_connections: int | None = None


def _ceil_seconds(seconds: float) -> float:
    """waitress and gunicorn take whole seconds only."""
    return float(max(1, math.ceil(seconds)))


@dataclass(frozen=True, kw_only=True)
class Contender:
    """One server: its `argv(port, settings, scratch)`, its family and its timeout knobs."""

    name: str
    family: str  # "ours", "stdlib", "reference" or "ceiling"
    argv: Callable[[int, Settings, Path], list[str]]
    needs: str = ""  # module or program it needs; "" for always available
    # Maps a wanted idle timeout to the one the server really gets; None: it has no such knob.
    idle_timeout: Callable[[float], float] | None = None
    takes_request_timeout: bool = False
    note: str = ""

    def absent(self) -> str | None:
        """Why this contender cannot run here, or None if it can."""
        if not self.needs:
            return None
        if self.family == "ceiling":
            return None if shutil.which(self.needs) else f"absent ({self.needs} not on PATH)"
        found = importlib.util.find_spec(self.needs) is not None
        return None if found else f"absent ({self.needs} not installed)"


def _ours(
    model: str, dispatch: str | None, source: Path | None = None
) -> Callable[[int, Settings, Path], list[str]]:
    def argv(port: int, settings: Settings, scratch: Path) -> list[str]:
        cmd = [sys.executable, "-m", "toolkit", "serve", "--host", "127.0.0.1"]
        if source is not None:
            # -P: not the working directory's toolkit, the one in `source`.
            cmd = ["env", f"PYTHONPATH={source}", sys.executable, "-P", *cmd[1:]]
        cmd += ["--port", str(port), "--model", model, "--handler", "http-hello"]
        if dispatch is not None:
            cmd += ["--dispatch", dispatch]
        if settings.idle_timeout is not None:
            cmd += ["--idle-timeout", str(settings.idle_timeout)]
        if settings.request_timeout is not None:
            cmd += ["--request-timeout", str(settings.request_timeout)]
        if settings.max_connections is not None:
            cmd += ["--max-connections", str(settings.max_connections)]
        return cmd

    return argv


def _app(module: str, *, idle: bool) -> Callable[[int, Settings, Path], list[str]]:
    def argv(port: int, settings: Settings, scratch: Path) -> list[str]:
        cmd = [sys.executable, "-m", f"bench.apps.{module}", "--port", str(port)]
        if idle and settings.idle_timeout is not None:
            cmd += ["--idle-timeout", str(settings.idle_timeout)]
        return cmd

    return argv


def _gunicorn(port: int, settings: Settings, scratch: Path) -> list[str]:
    cmd = [sys.executable, "-m", "gunicorn", "-k", "gthread", "-w", "1", "--threads", "4"]
    cmd += ["-b", f"127.0.0.1:{port}", "--log-level", "warning"]
    if settings.idle_timeout is not None:
        cmd += ["--keep-alive", str(int(_ceil_seconds(settings.idle_timeout)))]
    return [*cmd, "bench.apps.wsgi_hello:app"]


def _nginx(port: int, settings: Settings, scratch: Path) -> list[str]:
    import resource

    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    conf = write_config(scratch, port, settings.idle_timeout, nofile)
    return ["nginx", "-p", str(scratch), "-c", str(conf), "-e", str(scratch / "error.log")]


def all_contenders(base: Path | None = None) -> list[Contender]:
    """Every contender in table order: ours, stdlib, references, the nginx ceiling.

    With `base` (a directory holding another build's `toolkit/`, an older commit exported),
    that build's pool runs too, as `base:pool/...`, so two builds compare in one run."""
    same = float
    ours = [
        Contender(
            name=f"pool/{dispatch}",
            family="ours",
            argv=_ours("pool", dispatch),
            idle_timeout=same,
            takes_request_timeout=True,
            note="defaults: 8 workers, 64 pending",
        )
        for dispatch in ("on-accept", "readiness")
    ]
    if base is not None:
        ours += [
            Contender(
                name=f"base:pool/{dispatch}",
                family="ours",
                argv=_ours("pool", dispatch, base),
                idle_timeout=same,
                takes_request_timeout=True,
                note=f"the build in {base}",
            )
            for dispatch in ("on-accept", "readiness")
        ]
    ours += [
        Contender(
            name=model,
            family="ours",
            argv=_ours(model, None),
            idle_timeout=same,
            takes_request_timeout=True,
        )
        for model in ("iterative", "thread-per-connection")
    ]
    return [
        *ours,
        Contender(
            name="socketserver",
            family="stdlib",
            argv=_app("tcp_hello", idle=False),
            note="ThreadingTCPServer, read once, write, close; backlog 5",
        ),
        Contender(
            name="http.server",
            family="stdlib",
            argv=_app("http_hello", idle=False),
            note="ThreadingHTTPServer, HTTP/1.1",
        ),
        Contender(
            name="cheroot",
            family="reference",
            argv=_app("cheroot_hello", idle=True),
            needs="cheroot",
            idle_timeout=same,
            note="10 threads; idle timeout = `timeout`",
        ),
        Contender(
            name="waitress",
            family="reference",
            argv=_app("waitress_hello", idle=True),
            needs="waitress",
            idle_timeout=_ceil_seconds,
            note="4 threads; idle timeout = channel_timeout (whole s)",
        ),
        Contender(
            name="gunicorn",
            family="reference",
            argv=_gunicorn,
            needs="gunicorn",
            idle_timeout=_ceil_seconds,
            note="gthread, 1 worker x 4 threads; idle timeout = --keep-alive (whole s)",
        ),
        Contender(
            name="nginx",
            family="ceiling",
            argv=_nginx,
            needs="nginx",
            idle_timeout=same,
            note="1 worker, return 200; idle timeout = client_header_timeout",
        ),
    ]
