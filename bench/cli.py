"""`python -m bench [--quick] [--json PATH] [--only M,...] [--contenders C,...]`.

Runs every measurement against every contender installed here, prints markdown to stdout
(progress goes to stderr) and writes JSON. Every child process is stopped however it ends.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import sys
import time
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .contenders import all_contenders
from .context import Context
from .procs import Children, Pinning, raise_nofile
from .report import markdown, write_json
from .result import Absent, Row, Section
from .sizes import FULL, QUICK
from .wrk import wrk_path

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"


def _parser() -> argparse.ArgumentParser:
    from .measures import ALL

    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (CI smoke run)")
    parser.add_argument("--json", type=Path, help="where to write results (default bench/results/)")
    parser.add_argument("--only", help=f"comma-separated measurements of: {', '.join(ALL)}")
    parser.add_argument("--contenders", help="comma-separated contender names to run")
    parser.add_argument("--no-wrk", action="store_true", help="use our own load client")
    parser.add_argument(
        "--base", type=Path, help="a directory holding another build's toolkit/, run beside ours"
    )
    return parser


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _pick(names: str | None, known: Sequence[str], what: str) -> list[str]:
    if not names:
        return list(known)
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise SystemExit(f"bench: unknown {what}: {', '.join(unknown)} (known: {', '.join(known)})")
    return wanted


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; exit status 130 if interrupted (every child stopped either way)."""
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except KeyboardInterrupt:
        print("bench: interrupted; every server was stopped", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    from .measures import ALL

    measures = _pick(args.only, list(ALL), "measurement")
    everyone = all_contenders(args.base)
    chosen = set(_pick(args.contenders, [c.name for c in everyone], "contender"))
    absent = {c.name: why for c in everyone if c.name in chosen and (why := c.absent())}
    runnable = [c for c in everyone if c.name in chosen and c.name not in absent]
    use_wrk = wrk_path() is not None and not args.no_wrk
    nofile = raise_nofile()
    pinning = Pinning.detect()
    if pinning.client is not None:
        os.sched_setaffinity(0, pinning.client)
    signal.signal(signal.SIGTERM, _interrupt)
    meta: dict[str, object] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "machine": f"{os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, open files {nofile}",
        "pinning": pinning.describe(),
        "load generator": "wrk" if use_wrk else "own Python client (wrk absent or --no-wrk)",
        "absent": ", ".join(f"{n} {why}" for n, why in absent.items()) or "none",
        "slowhttptest": "present" if shutil.which("slowhttptest") else "absent",
        "contenders": "; ".join(f"{c.name}" + (f" ({c.note})" if c.note else "") for c in runnable),
    }
    began = time.monotonic()
    sections: list[Section[Any]] = []
    with Children(ROOT) as children:
        ctx = Context(
            sizes=QUICK if args.quick else FULL,
            pinning=pinning,
            children=children,
            contenders=runnable,
            absent=absent,
            use_wrk=use_wrk,
            quick=args.quick,
            say=lambda text: print(f"bench: {text}", file=sys.stderr, flush=True),
        )
        for name in measures:
            sections.append(_measure(ctx, name))
    meta["wall time"] = f"{time.monotonic() - began:.0f} s"
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = args.json or RESULTS / f"{'quick' if args.quick else 'full'}-{stamp}.json"
    write_json(path, meta, sections)
    print(markdown(meta, sections))
    print(f"bench: results written to {path}", file=sys.stderr)
    return 0


def _measure(ctx: Context, name: str) -> Section[Any]:
    """Run one measurement; a crash becomes a note in its section, never the end of the run."""
    from .measures import ALL

    began = time.monotonic()
    section: Section[Any]
    try:
        section = ALL[name](ctx)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:
        ctx.say(f"measurement {name} crashed:\n{traceback.format_exc()}")
        section = Section(key=name, title=f"{name}: crashed", kind=Row, columns=[])
        section.notes.append(f"crashed: {type(exc).__name__}: {exc}")
    ctx.children.stop_all()
    if name != "capacity":
        for contender, why in ctx.absent.items():
            section.rows.append(Absent(contender=contender, absent=why))
    # Every section is timed here, the same way, children's shutdown included.
    section.seconds = time.monotonic() - began
    return section
