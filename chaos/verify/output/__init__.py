"""A verify run as people and programs read it: JSON, the timeline, the HTML report, JUnit XML.

The JSON (:func:`run_to_json`) is the one source: the HTML (:func:`render_html`) and the JUnit
XML (:func:`render_junit`) are drawn from it, and the text table (:func:`format_table`) shows
the same rows.
"""

from __future__ import annotations

from .export import FORMAT_VERSION, run_to_json
from .html import render_html
from .junit import render_junit
from .text import format_table, summary_line
from .timeline import Timeline, build_timeline, fate

__all__ = [
    "FORMAT_VERSION",
    "Timeline",
    "build_timeline",
    "fate",
    "format_table",
    "render_html",
    "render_junit",
    "run_to_json",
    "summary_line",
]
