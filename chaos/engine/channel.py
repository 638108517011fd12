"""What a run and its shard processes tell each other, over the child's stdin and stdout.

Each message is one of the small dataclasses below, pickled and prefixed by its length. Both
ends are this package, started from the same interpreter, so pickle is safe here and carries
the records back far cheaper than JSON. The end of the child's stdin is the run going away:
a shard stops at once when it sees it, whatever it was doing.
"""

from __future__ import annotations

import pickle
import struct
from dataclasses import dataclass

import trio

from ..jsondata import JSONObject
from ..record import ClientRecord
from .segment import Segment

__all__ = ["Channel", "Done", "Failed", "Go", "Job", "Message", "Ready", "Tick"]

_HEADER = struct.Struct("!I")
_CHUNK = 65536


@dataclass(frozen=True, slots=True)
class Job:
    """Run ``segment`` of the plan (as JSON: every shard rebuilds and checks it) at ``target``."""

    plan: JSONObject
    target: str
    segment: Segment
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Ready:
    """The shard resolved the target, raised its limits and placed its clients."""

    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Failed:
    """The shard could not run its job; ``limit`` when a limit of the machine was the cause."""

    message: str
    limit: bool = False


@dataclass(frozen=True, slots=True)
class Go:
    """Start the plan's clock at ``start`` (``time.monotonic()``, the same host-wide)."""

    start: float


@dataclass(frozen=True, slots=True)
class Tick:
    """A shard's progress: clients started, sockets open, clients ended, of ``total``."""

    started: int
    open: int
    done: int
    total: int


@dataclass(frozen=True, slots=True)
class Done:
    """A shard's records and what else its result needs."""

    records: tuple[ClientRecord, ...]
    not_started: int
    ended: float
    notes: tuple[str, ...] = ()


Message = Job | Ready | Failed | Go | Tick | Done


class Channel:
    """Length-prefixed pickled messages over a pair of trio streams."""

    def __init__(
        self, send: trio.abc.SendStream | None, receive: trio.abc.ReceiveStream | None
    ) -> None:
        self._send = send
        self._receive = receive
        self._buffer = bytearray()

    async def send(self, message: Message) -> None:
        assert self._send is not None
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        await self._send.send_all(_HEADER.pack(len(data)) + data)

    async def receive(self) -> Message | None:
        """The next message, or None when the other end closed its side."""
        assert self._receive is not None
        while True:
            want = _CHUNK
            if len(self._buffer) >= _HEADER.size:
                (size,) = _HEADER.unpack_from(self._buffer)
                end = _HEADER.size + size
                if len(self._buffer) >= end:
                    data = bytes(self._buffer[_HEADER.size : end])
                    del self._buffer[:end]
                    message: Message = pickle.loads(data)
                    return message
                want = max(want, end - len(self._buffer))
            chunk = await self._receive.receive_some(want)
            if not chunk:
                return None
            self._buffer += chunk
