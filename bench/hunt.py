"""``python -m bench.hunt``: the hunt's search goals, measured as a user runs it, per seed.

For each seed: a fresh server (the vulnerable one with the pipelining pin, the toolkit's, or
nginx), ``python -m chaos hunt`` against it with a fixed budget, then ``python -m chaos run``
of the worst plan it wrote. One row per seed: the verdict, when a bound first broke (example,
seconds), what shrinking took (examples, seconds), the shrunk script, the value the hunt's
whole replay measured and the one ``chaos run`` measured, and the search digest (the same
seed, the same digest). A search goal, so it lives here as a table and not in the tests.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from chaos import ChaosResult
from chaos.hunt.measures import held, unserved

from .daemons import launched, nginx
from .procs import Children
from .serve import HOST, START_TIMEOUT, free_port, wait_listening

__all__ = ["SERVERS", "Row", "main", "measure"]

ROOT = Path(__file__).resolve().parent.parent
# The deadlines of the targets (seconds).
IDLE, REQUEST, WRITE = 1, 2, 2
EXPECT = [f"idle-timeout={IDLE}", f"request-timeout={REQUEST}", f"write-timeout={WRITE}"]
# nginx with client_header_timeout and keepalive_timeout of 2 s promises: no request head
# takes longer than 2 s, no silence between requests lasts longer than 2 s (the idle
# timeout of a hunt's bound). A body it bounds by client_body_timeout (60 s between reads)
# and an unread response by send_timeout (60 s): neither is a 2 s promise, so the hunt gets
# no write timeout (slow readers go unjudged) and every move but the trickled body.
NGINX = 2
NGINX_EXPECT = [f"idle-timeout={NGINX}", f"request-timeout={NGINX}"]
NGINX_MOVES = "whole,split,trickle-head,burst,pin,pin-trickle,reader,malformed,pause"
_PROGRESS = re.compile(r"^hunt\s+([\d.]+)s #(\d+) ")


Start = Callable[[Children], AbstractContextManager[tuple[str, int]]]


def _ours(argv: list[str]) -> Start:
    @contextmanager
    def start(children: Children) -> Iterator[tuple[str, int]]:
        port = free_port()
        child = children.start([*argv, "--port", str(port)], cores=None, name=argv[2])
        try:
            wait_listening(child, (HOST, port), START_TIMEOUT)
            yield HOST, port
        finally:
            child.stop()

    return start


@contextmanager
def _nginx(children: Children) -> Iterator[tuple[str, int]]:
    daemon = nginx(client_header_timeout=NGINX, keepalive_timeout=NGINX)
    with launched(children, daemon) as address:
        yield address


_DEADLINES = ["--idle-timeout", str(IDLE), "--request-timeout", str(REQUEST)]
_DEADLINES += ["--write-timeout", str(WRITE)]
_TOOLKIT = ["toolkit", "serve", "--dispatch", "readiness", "--workers", "1", *_DEADLINES]
SERVERS: dict[str, Start] = {
    "vulnerable": _ours([sys.executable, "-m", "chaos.testing.vulnerable", *_DEADLINES]),
    "toolkit": _ours([sys.executable, "-m", *_TOOLKIT]),
    "nginx": _nginx,
}


@dataclass(frozen=True)
class Row:
    """One seed's hunt, as the table shows it."""

    seed: int
    exit_code: int
    verdicts: str
    found_at: int | None
    found_after: float | None
    shrink_examples: int | None
    shrink_seconds: float | None
    steps: int | None
    script: str
    replayed: float | None
    chaos_run: float | None
    examples: int
    duration: float
    digest: str


def _chaos_run(plan: Path, measure: str) -> float | None:
    """What ``chaos run`` of the written plan measures, as the hunt measures ``measure``."""
    done = subprocess.run(
        [sys.executable, "-m", "chaos", "run", str(plan), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    result = ChaosResult.from_json(done.stdout)
    if measure == "probe":
        return unserved([r for r in result.records if r.kind == "probe"], result.ended)
    return held([r for r in result.records if r.kind == "scripted"])


def measure(
    server: str, seed: int, budget: float, extra: Sequence[str], logs: Path | None = None
) -> Row:
    """One hunt against a fresh ``server`` with ``seed``, and ``chaos run`` of its worst plan;
    its progress and table kept under ``logs`` if given."""
    with Children(ROOT) as children, tempfile.TemporaryDirectory() as scratch:
        with SERVERS[server](children) as (host, port):
            worst = Path(scratch) / "worst.json"
            argv = [sys.executable, "-m", "chaos", "hunt", "--target", f"{host}:{port}"]
            expect = NGINX_EXPECT if server == "nginx" else EXPECT
            argv += ["--expect", *expect, "--budget", str(budget), "--seed", str(seed)]
            argv += [*extra, "--json", "--write-worst", str(worst)]
            done = subprocess.run(
                argv, cwd=ROOT, capture_output=True, text=True, timeout=budget + 120
            )
            found = json.loads(done.stdout)
            if logs is not None:
                logs.mkdir(parents=True, exist_ok=True)
                (logs / f"{server}-seed{seed}.err").write_text(done.stderr)
                (logs / f"{server}-seed{seed}.json").write_text(done.stdout)
            stamps = [m for line in done.stderr.splitlines() if (m := _PROGRESS.match(line))]
            broken = [m for m in found["measures"] if m["detail"].get("broken") is not None]
            row = broken[0] if broken else max(found["measures"], key=lambda m: m["value"] or 0)
            steps = row["detail"].get("steps", "")
            shrink_examples = shrink_seconds = None
            if found["found_at"] is not None and stamps:
                shrink_examples = found["examples"] - found["found_at"]
                shrink_seconds = float(stamps[-1].group(1)) - found["found_after"]
            again = _chaos_run(worst, row["check"]) if broken and worst.exists() else None
    return Row(
        seed=seed,
        exit_code=done.returncode,
        verdicts=" ".join(f"{m['check']}={m['verdict']}" for m in found["measures"]),
        found_at=found["found_at"],
        found_after=found["found_after"],
        shrink_examples=shrink_examples,
        shrink_seconds=shrink_seconds,
        steps=steps.count(";") + 1 if steps else None,
        script=steps,
        replayed=row["detail"].get("replayed", row["value"]),
        chaos_run=again,
        examples=found["examples"],
        duration=found["duration"],
        digest=found["search"],
    )


def _cell(value: object) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


COLUMNS = (
    "seed exit_code verdicts found_at found_after shrink_examples shrink_seconds steps "
    "replayed chaos_run examples duration digest script"
).split()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hunt", description=__doc__)
    parser.add_argument("--server", choices=tuple(SERVERS), default="vulnerable")
    parser.add_argument("--seeds", default="0-9", help="e.g. 0-9 or 0,0,1")
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--logs", type=Path, help="keep each hunt's progress and JSON here")
    args, extra = parser.parse_known_args(argv)
    if args.server == "nginx" and "--moves" not in extra:
        extra += ["--moves", NGINX_MOVES]
    seeds: list[int] = []
    for part in args.seeds.split(","):
        low, _, high = part.partition("-")
        seeds += range(int(low), int(high or low) + 1)
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    rows = []
    for seed in seeds:
        row = measure(args.server, seed, args.budget, extra, args.logs)
        rows.append(row)
        print("| " + " | ".join(_cell(getattr(row, c)) for c in COLUMNS) + " |", flush=True)
    failed = sum(1 for r in rows if r.exit_code == 1)
    print(f"{failed} of {len(rows)} hunts against {args.server} broke a bound (chaos hunt exit 1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
