"""The wire checks by name, what each holds a server to, and the pytest marker that picks it:
the plugin registers the markers from here in every pytest process, before (and without)
importing the attacks of :mod:`chaos.testing.conformance`, whose checks take their summaries
from here."""

from __future__ import annotations

__all__ = ["SUMMARIES", "marker"]

SUMMARIES = {
    "idle-timeout": "silent clients are cut at the idle timeout",
    "request-timeout": "trickled requests are cut at the request deadline",
    "write-timeout": "clients that never read are cut at the write timeout",
    "hogging": "the server stays available while connections are hogged",
    "hostile-input": "the server serves again after hostile input",
}


def marker(check: str) -> str:
    """The pytest marker that selects ``check`` in the suite: ``chaos_idle_timeout``."""
    return "chaos_" + check.replace("-", "_")
