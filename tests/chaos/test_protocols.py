"""Protocol profiles are pure functions over bytes: each read checked here without a socket,
and the first reply bytes they read shown to reach a record from a real connection."""

from __future__ import annotations

import struct

import pytest
import trio

from chaos.faults import never_send
from chaos.protocols import (
    HTTP,
    MEMCACHED,
    MYSQL,
    NAMES,
    POSTGRES,
    PROFILES,
    RAW,
    REDIS,
    SMTP,
    SSH,
    Reply,
    custom_profile,
    escaped,
    get_profile,
    profile_named,
    startup_packet,
)
from chaos.protocols.mysql import packet
from chaos.record import REPLY_HEAD, ClientRecord, Outcome

BUSY = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\nConnection: close\r\n\r\nbusy\n"
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world"
# PostgreSQL's ErrorResponse for too many clients: 'E', its length, then fields.
TOO_MANY = b"SFATAL\x00VFATAL\x00C53300\x00Msorry, too many clients already\x00\x00"
PG_REJECT = b"E" + struct.pack("!i", len(TOO_MANY) + 4) + TOO_MANY
# Trusted, then refused: authentication OK, then FATAL 3D000 for a database it does not have.
NO_DB = b'SFATAL\x00VFATAL\x00C3D000\x00Mdatabase "x" does not exist\x00\x00'
PG_AUTH_OK = b"R\x00\x00\x00\x08\x00\x00\x00\x00"
PG_NO_DB = PG_AUTH_OK + b"E" + struct.pack("!i", len(NO_DB) + 4) + NO_DB
SSH_BANNER = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10\r\n"
# MariaDB's greeting: protocol 10, its version, a thread id, the scramble's first part...
MYSQL_GREETING = packet(b"\x0a5.5.5-10.11.19-MariaDB\x00\x03\x00\x00\x00f!m&q)u6\x00\xfe\xf7")
# ...and its error packets: 1040 past max_connections, 1129 a host blocked.
MYSQL_TOO_MANY = packet(b"\xff\x10\x04Too many connections")
MYSQL_BLOCKED = packet(b"\xff\x69\x04Host '127.0.0.1' is blocked")


@pytest.mark.parametrize(
    ("profile", "head", "reply"),
    [
        (HTTP, OK, Reply.GOOD),
        (HTTP, BUSY, Reply.REJECTION),
        (HTTP, b"HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\n\r\n", Reply.REJECTION),
        (HTTP, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", Reply.GOOD),
        (HTTP, b"HTTP/1.1 503 Serv", Reply.PARTIAL),
        (HTTP, b"", Reply.NONE),
        (REDIS, b"+PONG\r\n", Reply.GOOD),
        (REDIS, b"-ERR max number of clients reached\r\n", Reply.REJECTION),
        (REDIS, b"-ERR unknown command 'x'\r\n", Reply.OTHER),
        (REDIS, b"+PO", Reply.PARTIAL),
        (MEMCACHED, b"VERSION 1.6.18\r\n", Reply.GOOD),
        (MEMCACHED, b"ERROR Too many open connections\r\n", Reply.REJECTION),
        (POSTGRES, PG_AUTH_OK, Reply.GOOD),
        (POSTGRES, PG_REJECT, Reply.REJECTION),
        (POSTGRES, PG_NO_DB, Reply.OTHER),
        (SMTP, b"220 mail.example ESMTP ready\r\n", Reply.GOOD),
        (SMTP, b"421 4.3.2 too many connections\r\n", Reply.REJECTION),
        (SSH, SSH_BANNER, Reply.GOOD),
        (SSH, b"a notice first\r\n" + SSH_BANNER, Reply.GOOD),
        (SSH, b"Exceeded MaxStartups\r\n", Reply.REJECTION),
        (SSH, b"SSH-2.0-Open", Reply.PARTIAL),
        (MYSQL, MYSQL_GREETING, Reply.GOOD),
        (MYSQL, MYSQL_GREETING[:-3], Reply.PARTIAL),
        (MYSQL, MYSQL_TOO_MANY, Reply.REJECTION),
        (MYSQL, MYSQL_BLOCKED, Reply.OTHER),
        (MYSQL, b"\x05\x00\x00\x00\x01", Reply.OTHER),
        (MYSQL, b"\x05\x00", Reply.PARTIAL),
        (RAW, b"x", Reply.GOOD),
    ],
)
def test_each_profile_reads_its_good_answer_and_its_rejection(profile, head, reply):
    assert profile.read(head) is reply


def test_a_partial_answer_is_decided_by_the_close():
    assert REDIS.read(b"+PO") is Reply.PARTIAL
    assert REDIS.read(b"+PO", closed=True) is Reply.OTHER
    assert HTTP.read(b"HTTP/1.1 2", closed=True) is Reply.OTHER
    assert MYSQL.read(MYSQL_GREETING[:-1], closed=True) is Reply.OTHER


def test_a_greeting_is_told_from_what_follows_it():
    # What a server that speaks first says to everyone is no answer to what a client sent.
    after = b"Invalid SSH identification string.\r\n"
    assert SSH.greeting(SSH_BANNER + after) == len(SSH_BANNER)
    assert MYSQL.greeting(MYSQL_GREETING + MYSQL_BLOCKED) == len(MYSQL_GREETING)
    assert MYSQL.greeting(MYSQL_TOO_MANY) == 0 and SSH.greeting(b"Exceeded MaxStartups\r\n") == 0
    assert SMTP.greeting(b"220 mx ready\r\n250 ok\r\n") == len(b"220 mx ready\r\n")
    # A banner's pattern need only match its start: the greeting is its whole line.
    own = custom_profile("", match="^SSH-", speaks_first=True)
    assert own.greeting(SSH_BANNER + after) == len(SSH_BANNER)
    assert own.greeting(b"SSH-2.0-half a ban") == len(b"SSH-2.0-half a ban")
    assert RAW.greeting(SSH_BANNER) == 0 and not RAW.speaks_first
    # The trickled request of each: an identification line, a handshake announcing 4 KiB.
    assert SSH.unending == b"SSH-2.0-chaos" and b"\n" not in SSH.unending
    assert MYSQL.unending == b"\x00\x10\x00\x01"


def test_messages_are_framed_per_protocol():
    assert HTTP.probe("h:1").startswith(b"GET / HTTP/1.1\r\nHost: h:1\r\n")
    assert b"Connection: close" in HTTP.probe("h:1")
    assert b"Connection" not in HTTP.keepalive("h:1")
    assert REDIS.probe("h:1") == b"PING\r\n" and REDIS.keepalive("h:1") == b"PING\r\n"
    assert SMTP.probe("h:1") == b"" and SMTP.speaks_first
    assert POSTGRES.keepalive("h:1") is None and RAW.keepalive("h:1") is None
    assert SSH.probe("h:1") == MYSQL.probe("h:1") == b"" and SSH.speaks_first
    assert SSH.keepalive("h:1") is None and MYSQL.keepalive("h:1") is None
    packet = startup_packet("u", "d")
    assert struct.unpack("!ii", packet[:8]) == (len(packet), 196608)
    assert packet[8:] == b"user\x00u\x00database\x00d\x00\x00"
    assert POSTGRES.probe("h:1") == startup_packet()
    assert HTTP.large("h:1", "/big") is not None and REDIS.large("h:1", "/big") is None


def test_a_users_own_protocol_and_its_bad_input():
    own = custom_profile("HELLO\r\n", match=r"OK\b", reject=r"BUSY")
    assert own.read(b"OK there") is Reply.GOOD
    assert own.read(b"BUSY, later") is Reply.REJECTION
    assert own.keepalive("h:1") == b"HELLO\r\n"
    with pytest.raises(ValueError, match="send: a custom protocol needs"):
        custom_profile("")
    # A server that speaks first: its greeting is the good answer, the message a keep-alive.
    ftp = custom_profile("NOOP\r\n", match="220", reject="421", speaks_first=True)
    assert ftp.probe("h:1") == b"" and ftp.keepalive("h:1") == b"NOOP\r\n"
    assert ftp.read(b"220 ready\r\n") is Reply.GOOD and ftp.read(b"421 busy") is Reply.REJECTION
    assert custom_profile("", match="^SSH-", speaks_first=True).keepalive("h:1") is None
    with pytest.raises(ValueError, match="match: a server that speaks first needs"):
        custom_profile("NOOP\r\n", speaks_first=True)
    with pytest.raises(ValueError, match="speaks_first: only the custom protocol"):
        profile_named("ssh", speaks_first=True)
    with pytest.raises(ValueError, match="match: not a regular expression"):
        custom_profile("x", match="(")
    with pytest.raises(ValueError, match="reject: only the custom protocol"):
        profile_named("redis", reject="x")
    with pytest.raises(ValueError, match="protocol: unknown protocol 'gopher'"):
        get_profile("gopher")
    assert set(NAMES) == {*PROFILES, "custom"}


def test_command_line_text_reads_its_escapes():
    assert escaped(r"PING\r\n") == "PING\r\n"
    assert escaped(r"\x00\xff") == "\x00\xff"
    with pytest.raises(ValueError, match="bad escape"):
        escaped("\\x4")


def test_a_rejection_needs_the_reply_or_a_refused_connect():
    base = dict(kind="never_send", index=0, local_port=40000, started=1.0)
    busy = ClientRecord(
        **base,
        connected=1.0,
        server_eof=9.0,
        outcome=Outcome.CLOSED_BY_SERVER,
        reply_head=BUSY.decode("latin-1"),
    )
    idle = ClientRecord(**base, connected=1.0, server_eof=6.0, outcome=Outcome.CLOSED_BY_SERVER)
    refused = ClientRecord(**base, outcome=Outcome.REFUSED)
    assert HTTP.rejected(busy) and HTTP.rejected(refused)
    assert not HTTP.rejected(idle) and not REDIS.rejected(busy)
    assert ClientRecord.from_json(busy.to_json()) == busy
    with pytest.raises(ValueError, match="reply_head"):
        ClientRecord(**base, outcome=Outcome.HELD_TO_END, reply_head="x" * (REPLY_HEAD + 1))


def test_a_connection_keeps_the_first_reply_bytes(serve):
    def busy(conn) -> None:
        conn.sock.sendall(BUSY * 20)

    server = serve(busy)
    record = trio.run(lambda: never_send(server.target, hold=2.0))
    assert record.outcome is Outcome.CLOSED_BY_SERVER
    assert record.reply == (BUSY * 20)[:REPLY_HEAD]
    assert HTTP.rejected(record)
