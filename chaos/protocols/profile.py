"""What a protocol profile is: how to probe a server, keep a connection alive, and read a reply.

A profile is data and pure functions over bytes (no socket): the probe and keep-alive messages
it sends, and :meth:`Profile.read`, which classifies the first bytes a server sent as a good
answer, a rejection ("too many clients"), another answer, or not yet a whole one. Records keep
those first bytes (:attr:`~chaos.record.ClientRecord.reply_head`), so every judgement made from
a profile can be made again from a saved result.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum

from ..jsondata import JSONObject
from ..record import ClientRecord, Outcome
from .http_messages import ResponseReader, request

__all__ = ["CLOSE", "HttpProfile", "PatternProfile", "Profile", "Reply"]

CLOSE = (("Connection", "close"),)
# HTTP statuses that turn a client away rather than answer it: Too Many Requests, and 5xx (a
# busy 503 from toolkit, nginx's limit_conn, waitress or any load balancer).
TOO_MANY_REQUESTS = 429
SERVER_ERROR = 500


class Reply(StrEnum):
    """What the first bytes of a server's reply are."""

    NONE = "none"  # nothing arrived
    PARTIAL = "partial"  # some bytes, not yet a whole answer
    GOOD = "good"  # the answer a working server gives the probe or keep-alive
    REJECTION = "rejection"  # the server turning the client away: busy, too many clients
    OTHER = "other"  # another whole answer: an error, an unexpected line


@dataclass(frozen=True, kw_only=True)
class Profile(ABC):
    """What chaos needs to know of one protocol to probe it, hold it and read its rejections.

    ``hello`` is sent once right after connecting (PostgreSQL's startup packet); a keep-alive
    message may be sent at most ``keepalive_limit`` times on one connection (None: no limit);
    ``timer_granularity`` is how late past its setting the server's idle timeout may fire
    (Redis and memcached check idle clients now and then against clocks in whole seconds: a
    timeout of N closes up to 2 or 3.5 s late); ``speaks_first`` servers greet before the
    client says anything (SMTP's banner); ``unending`` starts a request that never ends (the
    request deadline's trickle continues it one letter at a time).
    """

    name: str
    summary: str
    hello: bytes = b""
    keepalive_limit: int | None = None
    timer_granularity: float = 0.0
    speaks_first: bool = False
    unending: bytes = b""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"name: expected a profile name, got {self.name!r}")
        if self.keepalive_limit is not None and self.keepalive_limit < 1:
            raise ValueError(f"keepalive_limit: expected >= 1 or None, got {self.keepalive_limit}")
        if self.timer_granularity < 0:
            raise ValueError(f"timer_granularity: must be >= 0, got {self.timer_granularity}")

    @abstractmethod
    def probe(self, host: str) -> bytes:
        """Everything a probe sends on a fresh connection (``hello`` included)."""

    @abstractmethod
    def keepalive(self, host: str) -> bytes | None:
        """A message that keeps an open connection alive, or None when the protocol has none."""

    def large(self, host: str, path: str) -> bytes | None:
        """A request for a response larger than the socket buffers, if the protocol has one."""
        return None

    @abstractmethod
    def read(self, head: bytes, *, closed: bool = False) -> Reply:
        """Classify the first bytes of a reply; ``closed``: no more will come."""

    @abstractmethod
    def describe(self) -> JSONObject:
        """What the profile sends and expects, as JSON (for reports and saved runs)."""

    def greeting(self, head: bytes) -> int:
        """How many of a reply's first bytes are the greeting a server that speaks first sends
        every client before it is asked anything (SMTP's 220 banner): no answer to what the
        client sent. 0 for a server that does not speak first."""
        return 0

    def announces_close(self, head: bytes) -> bool:
        """Whether a good reply says the server closes the connection after it (HTTP's
        ``Connection: close``): a keep-alive refused, not a connection cut."""
        return False

    def advertised_idle(self, head: bytes) -> float | None:
        """The seconds a reply says the server keeps the connection open idle after it (HTTP's
        ``Keep-Alive: timeout=N``), or None."""
        return None

    def rejected(self, record: ClientRecord) -> bool:
        """True when the server turned this connection away: a refused connect, or a first
        reply that reads as a rejection (``-ERR max number of clients reached``, a 503)."""
        if record.outcome is Outcome.REFUSED:
            return True
        return self.read(record.reply) is Reply.REJECTION

    def _common(self) -> JSONObject:
        return {
            "name": self.name,
            "summary": self.summary,
            "hello": self.hello.decode("latin-1"),
            "keepalive_limit": self.keepalive_limit,
            "timer_granularity": self.timer_granularity,
            "speaks_first": self.speaks_first,
        }


def _matches(patterns: tuple[re.Pattern[bytes], ...], head: bytes) -> bool:
    return any(p.match(head) for p in patterns)


@dataclass(frozen=True, kw_only=True)
class PatternProfile(Profile):
    """A protocol read by patterns on the first reply bytes: Redis, memcached, SMTP, raw, ...

    ``request`` is what a probe sends after ``hello`` (empty for a server that speaks first);
    a reply starting with a ``good`` match is a good answer, one starting with a ``rejections``
    match a rejection; with a ``terminator`` (a line end), a whole line matching neither is
    another answer. An ``errors`` match anywhere in a reply that is not a rejection makes it
    another answer too (PostgreSQL's authentication answer followed by a FATAL error: the
    server refused this client, not a good start).
    """

    request: bytes
    good: re.Pattern[bytes]
    rejections: tuple[re.Pattern[bytes], ...] = ()
    errors: tuple[re.Pattern[bytes], ...] = ()
    terminator: bytes | None = b"\r\n"
    keepalive_message: bytes | None = None

    def probe(self, host: str) -> bytes:
        return self.hello + self.request

    def keepalive(self, host: str) -> bytes | None:
        return self.keepalive_message

    def read(self, head: bytes, *, closed: bool = False) -> Reply:
        if not head:
            return Reply.NONE
        if _matches(self.rejections, head):
            return Reply.REJECTION
        if any(p.search(head) for p in self.errors):
            return Reply.OTHER
        if self.good.match(head):
            return Reply.GOOD
        if closed or (self.terminator is not None and self.terminator in head):
            return Reply.OTHER
        return Reply.PARTIAL

    def greeting(self, head: bytes) -> int:
        # A speaker-first server's good answer is its greeting (SMTP: the probe sends nothing),
        # a line: what the pattern matched runs on to its line's end (``^SSH-`` is a banner).
        found = self.good.match(head) if self.speaks_first else None
        if found is None:
            return 0
        end = head.find(b"\n", max(found.end() - 1, 0))
        return len(head) if end < 0 else end + 1

    def describe(self) -> JSONObject:
        return {
            **self._common(),
            "request": self.request.decode("latin-1"),
            "good": self.good.pattern.decode("latin-1"),
            "rejections": [p.pattern.decode("latin-1") for p in self.rejections],
            "errors": [p.pattern.decode("latin-1") for p in self.errors],
            "keepalive": None
            if self.keepalive_message is None
            else self.keepalive_message.decode("latin-1"),
        }


@dataclass(frozen=True, kw_only=True)
class HttpProfile(Profile):
    """HTTP/1.1 through h11: a probe is ``GET path`` with ``Connection: close``, a keep-alive a
    complete keep-alive ``GET``; 429 and 5xx are rejections, any other status a good answer."""

    path: str = "/"

    def probe(self, host: str) -> bytes:
        return request(host, path=self.path, headers=CLOSE)

    def keepalive(self, host: str) -> bytes:
        return request(host, path=self.path)

    def large(self, host: str, path: str) -> bytes:
        return request(host, path=path)

    def read(self, head: bytes, *, closed: bool = False) -> Reply:
        if not head:
            return Reply.NONE
        reader = ResponseReader()
        reader.feed(head)
        if reader.status is None:
            return Reply.OTHER if closed or reader.error is not None else Reply.PARTIAL
        if reader.status == TOO_MANY_REQUESTS or reader.status >= SERVER_ERROR:
            return Reply.REJECTION
        return Reply.GOOD

    def announces_close(self, head: bytes) -> bool:
        if b"close" not in head.lower() and not head.startswith(b"HTTP/1.0"):
            return False  # no need to parse the head again: most replies keep the connection
        reader = ResponseReader()
        reader.feed(head)
        return reader.closing

    def advertised_idle(self, head: bytes) -> float | None:
        if b"keep-alive:" not in head.lower():
            return None
        reader = ResponseReader()
        reader.feed(head)
        return reader.keep_alive

    def describe(self) -> JSONObject:
        return {**self._common(), "path": self.path, "rejections": ["429", "5xx"]}
