"""The slack allowed when judging a server's timing, by where the server runs: one home for
both, each stated against the other, importing nothing (the pytest plugin's options show them
before anything else is loaded)."""

from __future__ import annotations

__all__ = ["IN_PROCESS_TOLERANCE", "WIRE_TOLERANCE"]

# Slack on every timing judgement of a server in this process, on the clients' own clock:
# only thread wake-ups and GC pauses on a loaded 2-core machine. A server in another process
# is judged with WIRE_TOLERANCE, which adds its scheduler and timers.
IN_PROCESS_TOLERANCE = 0.1
# Slack on judging a server in another process from the wire: loopback timing is good to
# milliseconds, but two schedulers, the server's own timers and a loaded 2-core CI box add
# jitter. (A server in the clients' own process is judged with IN_PROCESS_TOLERANCE.)
WIRE_TOLERANCE = 0.25
