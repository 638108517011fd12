"""What a script's parts are on the wire, per protocol: the grammar of its requests, no socket.

A grammar turns a part into bytes. Every protocol has ``request`` (a whole one), ``end``
(what ends a request's head), ``next=N`` (the first N bytes of a next request's head, short
of its end), ``rest`` (the rest of that head, still short of its end), ``junk=N`` and
literals; so ``send request next=1; trickle rest every=0.2; send end next=1`` pipelines in
any protocol. HTTP adds ``line``, ``header``, ``length=N``, ``expect`` and ``body=N``, made
by h11 where h11 can make them (a whole request) and as the one line they are otherwise. A
:class:`Composer` renders the parts of one client in order: ``rest`` continues the last
``next``, and seeded randomness fills bodies and junk.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from dataclasses import dataclass

from ..engine.payload import letters, random_bytes
from ..protocols.http_messages import request, request_head
from .steps import Part, Step, expand

__all__ = ["GRAMMARS", "Composer", "Grammar", "HttpGrammar", "LineGrammar", "grammar_for"]

# Parts every grammar has.
COMMON = frozenset({"request", "end", "next", "rest", "junk", "literal"})


class Grammar(ABC):
    """One protocol's request grammar: the parts it has, and their bytes."""

    name: str
    parts: frozenset[str]

    def check(self, steps: tuple[Step, ...]) -> None:
        """ValueError naming the first part of ``steps`` this protocol does not have."""
        for step in expand(steps):
            for part in getattr(step, "parts", ()):
                if part.name not in self.parts:
                    have = ", ".join(sorted(self.parts))
                    raise ValueError(f"{part.name}: {self.name} has no such part; it has {have}")

    @abstractmethod
    def head(self, host: str) -> bytes:
        """The head of the request ``next`` and ``rest`` cut, short of its ``end``."""

    @abstractmethod
    def render(self, part: Part, host: str) -> bytes:
        """The bytes of a part that needs no state (not ``next``, ``rest``, ``body``, ``junk``)."""


def _text(value: object) -> str:
    """A part's value as text (literal bytes as latin-1, one character per byte)."""
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def _target(value: object, default: str = "GET") -> tuple[str, str]:
    """``HEAD /x`` (or ``HEAD``) as a method and a path."""
    text = default if value is None else _text(value)
    method, _, path = text.partition(" ")
    return method or default, path.strip() or "/"


class HttpGrammar(Grammar):
    """HTTP/1.1: requests made by h11 (with ``Host``), and the lines of a head one by one."""

    name = "http"
    parts = COMMON | {"line", "header", "length", "expect", "body"}
    END = b"\r\n"

    def head(self, host: str) -> bytes:
        return request(host).removesuffix(self.END)

    def render(self, part: Part, host: str) -> bytes:
        name, value = part.name, part.value
        if name == "request":
            method, path = _target(value)
            return request(host, method=method, path=path)
        if name == "line":
            method, path = _target(value)
            _, head = request_head(host, method=method, path=path)
            return head[: head.index(self.END) + len(self.END)]
        if name == "header":
            text = f"Host: {host}" if value is None else _text(value)
            return text.encode("latin-1") + self.END
        if name == "length":
            return f"Content-Length: {_text(value)}".encode() + self.END
        if name == "expect":
            return b"Expect: 100-continue" + self.END
        if name == "end":
            return self.END
        raise ValueError(f"{name}: not a part {self.name} renders alone")


@dataclass(frozen=True, eq=False)
class LineGrammar(Grammar):
    """A protocol of request lines (Redis inline commands, memcached, SMTP, raw): ``request``
    is one line and ``end`` its terminator."""

    name: str  # a field here, a class attribute in HttpGrammar
    line: bytes
    terminator: bytes = b"\r\n"
    parts: frozenset[str] = COMMON

    def head(self, host: str) -> bytes:
        return self.line

    def render(self, part: Part, host: str) -> bytes:
        if part.name == "request":
            return self.line + self.terminator
        if part.name == "end":
            return self.terminator
        raise ValueError(f"{part.name}: not a part {self.name} renders alone")


GRAMMARS: dict[str, Grammar] = {
    "http": HttpGrammar(),
    "raw": LineGrammar(name="raw", line=b"ping"),
}


def grammar_for(protocol: str) -> Grammar:
    """The grammar of ``protocol``; ValueError naming it if there is none."""
    try:
        return GRAMMARS[protocol]
    except KeyError:
        known = ", ".join(GRAMMARS)
        raise ValueError(f"protocol: no grammar for {protocol!r}; known: {known}") from None


class Composer:
    """Renders one client's parts in order: ``rest`` is what the last ``next`` left of its head."""

    def __init__(self, grammar: Grammar, host: str, rng: random.Random) -> None:
        self.grammar = grammar
        self.host = host
        self.rng = rng
        self._rest = b""

    def render(self, part: Part) -> bytes:
        """The bytes of ``part`` for this client."""
        name, value = part.name, part.value
        if name == "literal":
            assert isinstance(value, bytes)
            return value
        if name == "next":
            assert isinstance(value, int)
            head = self.grammar.head(self.host)
            self._rest = head[value:]
            return head[:value]
        if name == "rest":
            rest, self._rest = self._rest, b""
            return rest
        if name == "body":
            assert isinstance(value, int)
            return letters(self.rng, value)
        if name == "junk":
            assert isinstance(value, int)
            return random_bytes(self.rng, value)
        return self.grammar.render(part, self.host)

    def join(self, parts: tuple[Part, ...]) -> bytes:
        """The parts of one step, rendered and joined."""
        return b"".join(self.render(part) for part in parts)
