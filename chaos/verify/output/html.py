"""The HTML report: one self-contained file with the verdict table and a timeline chart.

No script, font or stylesheet from anywhere: inline CSS and an inline SVG drawn here from the
run's JSON dict (so its numbers are the JSON's). Like slowhttptest's chart, it plots
connection states over time with the probes' availability and latency on top, and shades
each stage by the verdict of the checks it decided.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from html import escape

from ...jsondata import JSONObject

__all__ = ["render_html"]

WIDTH, HEIGHT = 1100, 440
LEFT, RIGHT, TOP, BOTTOM = 64, 76, 28, 44
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
# Line colours for the states, and marker colours for the probe states.
SERIES = {
    "connecting": ("#e07b00", "connecting"),
    "open": ("#1f5fbf", "open"),
    "closed_by_server": ("#6b6b6b", "closed by server (cumulative)"),
    "reset": ("#c81d25", "reset (cumulative)"),
    "refused": ("#7b2cbf", "refused (cumulative)"),
}
PROBES = {"ok": "#2a9d2a", "queued": "#e0a000", "rejected": "#d62828", "stalled": "#111111"}
BANDS = {
    "pass": "#2a9d2a",
    "FAIL": "#d62828",
    "inconclusive": "#e0a000",
    "info": "#8a8a8a",
    "skipped": "#c0c0c0",
}

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #222; }
h1 { font-size: 1.4em; margin-bottom: 0.2em; }
.sub { color: #555; margin-top: 0; }
.summary { font-size: 1.1em; font-weight: 600; padding: 8px 12px; border-radius: 4px; }
.summary.ok { background: #e6f4e6; } .summary.failed { background: #fbe3e3; }
.summary.inconclusive { background: #fdf1d6; }
table { border-collapse: collapse; margin: 12px 0; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td.verdict { font-weight: 600; }
td.pass { color: #1d7a1d; } td.FAIL { color: #b01818; } td.info, td.skipped { color: #666; }
td.inconclusive { color: #a06800; }
.legend span { margin-right: 16px; white-space: nowrap; }
.swatch { display: inline-block; width: 14px; height: 4px; vertical-align: middle;
  margin-right: 4px; }
svg text { font-family: system-ui, sans-serif; font-size: 11px; fill: #333; }
.small { color: #555; font-size: 0.9em; }
"""


def _fmt(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if value else "0"


def _y_count(n: float, top: float) -> float:
    scale = math.log10(1 + top)
    return TOP + PLOT_H * (1 - math.log10(1 + n) / scale)


def _chart(data: JSONObject) -> str:
    timeline = data["timeline"]
    duration = timeline["duration"]
    times, series = timeline["times"], timeline["series"]
    peak = max([1, *(v for values in series.values() for v in values)])
    top_count = 10 ** math.ceil(math.log10(peak + 1))

    def x(t: float) -> float:
        return float(LEFT + PLOT_W * min(max(t / duration, 0.0), 1.0))

    parts = [
        f'<svg id="timeline" width="{WIDTH}" '
        f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="connection states and probes over the run">',
        f'<rect x="{LEFT}" y="{TOP}" width="{PLOT_W}" height="{PLOT_H}" fill="#fff" '
        'stroke="#999"/>',
    ]
    for span in data["spans"]:
        x0, x1 = x(span["start"]), x(span["end"])
        colour = BANDS.get(span["verdict"], BANDS["info"])
        label = escape(span["name"])
        parts.append(
            f'<rect class="band" data-name="{label}" data-verdict="{escape(span["verdict"])}" '
            f'x="{x0:.1f}" y="{TOP}" width="{max(x1 - x0, 0.5):.1f}" height="{PLOT_H}" '
            f'fill="{colour}" fill-opacity="0.10"><title>{label}: {escape(span["verdict"])}'
            "</title></rect>"
        )
        if x1 - x0 > 48:
            parts.append(
                f'<text x="{x0 + 3:.1f}" y="{TOP + 12}" fill="{colour}">{label} '
                f"({escape(span['verdict'])})</text>"
            )
    tick = 0
    while tick <= top_count:
        y = _y_count(tick, top_count)
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + PLOT_W}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>'
        )
        tick = 1 if tick == 0 else tick * 10
    step = _nice_step(duration)
    t = 0.0
    while t <= duration + 1e-9:
        parts.append(
            f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{TOP + PLOT_H}" y2="{TOP + PLOT_H + 4}" '
            f'stroke="#666"/><text x="{x(t):.1f}" y="{TOP + PLOT_H + 16}" '
            f'text-anchor="middle">{_fmt(t)}</text>'
        )
        t += step
    parts.append(
        f'<text x="{LEFT + PLOT_W / 2}" y="{HEIGHT - 6}" text-anchor="middle">'
        "seconds since the start of the run</text>"
        f'<text x="14" y="{TOP + PLOT_H / 2}" transform="rotate(-90 14 {TOP + PLOT_H / 2})" '
        'text-anchor="middle">connections (log scale)</text>'
    )
    for name, (colour, _) in SERIES.items():
        values = series[name]
        points = [f"{LEFT:.1f},{_y_count(0, top_count):.1f}"]
        previous = 0
        for when, value in zip(times, values, strict=True):
            points.append(f"{x(when):.1f},{_y_count(previous, top_count):.1f}")
            points.append(f"{x(when):.1f},{_y_count(value, top_count):.1f}")
            previous = value
        dash = ' stroke-dasharray="5 3"' if name in ("reset", "refused") else ""
        parts.append(
            f'<polyline class="series" data-series="{name}" fill="none" stroke="{colour}" '
            f'stroke-width="1.6"{dash} points="{" ".join(points)}"/>'
        )
    parts.append(_probe_layer(data, x))
    parts.append("</svg>")
    return "\n".join(parts)


def _nice_step(duration: float) -> float:
    raw = duration / 10
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _probe_layer(data: JSONObject, x: Callable[[float], float]) -> str:
    probes = data["timeline"]["probes"]
    latencies = [p["latency"] for p in probes if p["latency"] is not None]
    top = max([0.01, *latencies]) * 1.15
    parts = []
    right = LEFT + PLOT_W
    for fraction in (0, 0.25, 0.5, 0.75, 1.0):
        y = TOP + PLOT_H * (1 - fraction)
        parts.append(f'<text x="{right + 6}" y="{y + 4:.1f}">{top * fraction * 1000:.0f} ms</text>')
    parts.append(
        f'<text x="{WIDTH - 10}" y="{TOP + PLOT_H / 2}" text-anchor="middle" '
        f'transform="rotate(90 {WIDTH - 10} {TOP + PLOT_H / 2})">probe latency</text>'
    )
    for p in probes:
        colour = PROBES.get(p["state"], "#000")
        px = x(p["t"])
        tip = escape(f"probe at {p['t']:.2f} s: {p['state']}")
        if p["latency"] is None:
            py = TOP + 6
            parts.append(
                f'<path class="probe" data-state="{p["state"]}" d="M{px - 3:.1f},{py - 3:.1f} '
                f'l6,6 m0,-6 l-6,6" stroke="{colour}" stroke-width="1.6"><title>{tip}</title>'
                "</path>"
            )
            continue
        py = TOP + PLOT_H * (1 - p["latency"] / top)
        tip = escape(f"probe at {p['t']:.2f} s: {p['state']}, {p['latency'] * 1000:.1f} ms")
        parts.append(
            f'<circle class="probe" data-state="{p["state"]}" cx="{px:.1f}" cy="{py:.1f}" r="3.2" '
            f'fill="{colour}"><title>{tip}</title></circle>'
        )
        # The availability strip under the plot, one tick per probe, like slowhttptest's line.
    for p in probes:
        colour = PROBES.get(p["state"], "#000")
        parts.append(
            f'<rect x="{x(p["t"]) - 1:.1f}" y="{TOP + PLOT_H + 24}" width="2" height="6" '
            f'fill="{colour}"/>'
        )
    return "\n".join(parts)


def _legend(data: JSONObject) -> str:
    totals = data["timeline"]["totals"]
    probes = data["timeline"]["probes"]
    items = [
        f'<span><span class="total" data-key="connections">{totals["connections"]}</span> '
        "connections</span>"
    ]
    for name, (colour, label) in SERIES.items():
        count = (
            f' <span class="total" data-key="{name}">{totals[name]}</span>'
            if (name in totals)
            else ""
        )
        items.append(
            f'<span><span class="swatch" style="background:{colour}"></span>{label}{count}</span>'
        )
    by_state = {s: sum(1 for p in probes if p["state"] == s) for s in PROBES}
    for state, colour in PROBES.items():
        items.append(
            f'<span><span class="swatch" style="background:{colour}"></span>probe {state} '
            f'<span class="total" data-key="probe-{state}">{by_state[state]}</span></span>'
        )
    return f'<p class="legend">{"".join(items)}</p>'


def _table(data: JSONObject) -> str:
    rows = [
        '<table id="verdicts"><thead><tr><th>check</th><th>expected</th><th>measured</th>'
        "<th>verdict</th></tr></thead><tbody>"
    ]
    for check in data["checks"]:
        verdict = escape(check["verdict"])
        rows.append(
            f'<tr data-check="{escape(check["check"])}"><td>{escape(check["check"])}</td>'
            f"<td>{escape(check['expected'] or '-')}</td><td>{escape(check['measured'])}</td>"
            f'<td class="verdict {verdict}">{verdict}</td></tr>'
        )
    rows.append("</tbody></table>")
    reasons = [
        c for c in data["checks"] if c["reason"] and c["verdict"] in ("FAIL", "inconclusive")
    ]
    if reasons:
        rows.append("<ul>")
        rows += [f"<li><b>{escape(c['check'])}</b>: {escape(c['reason'])}</li>" for c in reasons]
        rows.append("</ul>")
    return "\n".join(rows)


def _steps(data: JSONObject) -> str:
    check = next((c for c in data["checks"] if c["check"] == "max-connections"), None)
    steps = (check or {}).get("detail", {}).get("steps") or []
    if not steps:
        return ""
    rows = [
        "<h2>Concurrency steps</h2>",
        '<table id="steps"><thead><tr><th>holders asked for</th><th>held when quiet</th>'
        "<th>held through the probe</th><th>rejected</th><th>evicted</th>"
        "<th>keep-alive declined</th><th>dropped</th><th>never accepted</th><th>probe</th>"
        "</tr></thead><tbody>",
    ]
    for s in steps:
        cells = [s[key] for key in ("level", "quiet", "held", "rejected", "evicted")]
        # A run saved before holders could be declined has no such count.
        cells += [s.get("declined", 0), s["dropped"], s["unaccepted"], escape(str(s["probe"]))]
        rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    rows.append("</tbody></table>")
    return "\n".join(rows)


def _calibration(data: JSONObject) -> str:
    calibration = data.get("calibration")
    if not calibration:
        return ""
    return f'<p class="small" id="calibration">Calibration: {escape(calibration["summary"])}.</p>'


def render_html(data: JSONObject) -> str:
    """The report for a run, from :func:`~chaos.verify.output.export.run_to_json` output."""
    mood = {0: "ok", 3: "inconclusive"}.get(data["exit_code"], "failed")
    settings = data["settings"]
    notes = "".join(f"<li>{escape(n)}</li>" for n in data["notes"])
    config = ""
    if data.get("config"):
        pairs = ", ".join(f"{escape(k)}={escape(str(v))}" for k, v in data["config"].items())
        config = f'<p class="small">Server configuration: {pairs}</p>'
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>chaos verify: {escape(data["target"])}</title>
<style>{STYLE}</style>
</head>
<body>
<h1>chaos verify: {escape(data["target"])}</h1>
<p class="sub">{escape(data["source"])}; protocol {escape(data["protocol"])}; started
{escape(data["started_at"])}; took {data["duration"]:.1f} s of a {settings["budget"]:g} s
budget; tolerance {settings["tolerance"]:g} s.</p>
<p class="summary {mood}" id="summary">{escape(data["summary"])}
(exit {data["exit_code"]})</p>
{_calibration(data)}
{_table(data)}
<h2>Timeline</h2>
{_chart(data)}
{_legend(data)}
<p class="small">Lines: connections connecting and open at each moment, and how many the
server had closed, reset or refused so far. Dots: probes at their start time, by latency
(right axis); a cross marks a probe that got no answer. Shaded bands: the stages, coloured
by the verdict of the checks each decided. The strip under the axis: every probe's state.</p>
{_steps(data)}
<h2>Notes</h2>
<ul>{notes}</ul>
{config}
</body>
</html>
"""
