"""A run as JUnit XML, so a CI system shows every check as a test case of its own.

One ``testsuite`` for the run; one ``testcase`` per check: a ``failure`` for FAIL (its reason
as the message), ``skipped`` with the reason for inconclusive and skipped checks, and what was
measured as ``system-out`` on every case. The JSON stays the whole evidence.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ...jsondata import JSONObject

__all__ = ["render_junit"]

_SKIPPING = ("inconclusive", "skipped")


def render_junit(data: JSONObject) -> str:
    """The JUnit XML for a run, from :func:`~chaos.verify.output.export.run_to_json` output."""
    checks = data["checks"]
    suite = ET.Element(
        "testsuite",
        name="chaos verify",
        tests=str(len(checks)),
        failures=str(sum(1 for c in checks if c["verdict"] == "FAIL")),
        errors="0",
        skipped=str(sum(1 for c in checks if c["verdict"] in _SKIPPING)),
        time=f"{data['duration']:.3f}",
        timestamp=data["started_at"],
    )
    properties = ET.SubElement(suite, "properties")
    for name in ("target", "source", "protocol", "summary", "exit_code"):
        ET.SubElement(properties, "property", name=name, value=str(data[name]))
    if data.get("calibration"):
        summary = data["calibration"]["summary"]
        ET.SubElement(properties, "property", name="calibration", value=summary)
    for check in checks:
        case = ET.SubElement(
            suite, "testcase", classname=f"chaos.verify.{data['target']}", name=check["check"]
        )
        verdict = check["verdict"]
        why = check["reason"] or check["measured"]
        if verdict == "FAIL":
            ET.SubElement(case, "failure", message=why, type="FAIL").text = why
        elif verdict in _SKIPPING:
            ET.SubElement(case, "skipped", message=f"{verdict}: {why}")
        expected = check["expected"] or "-"
        ET.SubElement(
            case, "system-out"
        ).text = f"expected {expected}; measured {check['measured']}; verdict {verdict}"
    ET.indent(suite)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
    )
