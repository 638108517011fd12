"""The step language of scripted clients: what to send, when, and how to read, as one line.

A script is steps separated by ``;`` (or newlines); a step is a name and its arguments::

    send request next=1; trickle rest header every=0.2; send end next=1; repeat 3 last=2

Steps: ``send PART...`` (one write of the parts, so they share a packet), ``trickle PART...
every=S [size=N]`` (their bytes N at a time, one piece every S seconds, the first at once),
``pause S``, ``read N`` (wait for N more bytes, reading them even when not reading
otherwise), ``reply`` (wait for the next whole response), ``read-slowly size=N every=S``,
``stop-reading``, ``shut`` (our FIN, still reading), ``reset`` (an RST), ``close`` (a FIN,
and the client is done) and ``repeat N [last=M]`` (the M steps before it, default all, N
more times). After the last step the client keeps reading until the server ends the
connection or the hold runs out.

Parts name pieces of the protocol's request grammar (``request``, ``line``, ``header``,
``length=N``, ``expect``, ``end``, ``body=N``, ``next=N`` the first N bytes of a next
request, ``rest`` the rest of it, ``junk=N`` random bytes; which a protocol has is its
grammar's, see :mod:`chaos.script.grammar`) or are literal bytes in double quotes, with
``\\r``, ``\\n``, ``\\t``, ``\\\\``, ``\\"`` and ``\\xNN`` escapes. :func:`parse_steps` and
:func:`format_steps` round-trip: the text is what a plan stores, so a script replays exactly.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

__all__ = [
    "MAX_PAUSE",
    "MAX_STEPS",
    "PART_NAMES",
    "Close",
    "Part",
    "Pause",
    "Read",
    "ReadSlowly",
    "Repeat",
    "Reply",
    "Reset",
    "Send",
    "Shut",
    "Step",
    "StopReading",
    "Trickle",
    "expand",
    "format_steps",
    "parse_steps",
]

# A pause longer than an hour is a mistake, not a script (a plan's horizon is at most one).
MAX_PAUSE = 3600.0
# Steps a script may expand to once its repeats are unrolled: bounds the work of one client.
MAX_STEPS = 10_000
# Every part a script may name, and whether it takes a value: a count (int), text, or none.
# Whether the target's protocol has it is the grammar's to say.
PART_NAMES: dict[str, type | None] = {
    "request": str,
    "line": str,
    "header": str,
    "length": int,
    "expect": None,
    "end": None,
    "body": int,
    "next": int,
    "rest": None,
    "junk": int,
    "literal": bytes,
}
# Parts whose value may be left out (the grammar's default).
_OPTIONAL = frozenset({"request", "line", "header"})
# Largest count a part may take: a 16 MiB body is the toolkit's largest answer, too.
MAX_COUNT = 16 * 1024 * 1024

_ESCAPES = {"r": "\r", "n": "\n", "t": "\t", "\\": "\\", '"': '"'}
_TOKEN = re.compile(
    r'[ \t\r]*(?:(?P<sep>[;\n])|(?P<word>[^\s;="]+)(?P<eq>=)?|(?P<quoted>"(?:[^"\\\n]|\\.)*"))'
)
_BARE = re.compile(r"[^\s;=\"]+")


@dataclass(frozen=True, slots=True)
class Part:
    """One piece of a request: a grammar part by name (with its value, if any), or literal
    bytes (``name == "literal"``)."""

    name: str
    value: str | int | bytes | None = None

    def __post_init__(self) -> None:
        if self.name not in PART_NAMES:
            raise ValueError(f"part: unknown part {self.name!r}; known: {', '.join(PART_NAMES)}")
        kind = PART_NAMES[self.name]
        if self.value is None:
            if kind is not None and self.name not in _OPTIONAL:
                raise ValueError(f"{self.name}: needs a value ({self.name}=...)")
            return
        if kind is None:
            raise ValueError(f"{self.name}: takes no value")
        if kind is int:
            if isinstance(self.value, bool) or not isinstance(self.value, int):
                raise ValueError(f"{self.name}: expected a count, got {self.value!r}")
            least = 1 if self.name in ("next", "junk") else 0
            if not least <= self.value <= MAX_COUNT:
                raise ValueError(f"{self.name}: must be {least}..{MAX_COUNT}, got {self.value}")
        elif not isinstance(self.value, kind):
            raise ValueError(f"{self.name}: expected {kind.__name__}, got {self.value!r}")

    def __str__(self) -> str:
        if self.name == "literal":
            assert isinstance(self.value, bytes)
            return _quote(self.value.decode("latin-1"))
        if self.value is None:
            return self.name
        return f"{self.name}={_word(str(self.value))}"


def _num(value: float) -> str:
    """Seconds as short text that reads back as the same float."""
    text = f"{value:g}"
    return text if float(text) == value else repr(float(value))


def _seconds(name: str, value: float, *, positive: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name}: expected seconds, got {value!r}")
    if value < 0 or (positive and value == 0) or value > MAX_PAUSE:
        wanted = "> 0" if positive else ">= 0"
        raise ValueError(f"{name}: must be {wanted} and at most {MAX_PAUSE:g}, got {value!r}")


def _count(name: str, value: int, least: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= MAX_STEPS:
        raise ValueError(f"{name}: expected an integer {least}..{MAX_STEPS}, got {value!r}")


def _parts(name: str, parts: tuple[Part, ...]) -> None:
    if not parts or not all(isinstance(p, Part) for p in parts):
        raise ValueError(f"{name}: needs at least one part to send")


@dataclass(frozen=True, slots=True)
class Send:
    """The parts in one write: they leave together, in one packet as far as the kernel can."""

    parts: tuple[Part, ...]

    def __post_init__(self) -> None:
        _parts("send", self.parts)

    def __str__(self) -> str:
        return "send " + " ".join(map(str, self.parts))


@dataclass(frozen=True, slots=True)
class Trickle:
    """The parts' bytes ``size`` at a time, one piece every ``every`` seconds (first at once)."""

    parts: tuple[Part, ...]
    every: float
    size: int = 1

    def __post_init__(self) -> None:
        _parts("trickle", self.parts)
        _seconds("every", self.every)
        _count("size", self.size)

    def __str__(self) -> str:
        size = f" size={self.size}" if self.size != 1 else ""
        return f"trickle {' '.join(map(str, self.parts))} every={_num(self.every)}{size}"


@dataclass(frozen=True, slots=True)
class Pause:
    seconds: float

    def __post_init__(self) -> None:
        _seconds("pause", self.seconds)

    def __str__(self) -> str:
        return f"pause {_num(self.seconds)}"


@dataclass(frozen=True, slots=True)
class Read:
    """Wait until ``count`` more bytes have arrived, reading them even if otherwise not reading."""

    count: int

    def __post_init__(self) -> None:
        if isinstance(self.count, bool) or not isinstance(self.count, int):
            raise ValueError(f"read: expected a byte count, got {self.count!r}")
        if not 1 <= self.count <= MAX_COUNT:
            raise ValueError(f"read: must be 1..{MAX_COUNT} bytes, got {self.count}")

    def __str__(self) -> str:
        return f"read {self.count}"


@dataclass(frozen=True, slots=True)
class Reply:
    """Wait until one more response has arrived whole."""

    def __str__(self) -> str:
        return "reply"


@dataclass(frozen=True, slots=True)
class ReadSlowly:
    """From now on read ``size`` bytes every ``every`` seconds."""

    size: int
    every: float

    def __post_init__(self) -> None:
        _count("size", self.size)
        _seconds("every", self.every, positive=True)

    def __str__(self) -> str:
        return f"read-slowly size={self.size} every={_num(self.every)}"


@dataclass(frozen=True, slots=True)
class StopReading:
    """From now on read nothing: the server's sends fill the socket buffers, then block."""

    def __str__(self) -> str:
        return "stop-reading"


@dataclass(frozen=True, slots=True)
class Shut:
    """Shut our sending side (a FIN); we keep reading."""

    def __str__(self) -> str:
        return "shut"


@dataclass(frozen=True, slots=True)
class Reset:
    """Abort the connection with an RST; the script ends."""

    def __str__(self) -> str:
        return "reset"


@dataclass(frozen=True, slots=True)
class Close:
    """Close the connection (a FIN); the script ends."""

    def __str__(self) -> str:
        return "close"


@dataclass(frozen=True, slots=True)
class Repeat:
    """Run the ``last`` steps before this one (None: all of them) ``times`` more times."""

    times: int
    last: int | None = None

    def __post_init__(self) -> None:
        _count("repeat", self.times)
        if self.last is not None:
            _count("last", self.last)

    def __str__(self) -> str:
        return f"repeat {self.times}" + ("" if self.last is None else f" last={self.last}")


Step = (
    Send | Trickle | Pause | Read | Reply | ReadSlowly | StopReading | Shut | Reset | Close | Repeat
)
_SIMPLE: dict[str, Callable[[], Step]] = {
    "reply": Reply,
    "stop-reading": StopReading,
    "shut": Shut,
    "reset": Reset,
    "close": Close,
}


def expand(steps: Sequence[Step]) -> Iterator[Step]:
    """The steps in the order they run, every ``repeat`` unrolled (none of them left)."""
    done: list[Step] = []
    for step in steps:
        if isinstance(step, Repeat):
            body = done if step.last is None else done[-step.last :]
            if step.last is not None and step.last > len(done):
                raise ValueError(f"repeat: last={step.last}, but only {len(done)} steps before it")
            body = list(body)
            for _ in range(step.times):
                done.extend(body)
                yield from body
        else:
            done.append(step)
            yield step
        if len(done) > MAX_STEPS:
            raise ValueError(f"a script may run at most {MAX_STEPS} steps")


def format_steps(steps: Sequence[Step]) -> str:
    """The text :func:`parse_steps` reads back into ``steps``."""
    return "; ".join(str(step) for step in steps)


# --- parsing ---------------------------------------------------------------------------------


def _quote(text: str) -> str:
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\r":
            out.append("\\r")
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif " " <= char <= "~":
            out.append(char)
        else:
            out.append(f"\\x{ord(char):02x}")
    return '"' + "".join(out) + '"'


def _word(text: str) -> str:
    """``text`` bare when it can stand alone, else quoted."""
    return text if _BARE.fullmatch(text) else _quote(text)


def _unquote(token: str) -> str:
    body, out, i = token[1:-1], [], 0
    while i < len(body):
        char = body[i]
        if char != "\\":
            out.append(char)
            i += 1
            continue
        code = body[i + 1]
        if code in _ESCAPES:
            out.append(_ESCAPES[code])
            i += 2
        elif code == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", body[i + 2 : i + 4]):
            out.append(chr(int(body[i + 2 : i + 4], 16)))
            i += 4
        else:
            raise ValueError(f"bad escape \\{code} in {token}")
    text = "".join(out)
    if any(ord(c) > 0xFF for c in text):
        raise ValueError(f"{token} is not latin-1 text (one character per byte)")
    return text


@dataclass(frozen=True, slots=True)
class _Arg:
    """One argument as written: a bare word or quoted text, with a ``name=`` before it or not."""

    name: str | None
    text: str
    quoted: bool


def _tokens(text: str) -> Iterator[tuple[str, list[_Arg]]]:
    """Each step as its name and its arguments; ValueError at the first thing it cannot read."""
    name: str | None = None
    args: list[_Arg] = []
    pending: str | None = None  # a name= waiting for its value
    position = 0
    while text[position:].strip():
        match = _TOKEN.match(text, position)
        if match is None:
            raise ValueError(f"cannot read {text[position:].strip()[:20]!r}")
        position = match.end()
        separator, word, equals, quoted = match.group("sep", "word", "eq", "quoted")
        if pending is not None:
            if separator or equals:
                raise ValueError(f"{pending}= has no value")
            args.append(_Arg(pending, _unquote(quoted) if quoted else word, bool(quoted)))
            pending = None
        elif separator:
            if name is not None:
                yield name, args
            name, args = None, []
        elif name is None:
            if not word or equals:
                raise ValueError(f"a step starts with its name, not {match.group().strip()!r}")
            name = word
        elif equals:
            pending = word
        else:
            args.append(_Arg(None, _unquote(quoted) if quoted else word, bool(quoted)))
    if pending is not None:
        raise ValueError(f"{pending}= has no value")
    if name is not None:
        yield name, args


def _number(step: str, arg: _Arg) -> float:
    try:
        value = float(arg.text)
    except ValueError:
        raise ValueError(f"{step}: expected seconds, got {arg.text!r}") from None
    return value


def _integer(step: str, arg: _Arg) -> int:
    if arg.quoted or not re.fullmatch(r"\d+", arg.text):
        raise ValueError(f"{step}: expected a whole number, got {arg.text!r}")
    return int(arg.text)


def _part(arg: _Arg) -> Part:
    if arg.name is None:
        if arg.quoted:
            return Part("literal", arg.text.encode("latin-1"))
        return Part(arg.text)
    kind = PART_NAMES.get(arg.name)
    if arg.name not in PART_NAMES or arg.name == "literal":
        raise ValueError(f"part: unknown part {arg.name!r}; known: {', '.join(PART_NAMES)}")
    if kind is int:
        return Part(arg.name, _integer(arg.name, arg))
    if kind is None:
        raise ValueError(f"{arg.name}: takes no value")
    return Part(arg.name, arg.text)


def _options(
    step: str, args: list[_Arg], allowed: tuple[str, ...], *, others: bool = False
) -> dict[str, _Arg]:
    """The ``name=`` options of a step; ``others``: other names are parts, not mistakes."""
    found: dict[str, _Arg] = {}
    for arg in args:
        if arg.name is None or (others and arg.name not in allowed):
            continue
        if arg.name not in allowed:
            raise ValueError(f"{step}: unknown option {arg.name}=")
        if arg.name in found:
            raise ValueError(f"{step}: {arg.name}= given twice")
        found[arg.name] = arg
    return found


def _one_value(step: str, args: list[_Arg]) -> _Arg:
    plain = [a for a in args if a.name is None]
    if len(plain) != 1:
        raise ValueError(f"{step}: expected one value, got {len(plain)}")
    return plain[0]


def _step(name: str, args: list[_Arg]) -> Step:
    if name in _SIMPLE:
        if args:
            raise ValueError(f"{name}: takes no arguments")
        return _SIMPLE[name]()
    if name == "send":
        return Send(tuple(_part(a) for a in args))
    if name == "trickle":
        options = _options(name, args, ("every", "size"), others=True)
        if "every" not in options:
            raise ValueError("trickle: needs every=SECONDS")
        size = _integer("size", options["size"]) if "size" in options else 1
        parts = tuple(_part(a) for a in args if a.name is None or a.name not in options)
        return Trickle(parts, _number("every", options["every"]), size)
    if name == "pause":
        return Pause(_number(name, _one_value(name, args)))
    if name == "read":
        return Read(_integer(name, _one_value(name, args)))
    if name == "read-slowly":
        options = _options(name, args, ("size", "every"))
        if set(options) != {"size", "every"} or len(args) != 2:
            raise ValueError("read-slowly: needs size=BYTES every=SECONDS")
        return ReadSlowly(_integer("size", options["size"]), _number("every", options["every"]))
    if name == "repeat":
        options = _options(name, args, ("last",))
        times = _integer(name, _one_value(name, [a for a in args if a.name is None]))
        last = _integer("last", options["last"]) if "last" in options else None
        return Repeat(times, last)
    known = ", ".join(("send", "trickle", "pause", "read", "read-slowly", "repeat", *_SIMPLE))
    raise ValueError(f"unknown step {name!r}; known: {known}")


def parse_steps(text: str) -> tuple[Step, ...]:
    """The steps ``text`` describes; ValueError names the step or part that is wrong."""
    if not isinstance(text, str):
        raise ValueError(f"expected text, got {text!r}")
    steps = tuple(_step(name, args) for name, args in _tokens(text))
    for _ in expand(steps):  # a repeat reaching before the start, or too many steps: refused
        pass
    return steps
