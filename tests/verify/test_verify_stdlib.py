"""Must-hold 2: servers with no timeouts at all (stdlib http.server, socketserver) are reported
honestly: "none within cap", never a made-up number."""

from __future__ import annotations

import json

from chaos.cli import main

# Short, so that waiting for a close that never comes costs the suite little.
CAP = "0.4"
FAST = ["--cap", CAP, "--budget", "30", "--max-hold", "8", "--quiet", "--json"]


def run_json(argv, capsys) -> tuple[int, dict]:
    code = main(argv)
    return code, json.loads(capsys.readouterr().out)


def by_check(data: dict) -> dict:
    return {c["check"]: c for c in data["checks"]}


def test_http_server_has_no_timeouts_and_says_so(stdlib_http, capsys):
    checks = "idle-timeout,request-timeout,write-timeout,half-close,max-connections"
    argv = ["verify", "--target", stdlib_http, "--checks", checks, *FAST]
    argv += ["--expect", "idle-timeout=none", "request-timeout=none", "half-close=respond"]
    code, data = run_json(argv, capsys)
    checks = by_check(data)
    assert code == 0, data["summary"]
    for name in ("idle-timeout", "request-timeout"):
        assert checks[name]["measured"] == f"none within {CAP} s"
        assert checks[name]["value"] is None
        assert checks[name]["verdict"] == "pass"
    # No /bytes/N here: the write check says so instead of timing something else.
    write = checks["write-timeout"]
    assert write["verdict"] == "skipped" and write["value"] is None
    assert write["measured"] == "not measured: GET /bytes/16777216 answered 404"
    assert checks["half-close"]["value"] == "respond"
    assert checks["max-connections"]["value"] is None
    assert checks["max-connections"]["measured"].startswith("no rejection up to 8 held")


def test_a_promised_timeout_that_is_not_there_fails(stdlib_http, capsys):
    argv = ["verify", "--target", stdlib_http, "--checks", "idle-timeout,write-timeout", *FAST]
    argv += ["--expect", "idle-timeout=0.2", "write-timeout=1"]
    code, data = run_json(argv, capsys)
    checks = by_check(data)
    assert code == 1
    assert checks["idle-timeout"]["verdict"] == "FAIL"
    assert checks["idle-timeout"]["measured"].startswith("none within")
    assert "still open" in checks["idle-timeout"]["reason"]
    # Expected but not measurable is not a failure (nothing showed it broken): inconclusive,
    # with the reason; the broken idle timeout still makes the run fail.
    assert checks["write-timeout"]["verdict"] == "inconclusive"
    assert "answered 404" in checks["write-timeout"]["reason"]


def test_socketserver_raw_read_once_server(stdlib_tcp, capsys):
    checks = "idle-timeout,request-timeout,half-close,max-connections,hogging"
    argv = ["verify", "--target", stdlib_tcp, "--protocol", "raw", "--checks", checks, *FAST]
    argv += ["--hogs", "2", "--hog-time", "0.5"]
    code, data = run_json(argv, capsys)
    checks = by_check(data)
    assert code == 0
    assert checks["idle-timeout"]["measured"] == f"none within {CAP} s"
    # It answers the first byte and hangs up: there is no request deadline to time.
    request = checks["request-timeout"]
    assert request["value"] is None and request["verdict"] == "skipped"
    assert "answered 6 bytes and closed" in request["measured"]
    assert checks["half-close"]["value"] == "respond"
    assert checks["max-connections"]["value"] is None
    # Its trickling hogs send bytes, not HTTP headers: the row says what they were.
    assert checks["hogging"]["measured"].endswith("; 2 idle + 2 slow-send held")
