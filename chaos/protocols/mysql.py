"""MySQL and MariaDB: the server greets first with a handshake packet; read by its framing.

Every packet is a 3-byte little-endian length, a sequence number, then the payload. The
greeting's payload starts with protocol version 10; a server that turns a client away sends
an error packet (payload ``0xff``, then a 2-byte error code) in its place: 1040, "Too many
connections", past ``max_connections``. Nothing keeps a connection alive before it has
logged in, and a handshake response that announces more bytes than ever arrive is a request
that never ends (``connect_timeout`` ends it).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..jsondata import JSONObject
from .profile import Profile, Reply

__all__ = ["MYSQL", "MysqlProfile", "header", "packet"]

HEADER = 4
GREETING_PROTOCOL = 0x0A
ERROR_PACKET = 0xFF
# ER_CON_COUNT_ERROR: "Too many connections".
TOO_MANY_CONNECTIONS = 1040
# A handshake response (sequence 1) announcing this many bytes, of which a trickle sends few.
UNENDING_LENGTH = 4096


def header(length: int, sequence: int) -> bytes:
    """A packet's header: its payload's length and its sequence number."""
    return struct.pack("<I", length)[:3] + bytes([sequence])


def packet(payload: bytes, sequence: int = 0) -> bytes:
    """One packet of the MySQL wire protocol."""
    return header(len(payload), sequence) + payload


@dataclass(frozen=True, kw_only=True)
class MysqlProfile(Profile):
    """MySQL's first packet read: a greeting is good, error 1040 a rejection, another error
    packet another answer."""

    def probe(self, host: str) -> bytes:
        return b""

    def keepalive(self, host: str) -> bytes | None:
        return None

    def read(self, head: bytes, *, closed: bool = False) -> Reply:
        if not head:
            return Reply.NONE
        if len(head) <= HEADER:
            return Reply.OTHER if closed else Reply.PARTIAL
        kind = head[HEADER]
        if kind == ERROR_PACKET:
            if len(head) < HEADER + 3:
                return Reply.OTHER if closed else Reply.PARTIAL
            code = int.from_bytes(head[HEADER + 1 : HEADER + 3], "little")
            return Reply.REJECTION if code == TOO_MANY_CONNECTIONS else Reply.OTHER
        if kind != GREETING_PROTOCOL:
            return Reply.OTHER
        if len(head) < self.greeting_size(head):
            return Reply.OTHER if closed else Reply.PARTIAL
        return Reply.GOOD

    @staticmethod
    def greeting_size(head: bytes) -> int:
        """The first packet's whole size, header included, as its header says."""
        return HEADER + int.from_bytes(head[:3], "little")

    def greeting(self, head: bytes) -> int:
        return self.greeting_size(head) if self.read(head) is Reply.GOOD else 0

    def describe(self) -> JSONObject:
        return {
            **self._common(),
            "greeting": f"a packet of protocol {GREETING_PROTOCOL}",
            "rejections": [f"error packet {TOO_MANY_CONNECTIONS} (Too many connections)"],
        }


MYSQL = MysqlProfile(
    name="mysql",
    summary="MySQL / MariaDB: the server's handshake packet; error 1040 turns a client away",
    speaks_first=True,
    unending=header(UNENDING_LENGTH, 1),
)
