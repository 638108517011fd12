"""What every fault is to the runner and the command line: a name, a parameter class, a driver.

A fault that talks has a ``drive``: one trio task per client. A connection-heavy fault that
sends nothing, or a chunk on a timer, has a ``script`` instead, and all its clients run in
one epoll loop (:mod:`chaos.engine.swarm`). Each fault module defines one :class:`Fault` and
its public function (:func:`one_client` makes it); :mod:`chaos.faults.registry` lists them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

from ..engine.crowd import Crowd, Group
from ..engine.slot import Slot
from ..engine.swarm import Script
from ..jsondata import Scalar
from ..params import FaultParams
from ..record import ClientRecord
from ..target import Target, as_target, resolve

__all__ = ["Deadline", "Fault", "OneClient", "Traits", "one_client"]

P = TypeVar("P", bound=FaultParams)
P_contra = TypeVar("P_contra", bound=FaultParams, contravariant=True)


class Deadline(StrEnum):
    """A server setting that exists to cut one kind of client, named as the checker names it."""

    IDLE = "idle_timeout"  # a client that never sends: counted from the accept
    REQUEST = "request_timeout"  # a request trickled without end: counted from its first byte
    WRITE = "write_timeout"  # a response the client does not read: counted from the request

    @property
    def from_first_byte(self) -> bool:
        """True when the deadline counts from the client's first byte, not from the accept."""
        return self is not Deadline.IDLE


@dataclass(frozen=True, kw_only=True)
class Traits:
    """What a fault does to a server, as the judges and the strategies need to know it."""

    cut_by: Deadline | None = None  # the server deadline that should end this client
    sends: bool = True  # it sends bytes (a request, a payload); False for a silent client
    holds: bool = False  # it keeps connections open a while: pressure on workers and slots
    hostile: bool = False  # it sends hostile input (or breaks off) and leaves
    half_closes: bool = False  # it sends its FIN first and still expects an answer
    probe: bool = False  # a well-behaved client whose records judge availability
    pressure: bool = False  # connection pressure: its connect rate is worth reporting


@dataclass(frozen=True, kw_only=True)
class Fault(Generic[P]):
    """A fault as the runner and CLI see it: a name, a parameter class, how a client runs
    (``drive``, a trio task, or ``script``, a swarm's plan; exactly one), its traits."""

    kind: str
    params: type[P]
    summary: str
    drive: Callable[[Slot, P], Awaitable[None]] | None = None
    script: Callable[[P], Script] | None = None
    traits: Traits = field(default_factory=Traits)

    def __post_init__(self) -> None:
        if (self.drive is None) == (self.script is None):
            raise ValueError("drive: a fault has exactly one of drive and script")
        # A module docstring is accepted as the summary: its first line, minus "``kind``: ".
        line = (self.summary or "").strip().split("\n")[0]
        object.__setattr__(self, "summary", line.removeprefix(f"``{self.kind}``: "))
        if not self.kind.isidentifier():
            raise ValueError(f"kind: expected an identifier, got {self.kind!r}")
        if not self.summary:
            raise ValueError("summary: a one-line description is required")

    def parse(self, params: P | None, fields: dict[str, Scalar]) -> P:
        """``params`` with ``fields`` replaced, or the fields alone; ValueError names a bad one."""
        if params is None:
            return self.params.from_dict(fields)
        if not isinstance(params, self.params):
            raise ValueError(f"params: expected {self.params.__name__}, got {params!r}")
        return self.params.from_dict({**params.to_dict(), **fields})

    def group(
        self,
        params: P,
        *,
        positions: Sequence[int],
        start: float = 0.0,
        spec: int = 0,
        first: int = 0,
    ) -> Group:
        """The clients at ``positions`` of a spec of this fault (its plan index of position 0
        is ``first``), for the engine to run."""

        def delay(position: int) -> float:
            return start + params.stagger(position)

        if self.script is not None:
            return Group(
                kind=self.kind,
                script=self.script(params),
                positions=positions,
                delay=delay,
                spec=spec,
                first=first,
            )
        fault_drive = self.drive
        assert fault_drive is not None

        async def drive(slot: Slot) -> None:
            await fault_drive(slot, params)

        return Group(
            kind=self.kind, drive=drive, positions=positions, delay=delay, spec=spec, first=first
        )

    async def alone(
        self, params: P, target: Target | str, *, positions: range, seed: int = 0
    ) -> list[ClientRecord]:
        """Run the clients at ``positions`` of a one-spec plan, with no horizon but their own."""
        endpoint = await resolve(as_target(target))
        crowd = Crowd([self.group(params, positions=positions)], endpoint, seed=seed)
        await crowd.run()
        return crowd.records()


class OneClient(Protocol[P_contra]):
    """A fault's public function: one client, outside a plan, returning its record."""

    def __call__(
        self,
        target: Target | str,
        params: P_contra | None = None,
        /,
        *,
        index: int = 0,
        seed: int = 0,
        **fields: Scalar,
    ) -> Awaitable[ClientRecord]: ...


def one_client(fault: Fault[P]) -> OneClient[P]:
    """The public function of ``fault``: ``await never_send(target, hold=2.0)``.

    Parameters come as a parameter object, as keywords (the object's fields), or both
    (keywords win). ``index`` and ``seed`` pick the client's randomness: that of the client
    at ``index`` of a one-spec plan with that seed.
    """

    async def call(
        target: Target | str,
        params: P | None = None,
        /,
        *,
        index: int = 0,
        seed: int = 0,
        **fields: Scalar,
    ) -> ClientRecord:
        chosen = fault.parse(params, fields)
        (record,) = await fault.alone(chosen, target, positions=range(index, index + 1), seed=seed)
        return record

    call.__name__ = call.__qualname__ = fault.kind
    call.__module__ = fault.params.__module__
    call.__doc__ = (
        f"{fault.summary[:1].upper()}{fault.summary[1:]}.\n\n"
        f"One client; ``params`` is a :class:`{fault.params.__name__}`, or its fields are "
        "given as keywords. See :func:`chaos.faults.base.one_client`."
    )
    return call
