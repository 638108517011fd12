"""6. Chaos capacity: how fast chaos opens connections, how many it holds and what they cost,
before issue 12 and now, in one run, beside nginx accepting and slowhttptest.

"Before" is the engine at :data:`BEFORE` (one process, a trio task per connection), taken
from git and run from a scratch copy; "now" is this tree. Every client is its own process
tree: CPU time comes from `wait4` (shards included, the run reaps them), memory is the peak
of the whole tree's resident size, sampled, so both engines and slowhttptest are charged
the same way (interpreters and imports included). nginx holds the connections with several
worker processes, since no one process may hold more than the open-file limit.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..contenders import Contender, Settings
from ..context import Context
from ..nginx import write_config
from ..procs import Child, Pinning
from ..result import Column, Row, Section, Verdict
from ..serve import Running, running
from ..settings_for import HOGGING_IDLE_TIMEOUT, hogging
from ..wrk import run_wrk
from .common import MEASURE_ERRORS, failed, num

__all__ = ["BEFORE", "Capacity", "run"]

# main when issue 12 began: its chaos is "before" in every ratio below.
BEFORE = "d6bf537"
ROOT = Path(__file__).resolve().parents[2]
# The targets.
TARGET_RATE_GAIN = 4.0  # connect rate on 2 cores / the one-process rate before
TARGET_KIB_PER_CONN = 5.0
TARGET_MS_PER_CONN = 0.2
TARGET_SLOWLORIS_CPU = 0.5  # chaos slowloris CPU / slowhttptest's
# A client process gets its own planned time plus this before it is stopped.
CLIENT_GRACE = 30.0
# nginx's connections per worker: the open-file limit, less its own files.
NGINX_FILE_ROOM = 500
# wrk's connections when it measures nginx accepting (each request a new connection).
WRK_CONNECTIONS = 50
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass(kw_only=True)
class Capacity(Row):
    """One client run: what it opened or held, how fast, and what that cost."""

    detail: str
    connections: str | None = None  # "held / made"
    rate: float | None = None  # connections opened per second
    cpu_s: float | None = None
    cpu_ms_per_conn: float | None = None
    peak_kib: int | None = None  # the whole process tree's peak resident size
    kib_per_conn: float | None = None
    raw: dict[str, object] | None = None  # the client's own summary


@dataclass(frozen=True, slots=True)
class Usage:
    """A client tree's CPU time (wait4, children included) and its peak memory (sampled)."""

    cpu_s: float | None = None
    peak_kib: int | None = None

    @classmethod
    def of(cls, child: Child) -> Usage:
        usage = child.rusage
        cpu = None if usage is None else round(usage.ru_utime + usage.ru_stime, 2)
        return cls(cpu_s=cpu, peak_kib=child.peak_tree_kib or None)

    def row(
        self, name: str, *, made: int, held: int | None, rate: float | None, detail: str, raw: dict
    ) -> Capacity:
        per = held if held else None
        return Capacity(
            contender=name,
            connections=f"{num(held)} / {made:,}",
            rate=rate,
            cpu_s=self.cpu_s,
            cpu_ms_per_conn=None if not per or self.cpu_s is None else self.cpu_s / per * 1000,
            peak_kib=self.peak_kib,
            kib_per_conn=None if not per or self.peak_kib is None else self.peak_kib / per,
            detail=detail,
            raw=raw,
        )


def _fmt(digits: int):
    return lambda v: "-" if v is None else f"{v:,.{digits}f}"


@contextmanager
def _before_tree(ctx: Context) -> Iterator[Path | None]:
    """A scratch copy of chaos at :data:`BEFORE` (None if git or the commit is not here)."""
    scratch = ctx.children.scratch("chaos-before")
    try:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", BEFORE, "chaos", "bench"],
            capture_output=True,
            timeout=60,
            check=True,
        )
        subprocess.run(["tar", "-x", "-C", str(scratch)], input=archive.stdout, check=True)
    except (OSError, subprocess.SubprocessError):
        yield None
        return
    yield scratch


def _chaos(
    ctx: Context,
    server: Running,
    kind: str,
    count: int,
    hold: float,
    *,
    params: dict[str, object] | None = None,
    processes: str = "1",
    pinned: bool = True,
    tree: Path | None = None,
) -> tuple[dict[str, object], Usage]:
    """Run one chaos plan as a child process (from ``tree``, the old engine, if given)."""
    target = f"{server.address[0]}:{server.address[1]}"
    argv = [sys.executable, "-m", "bench.chaos_child", kind, str(count), str(hold), target]
    argv += [json.dumps(params or {}), processes]
    cores = ctx.pinning.client if pinned else ctx.pinning.every
    child = ctx.children.start(argv, cores=cores, name=f"chaos-{kind}", cwd=tree)
    child.wait(hold + CLIENT_GRACE, sample=True)
    child.stop()
    try:
        summary: dict[str, object] = json.loads(child.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        summary = {"error": (child.stderr.strip().splitlines() or ["no output"])[-1][:200]}
    return summary, Usage.of(child)


def _rate(summary: dict[str, object]) -> float | None:
    span, connected = summary.get("connect_span_s"), summary.get("connected")
    if isinstance(span, int | float) and span > 0 and isinstance(connected, int):
        return connected / span
    return None


def _detail(summary: dict[str, object], otherwise: str) -> str:
    error = summary.get("error")
    return str(error) if error else otherwise


def _held(summary: dict[str, object]) -> int | None:
    held = summary.get("peak_open")
    return held if isinstance(held, int) else None


def _nginx(workers: int) -> Contender:
    def argv(port: int, settings: Settings, scratch: Path) -> list[str]:
        import resource

        nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        idle = settings.idle_timeout
        conf = write_config(
            scratch,
            port,
            nofile=nofile,
            client_header_timeout=idle,
            keepalive_timeout=idle,
            worker_connections=nofile - NGINX_FILE_ROOM,
            workers=workers,
        )
        return ["nginx", "-p", str(scratch), "-c", str(conf), "-e", str(scratch / "error.log")]

    return Contender(
        name=f"nginx/{workers}-workers",
        family="ceiling",
        argv=argv,
        needs="nginx",
        note="reuseport",
    )


def run(ctx: Context) -> Section[Capacity]:
    sizes = ctx.sizes
    section = Section(
        key="capacity",
        title="6. Chaos capacity, before issue 12 and now (each client a process tree)",
        kind=Capacity,
        columns=[
            Column("contender", "run"),
            Column("connections", "held / made"),
            Column("rate", "connects/s", _fmt(0)),
            Column("cpu_s", "CPU (s)", _fmt(2)),
            Column("cpu_ms_per_conn", "CPU per conn (ms)", _fmt(3)),
            Column("peak_kib", "peak RSS (KiB)", _fmt(0)),
            Column("kib_per_conn", "KiB per conn", _fmt(2)),
            Column("detail", "detail"),
        ],
    )
    try:
        import chaos  # noqa: F401
    except ImportError as exc:
        section.notes.append(f"chaos package not available: {exc}")
        return section
    accept = _accept_row(ctx, section)
    nginx = ctx.find("nginx")
    target: Contender | None = _nginx(sizes.hold_workers) if nginx else ctx.find("pool/readiness")
    if target is None:
        section.notes.append("no server to aim at (nginx and pool/readiness not selected)")
        return section
    section.notes.append(
        f"Target: {target.name} (idle timeout {HOGGING_IDLE_TIMEOUT:g} s, on every core); "
        f"before = chaos at {BEFORE} from git, one process; now = this tree."
    )
    unpinned = Pinning(server=ctx.pinning.every, client=ctx.pinning.client)

    @contextmanager
    def server() -> Iterator[Running]:
        """A fresh target: no run inherits the TIME_WAIT ports of the run before it."""
        with running(ctx.children, target, hogging(sizes.capacity_hold), unpinned) as started:
            yield started

    try:
        with _before_tree(ctx) as tree:
            if ctx.quick:
                # The smoke run proves the rows run; the comparison is the full run's.
                section.notes.append("before: not run in the quick run")
                tree = None
            elif tree is None:
                section.notes.append(f"before: git or commit {BEFORE} not here; rows absent")
            _rows(ctx, section, server, tree, accept)
    except MEASURE_ERRORS as exc:
        section.rows.append(failed(target, exc))
    section.rows.append(
        Capacity(contender="tcpkali", detail="absent (in neither Debian's nor PyPI's packages)")
    )
    return section


def _accept_row(ctx: Context, section: Section[Capacity]) -> float | None:
    """nginx (one worker, one core) answering wrk with a new connection per request."""
    nginx = ctx.find("nginx")
    name = "nginx, 1 worker on 1 core, accepting (wrk, new connection per request)"
    if nginx is None or not ctx.use_wrk:
        why = "nginx not selected" if nginx is None else "wrk absent"
        section.rows.append(Capacity(contender=name, detail=f"absent ({why})"))
        return None
    ctx.say(f"[capacity] {name}")
    try:
        with running(ctx.children, nginx, Settings(), ctx.pinning) as server:
            load = run_wrk(
                server.url,
                connections=WRK_CONNECTIONS,
                seconds=ctx.sizes.accept_seconds,
                close=True,
                cores=ctx.pinning.client,
            )
    except (*MEASURE_ERRORS, ValueError, subprocess.SubprocessError) as exc:
        section.rows.append(failed(nginx, exc, during="wrk"))
        return None
    section.rows.append(
        Capacity(
            contender=name,
            connections=f"- / {load.requests:,}",
            rate=load.ok_rps,
            detail=f"{load.errors} socket errors, {load.non_2xx} non-2xx",
            raw=load.to_json(),
        )
    )
    return load.ok_rps


def _rows(
    ctx: Context,
    section: Section[Capacity],
    server: Callable[[], AbstractContextManager[Running]],
    tree: Path | None,
    accept: float | None,
) -> None:
    sizes = ctx.sizes
    flood = sizes.flood_rate_connections
    rates: dict[str, float | None] = {}
    for label, processes, pinned, source in (
        ("before", "1", True, tree),
        ("now", "1", True, None),
        ("now", "2", False, None),
    ):
        if label == "before" and tree is None:
            continue
        cores = "1 core" if pinned else "2 cores"
        name = f"chaos {label}: flood, {processes} process(es) on {cores}"
        ctx.say(f"[capacity] {name} x {flood:,}")
        with server() as aim:
            summary, usage = _chaos(
                ctx, aim, "flood", flood, 0.0, processes=processes, pinned=pinned, tree=source
            )
        rate = _rate(summary)
        rates[f"{label}/{processes}"] = rate
        section.rows.append(
            usage.row(
                name,
                made=flood,
                held=summary.get("connected")
                if isinstance(summary.get("connected"), int)
                else None,
                rate=rate,
                detail=_detail(summary, f"outcomes {summary.get('outcomes')}"),
                raw=summary,
            )
        )
    _rate_verdicts(section, rates, accept)
    held_rows = [("before", sizes.capacity_hold_before, tree)] if tree is not None else []
    held_rows.append(("now", sizes.capacity_hold, None))
    for label, count, source in held_rows:
        name = f"chaos {label}: {count:,} idle (never_send {sizes.capacity_seconds:g} s)"
        ctx.say(f"[capacity] {name}")
        with server() as aim:
            summary, usage = _chaos(
                ctx,
                aim,
                "never_send",
                count,
                sizes.capacity_seconds,
                processes="auto" if source is None else "1",
                pinned=source is not None,
                tree=source,
            )
        processes = summary.get("processes", 1)
        row = usage.row(
            name,
            made=count,
            held=_held(summary),
            rate=_rate(summary),
            detail=_detail(summary, f"{processes} process(es); outcomes {summary.get('outcomes')}"),
            raw=summary,
        )
        section.rows.append(row)
        if label == "now":
            _hold_verdicts(section, row, count)
    with server() as aim:
        _slowloris_rows(ctx, section, aim, tree)


def _rate_verdicts(
    section: Section[Capacity], rates: dict[str, float | None], accept: float | None
) -> None:
    now, before = rates.get("now/2"), rates.get("before/1")
    if now is None:
        return
    if before:
        section.verdicts.append(
            Verdict(
                f"connect rate on 2 cores >= {TARGET_RATE_GAIN:g}x the one-process rate before",
                f"{now:,.0f} vs {before:,.0f} connects/s: {now / before:.1f}x",
                now / before >= TARGET_RATE_GAIN,
            )
        )
    if accept:
        section.verdicts.append(
            Verdict(
                "connect rate on 2 cores >= nginx accepting on one core",
                f"{now:,.0f} vs {accept:,.0f} connections/s: {now / accept:.2f}x",
                now >= accept,
            )
        )


def _hold_verdicts(section: Section[Capacity], row: Capacity, count: int) -> None:
    held = row.raw.get("peak_open") if row.raw else None
    if not isinstance(held, int):
        return
    section.verdicts.append(
        Verdict(
            f"one machine holds {count:,} idle connections", f"{held:,} held at once", held >= count
        )
    )
    if row.kib_per_conn is not None:
        section.verdicts.append(
            Verdict(
                f"client memory per held connection <= {TARGET_KIB_PER_CONN:g} KiB",
                f"{row.kib_per_conn:.2f} KiB (the whole tree's peak / held)",
                row.kib_per_conn <= TARGET_KIB_PER_CONN,
            )
        )
    if row.cpu_ms_per_conn is not None:
        section.verdicts.append(
            Verdict(
                f"client CPU per held connection <= {TARGET_MS_PER_CONN:g} ms",
                f"{row.cpu_ms_per_conn:.3f} ms (all processes, start-up included)",
                row.cpu_ms_per_conn <= TARGET_MS_PER_CONN,
            )
        )


def _slowloris_rows(
    ctx: Context, section: Section[Capacity], server: Running, tree: Path | None
) -> None:
    sizes = ctx.sizes
    count, seconds = sizes.slowloris_connections, sizes.slowloris_seconds
    costs: dict[str, Capacity] = {}
    for label, source in (("before", tree), ("now", None)):
        if label == "before" and source is None:
            continue
        name = f"chaos {label}: slowloris, {count:,} conns, {seconds:g} s, 1 process"
        ctx.say(f"[capacity] {name}")
        summary, usage = _chaos(
            ctx, server, "slowloris", count, seconds, params={"interval": 1.0}, tree=source
        )
        costs[label] = usage.row(
            name,
            made=count,
            held=_held(summary),
            rate=None,
            detail=_detail(summary, f"outcomes {summary.get('outcomes')}"),
            raw=summary,
        )
        section.rows.append(costs[label])
    name = f"slowhttptest -H, {count:,} conns, {seconds:g} s"
    if shutil.which("slowhttptest") is None:
        section.rows.append(Capacity(contender=name, detail="absent (slowhttptest not on PATH)"))
        return
    if ctx.quick:
        # Its shortest run lasts about 3 s whatever it is asked for: a third of the smoke run.
        section.rows.append(Capacity(contender=name, detail="not run in the quick run"))
        return
    ctx.say(f"[capacity] {name}")
    summary, usage = _slowhttptest(ctx, server, count, seconds)
    other = usage.row(
        name,
        made=count,
        held=summary.get("connected_max")
        if isinstance(summary.get("connected_max"), int)
        else None,
        rate=None,
        detail=f"exit {summary['exit']}",
        raw=summary,
    )
    section.rows.append(other)
    now = costs.get("now")
    if now is None or now.cpu_s is None or not other.cpu_s:
        return
    section.verdicts.append(
        Verdict(
            f"slowloris CPU <= {TARGET_SLOWLORIS_CPU:g}x slowhttptest's",
            f"{now.cpu_s:.2f} vs {other.cpu_s:.2f} s: {now.cpu_s / other.cpu_s:.2f}x",
            now.cpu_s / other.cpu_s <= TARGET_SLOWLORIS_CPU,
        )
    )
    if now.peak_kib and other.peak_kib:
        section.verdicts.append(
            Verdict(
                "slowloris RSS <= slowhttptest's",
                f"{now.peak_kib:,} vs {other.peak_kib:,} KiB: {now.peak_kib / other.peak_kib:.1f}x",
                now.peak_kib <= other.peak_kib,
                why="a bare CPython interpreter is ~8 MiB resident",
            )
        )


def _slowhttptest(
    ctx: Context, server: Running, count: int, seconds: float
) -> tuple[dict[str, object], Usage]:
    argv = ["slowhttptest", "-H", "-c", str(count), "-r", str(count), "-i", "1"]
    argv += ["-l", str(int(max(1, seconds))), "-x", "24", "-p", "3", "-u", server.url]
    child = ctx.children.start(argv, cores=ctx.pinning.client, name="slowhttptest")
    child.wait(seconds + CLIENT_GRACE, sample=True)
    child.stop()
    connected = None
    for line in _ANSI.sub("", child.stdout).splitlines():
        if "connected:" in line:
            try:
                value = int(line.split("connected:")[1].split()[0])
            except (ValueError, IndexError):
                continue
            connected = max(connected or 0, value)
    return {"connected_max": connected, "exit": child.proc.returncode}, Usage.of(child)
