"""``never_send``: connect and send nothing; hold until the server closes or ``hold`` runs out.

Its clients run in one epoll loop (a swarm), not a trio task each. Each says when the server
accepted it (``accepted``), or that it never did (``unaccepted``): a deferred accept holds a
silent connection in the kernel, where no idle timeout of the server's can see it, until its
first bytes or the deferral's end.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..engine.swarm import Script
from ..params import HoldParams
from .base import Deadline, Fault, Traits, one_client

__all__ = ["FAULT", "NeverSendParams", "never_send", "script"]


@dataclass(frozen=True, kw_only=True)
class NeverSendParams(HoldParams):
    """A silent client: measures how long a server tolerates a connection that never speaks."""


def script(params: NeverSendParams) -> Script:
    """Connect, then only read."""
    return Script(connect_timeout=params.connect_timeout, hold=params.hold, watches_accept=True)


FAULT = Fault(
    kind="never_send",
    params=NeverSendParams,
    script=script,
    summary=__doc__,
    traits=Traits(cut_by=Deadline.IDLE, sends=False, holds=True),
)


never_send = one_client(FAULT)
