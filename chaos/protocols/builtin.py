"""The protocols chaos speaks out of the box, and a user's own from three strings.

Each rejection is the one the server documents (and, for Redis and memcached, sends here, see
ANCHORS): Redis ``-ERR max number of clients reached``, memcached ``ERROR Too many open
connections``, PostgreSQL's ErrorResponse with SQLSTATE 53300 ("too many clients"), MySQL's
error 1040 (:mod:`.mysql`), SMTP's 421, OpenSSH's ``Exceeded MaxStartups``.
"""

from __future__ import annotations

import codecs
import re
import struct
from typing import Protocol

from .mysql import MYSQL
from .profile import HttpProfile, PatternProfile, Profile

__all__ = [
    "CUSTOM",
    "HTTP",
    "MEMCACHED",
    "MYSQL",
    "NAMES",
    "POSTGRES",
    "PROFILES",
    "RAW",
    "REDIS",
    "SMTP",
    "SSH",
    "ProtocolChoice",
    "chosen_profile",
    "custom_profile",
    "escaped",
    "get_profile",
    "profile_named",
    "startup_packet",
]

# nginx closed a keep-alive connection after 100 requests until 1.19.10 (keepalive_requests).
HTTP_KEEPALIVE_LIMIT = 100
# Exim drops a client after 10 commands that are not mail (smtp_accept_max_nonmail).
SMTP_KEEPALIVE_LIMIT = 8
# PostgreSQL's wire protocol 3.0, as the startup packet states it.
POSTGRES_PROTOCOL = 196608
# What a raw probe sends when nothing else is said: an echo or line server answers it.
RAW_REQUEST = b"ping\r\n"
# How late past its setting each server's idle timeout fires, as measured here. Redis visits
# every client about once a second against a clock in whole seconds (server.unixtime): a
# timeout of N closes between N and N + 2 s. memcached sweeps its connections in a thread
# that sleeps N + 1 s after a sweep that found no other connection, then takes a second to
# walk them all, against a clock in whole seconds too: N + 0.9 to N + 2.9 s measured, up to
# N + 3 and the clock's rounding by that account.
REDIS_LATE = 2.0
MEMCACHED_LATE = 3.5
CUSTOM = "custom"


def startup_packet(user: str = "postgres", database: str = "postgres") -> bytes:
    """A PostgreSQL StartupMessage (protocol 3.0) for ``user`` and ``database``. The default
    names are the ones initdb makes in a packaged or container install: where clients are
    trusted, a session opens and holds a connection slot; where a password is asked for, the
    server asks whether or not the role exists, and the slot is held until
    ``authentication_timeout``. A name the server does not know ends in a FATAL error instead,
    which holds nothing."""
    body = struct.pack("!i", POSTGRES_PROTOCOL)
    for key, value in (("user", user), ("database", database)):
        body += key.encode() + b"\0" + value.encode() + b"\0"
    body += b"\0"
    return struct.pack("!i", len(body) + 4) + body


HTTP = HttpProfile(name="http", summary="HTTP/1.1", keepalive_limit=HTTP_KEEPALIVE_LIMIT)
REDIS = PatternProfile(
    name="redis",
    summary="Redis (inline commands): PING answers +PONG",
    request=b"PING\r\n",
    good=re.compile(rb"\+PONG\r\n"),
    rejections=(re.compile(rb"-ERR max number of clients reached"),),
    keepalive_message=b"PING\r\n",
    timer_granularity=REDIS_LATE,
)
MEMCACHED = PatternProfile(
    name="memcached",
    summary="memcached (text protocol): version answers VERSION x.y.z",
    request=b"version\r\n",
    good=re.compile(rb"VERSION [^\r\n]*\r\n"),
    rejections=(re.compile(rb"ERROR Too many open connections"),),
    keepalive_message=b"version\r\n",
    timer_granularity=MEMCACHED_LATE,
)
POSTGRES = PatternProfile(
    name="postgres",
    summary="PostgreSQL: the startup packet answers an authentication request",
    hello=startup_packet(),
    request=b"",
    # 'R', its length and the authentication code: the server wants (or waives) a password.
    good=re.compile(rb"R[\s\S]{8}"),
    # FATAL 53300, "sorry, too many clients already".
    rejections=(re.compile(rb"E[\s\S]{4}[\s\S]*?C53300\x00"),),
    # Any other FATAL ErrorResponse (severity field first), even after the authentication
    # answer: an unknown database or role, a refused host.
    errors=(re.compile(rb"E[\s\S]{4}SFATAL\x00"),),
    terminator=None,
    # Nothing may be sent before authentication completes: no keep-alive message.
    keepalive_message=None,
    # A startup packet announcing 4 KiB that never all arrive.
    unending=struct.pack("!i", 4096),
)
SMTP = PatternProfile(
    name="smtp",
    summary="SMTP: the server's 220 banner; NOOP keeps a session alive",
    request=b"",
    good=re.compile(rb"220[ -][^\r\n]*\r\n"),
    rejections=(re.compile(rb"421[ -]"),),
    keepalive_message=b"NOOP\r\n",
    keepalive_limit=SMTP_KEEPALIVE_LIMIT,
    speaks_first=True,
)
SSH = PatternProfile(
    name="ssh",
    summary="SSH: the server's identification line (SSH-2.0-...); nothing keeps a session "
    "alive before it logs in",
    request=b"",
    # RFC 4253: other lines may come before the identification line; it is the greeting's end.
    good=re.compile(rb"(?:(?!SSH-)[^\n]*\n)*SSH-[^\r\n]*\r?\n"),
    # OpenSSH past MaxStartups (start:rate:full drops at random from start, all from full).
    rejections=(re.compile(rb"Exceeded MaxStartups"),),
    speaks_first=True,
    # Our identification line that never ends: the server's LoginGraceTime cuts it.
    unending=b"SSH-2.0-chaos",
)
RAW = PatternProfile(
    name="raw",
    summary="any TCP server: a probe sends ping and any answer is good; no rejection is known",
    request=RAW_REQUEST,
    good=re.compile(rb"[\s\S]"),
    terminator=None,
)
PROFILES: dict[str, Profile] = {
    p.name: p for p in (HTTP, REDIS, MEMCACHED, POSTGRES, MYSQL, SMTP, SSH, RAW)
}
# Every name a --protocol flag takes: the built-in profiles and a user's own.
NAMES = (*PROFILES, CUSTOM)


def get_profile(name: str) -> Profile:
    """The built-in profile called ``name``; ValueError naming it otherwise."""
    try:
        return PROFILES[name]
    except (KeyError, TypeError):
        known = ", ".join(PROFILES)
        raise ValueError(f"protocol: unknown protocol {name!r}; known: {known}") from None


def _pattern(field: str, text: str) -> re.Pattern[bytes]:
    try:
        return re.compile(text.encode("latin-1"))
    except (re.error, UnicodeEncodeError) as exc:
        raise ValueError(f"{field}: not a regular expression over bytes: {exc}") from None


def custom_profile(
    send: str, match: str = "", reject: str = "", *, speaks_first: bool = False
) -> PatternProfile:
    """A user's own protocol: ``send`` (latin-1 text, one character per byte) is the probe and
    the keep-alive; a good answer starts with ``match`` (any byte if empty), a rejection with
    ``reject`` (none if empty). A server that ``speaks_first`` (an SSH, FTP or IMAP banner) is
    probed by reading its greeting, which ``match`` describes; ``send``, if any, keeps a
    session alive. ValueError names a bad field."""
    if speaks_first and not match:
        raise ValueError("match: a server that speaks first needs its greeting's pattern")
    if not send and not speaks_first:
        raise ValueError("send: a custom protocol needs the bytes a probe sends")
    try:
        message = send.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError("send: expected latin-1 text (one character per byte)") from None
    greets = f"greets with {match!r}" + (f", kept alive with {send!r}" if send else "")
    return PatternProfile(
        name=CUSTOM,
        summary=f"custom: {greets}" if speaks_first else f"custom: sends {send!r}",
        request=b"" if speaks_first else message,
        good=_pattern("match", match or r"[\s\S]"),
        rejections=(_pattern("reject", reject),) if reject else (),
        terminator=None,
        keepalive_message=message or None,
        speaks_first=speaks_first,
    )


def profile_named(
    name: str, *, send: str = "", match: str = "", reject: str = "", speaks_first: bool = False
) -> Profile:
    """The profile a ``--protocol`` names: a built-in one, or ``custom`` made of the three
    strings and whether the server speaks first (which only ``custom`` takes). ValueError
    names what is wrong."""
    if name == CUSTOM:
        return custom_profile(send, match, reject, speaks_first=speaks_first)
    own = (("send", send), ("match", match), ("reject", reject), ("speaks_first", speaks_first))
    given = [field for field, value in own if value]
    if given:
        raise ValueError(f"{given[0]}: only the custom protocol takes its own message and patterns")
    return get_profile(name)


class ProtocolChoice(Protocol):
    """Settings that name a protocol: a built-in one, or ``custom`` and its own fields."""

    @property
    def protocol(self) -> str: ...
    @property
    def send(self) -> str: ...
    @property
    def match(self) -> str: ...
    @property
    def reject(self) -> str: ...
    @property
    def speaks_first(self) -> bool: ...


def chosen_profile(choice: ProtocolChoice) -> Profile:
    """The profile ``choice`` names (:func:`profile_named` of its fields)."""
    return profile_named(
        choice.protocol,
        send=choice.send,
        match=choice.match,
        reject=choice.reject,
        speaks_first=choice.speaks_first,
    )


def escaped(text: str) -> str:
    """Command-line text with backslash escapes read (``PING\\r\\n``), one character per byte.

    ValueError for a broken escape, so a flag parsed by it reports the value.
    """
    try:
        data = codecs.escape_decode(text.encode("latin-1", "backslashreplace"))[0]
    except ValueError as exc:
        raise ValueError(f"bad escape in {text!r}: {exc}") from None
    assert isinstance(data, bytes)
    return data.decode("latin-1")
