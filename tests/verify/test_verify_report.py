"""The HTML report: self-contained, parseable, and its numbers are the JSON's."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import pytest

from chaos.cli import main
from chaos.record import ClientRecord
from chaos.verify.output.timeline import fate
from toolkit import Server, ServerConfig

# A small toolkit server, every check at a small scale: the whole run takes a few seconds.
CONFIG = dict(
    dispatch="on-accept",
    workers=4,
    max_pending=4,
    idle_timeout=0.3,
    request_timeout=0.5,
    write_timeout=0.4,
    queue_timeout=0.5,
)
EXPECT = [
    "idle-timeout=0.3",
    "request-timeout=0.5",
    "keepalive-timeout=0.3",
    "write-timeout=0.4",
    "max-connections=8",
    "half-close=respond",
    "flood=survives",
    "resets=survives",
]
SMALL = ["--flood", "100", "--resets", "20", "--hogs", "4", "--hog-time", "0.5"]
# Headless Chromium gets this long to render a screenshot.
BROWSER_TIMEOUT = 30


class Page(HTMLParser):
    """Collects what the tests look at: table cells, totals, references to anything outside."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.totals: dict[str, str] = {}
        self.refs: list[str] = []
        self.tags: set[str] = set()
        self._cell: list[str] | None = None
        self._total: str | None = None
        self._in_verdicts = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        self.refs += [v for k, v in attrs.items() if k in ("src", "href", "xlink:href") and v]
        if tag == "table" and attrs.get("id") == "verdicts":
            self._in_verdicts = True
        if self._in_verdicts and tag == "tr":
            self.rows.append([])
        if self._in_verdicts and tag in ("td", "th"):
            self._cell = []
        if attrs.get("class") == "total":
            self._total = attrs["data-key"]

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_verdicts = False
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._total is not None:
            self.totals[self._total] = data.strip()
            self._total = None


@pytest.fixture(scope="module")
def full_run(tmp_path_factory) -> Iterator[tuple[int, dict, str, Path]]:
    """One full run shared by this module's tests (it is the slow part)."""
    report = tmp_path_factory.mktemp("report") / "verify.html"
    junit = report.with_suffix(".xml")
    out, err = io.StringIO(), io.StringIO()
    with Server(ServerConfig(**CONFIG), handler="http-hello") as server:
        host, port = server.address
        argv = ["verify", "--target", f"{host}:{port}", "--tolerance", "0.1", "--budget", "40"]
        argv += [*SMALL, "--json", "--report", str(report), "--junit", str(junit)]
        argv += ["--expect", *EXPECT]
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    yield code, json.loads(out.getvalue()), err.getvalue(), report


def test_full_run_passes_and_shows_progress(full_run):
    code, data, err, _ = full_run
    assert code == 0, data["summary"]
    assert data["exit_code"] == 0
    assert [c["check"] for c in data["checks"]] == [
        "idle-timeout",
        "request-timeout",
        "keepalive-timeout",
        "write-timeout",
        "half-close",
        "max-connections",
        "max-served",
        "hogging",
        "flood",
        "resets",
    ]
    assert {c["verdict"] for c in data["checks"]} <= {"pass", "info"}
    # Progress on stderr: one line per stage at least, each stamped.
    for stage in ("[1/5] timeouts", "[2/5] concurrency", "[3/5]", "[4/5] flood", "[5/5]"):
        assert stage in err
    # The calibration this run planned by is in the evidence.
    assert data["calibration"]["connect_rate"] > 0 and data["calibration"]["summary"]
    # The raw chaos results are there, and they are what the summary counted.
    flood = next(s for s in data["stages"] if s["name"] == "flood")
    assert len(flood["chaos"]["records"]) == 100


def test_report_is_self_contained_and_matches_the_json(full_run):
    _, data, _, report = full_run
    text = report.read_text(encoding="utf-8")
    page = Page()
    page.feed(text)
    page.close()
    # Nothing fetched from anywhere: no scripts, stylesheets, fonts, images or imports.
    assert not page.refs
    assert not {"script", "link", "img", "iframe", "object", "embed"} & page.tags
    assert not re.search(r"@import|url\(|https?://", text)
    assert "svg" in page.tags
    # The verdict table is the JSON's, cell for cell.
    header, *rows = page.rows
    assert header == ["check", "expected", "measured", "verdict"]
    assert rows == [
        [c["check"], c["expected"] or "-", c["measured"], c["verdict"]] for c in data["checks"]
    ]
    # The chart's totals are the JSON timeline's, which are the raw records' own counts.
    totals = data["timeline"]["totals"]
    for key in ("connections", "closed_by_server", "reset", "refused"):
        assert page.totals[key] == str(totals[key])
    records = [r for stage in data["stages"] for r in stage["chaos"]["records"]]
    assert totals["connections"] == len(records)
    fates = [fate(ClientRecord.from_json(r)) for r in records]
    for key in ("closed_by_server", "reset", "refused"):
        assert totals[key] == fates.count(key)
    probes = data["timeline"]["probes"]
    assert int(page.totals["probe-ok"]) == sum(1 for p in probes if p["state"] == "ok")
    assert str(data["exit_code"]) in text and data["summary"] in text


def test_junit_has_a_case_per_check_as_the_json_has_them(full_run):
    _, data, _, report = full_run
    suite = ElementTree.parse(report.with_suffix(".xml")).getroot()
    assert suite.tag == "testsuite" and suite.get("failures") == "0"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [c["check"] for c in data["checks"]]
    for case, check in zip(cases, data["checks"], strict=True):
        assert check["measured"] in case.findtext("system-out")
        assert (case.find("skipped") is not None) == (
            check["verdict"] in ("skipped", "inconclusive")
        )
    assert "Calibration: " in report.read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("chromium") is None, reason="no chromium to render with")
def test_report_renders_in_a_headless_browser(full_run, tmp_path):
    _, _, _, report = full_run
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--screenshot={shot}",
            "--window-size=1200,900",
            report.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=BROWSER_TIMEOUT,
    )
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 20_000
