"""Real servers nobody here wrote, with the settings a test or a measurement asks for.

nginx (its configuration written by `nginx.py`), redis-server, memcached, PostgreSQL, MariaDB,
OpenSSH's sshd and vsftpd, as Debian installs them, and waitress, gunicorn and cheroot from PyPI,
serving the benchmark's WSGI hello app from their own command lines: each a `Daemon` whose
command line is made from a scratch directory and a port. `launched` starts one through
`Children` (in its own process group, always stopped) and waits until it listens, as the
benchmark starts its contenders.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import resource
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .nginx import WORKER_CONNECTIONS, write_config
from .procs import Children
from .serve import HOST, START_TIMEOUT, free_port, wait_listening

__all__ = [
    "Daemon",
    "aiosmtpd",
    "cheroot",
    "gunicorn",
    "gunicorn_sync",
    "launched",
    "mariadb",
    "memcached",
    "nginx",
    "postgres",
    "redis",
    "sshd",
    "vsftpd",
    "waitress",
]


@dataclass(frozen=True, kw_only=True)
class Daemon:
    """A server program, its command line for (scratch directory, port), what it was told."""

    name: str
    program: str
    argv: Callable[[Path, int], list[str]]
    settings: dict[str, object] = field(default_factory=dict)
    # Why it cannot run here beyond a missing program (a user it must run as), or None.
    unable: Callable[[], str | None] = lambda: None

    def absent(self) -> str | None:
        """Why it cannot run here (not installed), or None."""
        if not shutil.which(self.program):
            return f"{self.program} is not installed"
        return self.unable()


def nginx(
    *,
    client_header_timeout: float | None = None,
    keepalive_timeout: float | None = None,
    worker_connections: int = WORKER_CONNECTIONS,
    write_timeout: float | None = None,
    large: tuple[str, int] | None = None,
) -> Daemon:
    """nginx, one worker answering `hello world`, with these settings (None: nginx's own);
    `write_timeout` and `large` as `write_config` takes them."""

    def argv(scratch: Path, port: int) -> list[str]:
        nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        conf = write_config(
            scratch,
            port,
            nofile=nofile,
            client_header_timeout=client_header_timeout,
            keepalive_timeout=keepalive_timeout,
            worker_connections=worker_connections,
            write_timeout=write_timeout,
            large=large,
        )
        return ["nginx", "-p", str(scratch), "-c", str(conf), "-e", str(scratch / "error.log")]

    settings = {
        "client_header_timeout": client_header_timeout,
        "keepalive_timeout": keepalive_timeout,
        "worker_connections": worker_connections,
        "send_timeout": write_timeout,
    }
    return Daemon(name="nginx", program="nginx", argv=argv, settings=settings)


def redis(*, timeout: int | None = None, maxclients: int | None = None) -> Daemon:
    """redis-server with no persistence; `timeout` closes idle clients (whole seconds),
    `maxclients` turns the one past it away with `-ERR max number of clients reached`."""

    def argv(scratch: Path, port: int) -> list[str]:
        cmd = ["redis-server", "--port", str(port), "--bind", HOST, "--dir", str(scratch)]
        cmd += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
        cmd += ["--logfile", str(scratch / "redis.log")]
        if timeout is not None:
            cmd += ["--timeout", str(timeout)]
        if maxclients is not None:
            cmd += ["--maxclients", str(maxclients)]
        return cmd

    settings = {"timeout": timeout, "maxclients": maxclients}
    return Daemon(name="redis", program="redis-server", argv=argv, settings=settings)


def memcached(*, idle_timeout: int | None = None) -> Daemon:
    """memcached on TCP only; `idle_timeout` closes idle clients (whole seconds). Its `-c`
    is not a hard limit (ANCHORS), so none is offered."""

    def argv(scratch: Path, port: int) -> list[str]:
        cmd = ["memcached", "-l", HOST, "-p", str(port), "-U", "0", "-m", "16"]
        if os.geteuid() == 0:  # it refuses to run as root without naming a user
            cmd += ["-u", "nobody"]
        if idle_timeout is not None:
            cmd += ["-o", f"idle_timeout={idle_timeout}"]
        return cmd

    settings = {"idle_timeout": idle_timeout}
    return Daemon(name="memcached", program="memcached", argv=argv, settings=settings)


def _postgres_bin() -> Path | None:
    """The newest PostgreSQL server's bin directory (Debian keeps it off PATH), or None."""
    found = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/postgres")]
    return max(
        found, key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0, default=None
    )


def _postgres_user() -> str | None:
    """Why PostgreSQL cannot run here: it refuses root, so root needs a `postgres` user."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "PostgreSQL refuses to run as root and there is no postgres user"
    return None


def postgres(*, authentication_timeout: int, max_connections: int) -> Daemon:
    """A fresh PostgreSQL cluster (initdb: superuser and database `postgres`, every loopback
    client trusted, no fsync), listening on loopback only. `authentication_timeout` cuts a
    client that has not completed its startup; past `max_connections` a new one is answered
    FATAL 53300. Run as the `postgres` user when we are root."""
    bindir = _postgres_bin()

    def argv(scratch: Path, port: int) -> list[str]:
        assert bindir is not None
        data = scratch / "data"
        server = f"-p {port} -c listen_addresses={HOST} -k {scratch} -c fsync=off"
        server += f" -c authentication_timeout={authentication_timeout}"
        server += f" -c max_connections={max_connections}"
        script = f"{bindir}/initdb -D {data} -U postgres -A trust >{scratch}/initdb.log 2>&1"
        script += f" && exec {bindir}/postgres -D {data} {server}"
        if os.geteuid() != 0:
            return ["sh", "-c", script]
        # The postgres user must reach its scratch directory: traverse (not list) the parent.
        scratch.parent.chmod(0o711)
        shutil.chown(scratch, "postgres")
        return ["runuser", "-u", "postgres", "--", "sh", "-c", script]

    settings = {
        "authentication_timeout": authentication_timeout,
        "max_connections": max_connections,
    }
    program = "postgres" if bindir is None else str(bindir / "postgres")
    return Daemon(
        name="postgres", program=program, argv=argv, settings=settings, unable=_postgres_user
    )


def _as_root(program: str) -> Callable[[], str | None]:
    """Why `program` cannot run here: it runs as root (sshd's privilege separation, MariaDB's
    system tables made for the user who runs it)."""

    def unable() -> str | None:
        return None if os.geteuid() == 0 else f"{program} runs as root here, and we are not root"

    return unable


def mariadb(*, connect_timeout: int, max_connections: int) -> Daemon:
    """A fresh MariaDB (mariadb-install-db, then mariadbd as root), listening on loopback
    only. `connect_timeout` cuts a client silent after the greeting (it bounds each read of
    the handshake, not the whole); past `max_connections` + 1 (one more is kept for an
    administrator, and an anonymous client takes it before logging in) a new client is
    answered error 1040, "Too many connections"."""

    def argv(scratch: Path, port: int) -> list[str]:
        data = scratch / "data"
        # Its accounts for 127.0.0.1 too (not only localhost's socket): else a client over
        # TCP is refused before the greeting (error 1130, host not allowed).
        install = f"mariadb-install-db --user=root --datadir={data} --skip-test-db"
        install += " --auth-root-authentication-method=normal"
        server = f"mariadbd --user=root --datadir={data} --port={port} --bind-address={HOST}"
        server += f" --socket={scratch}/mysqld.sock --pid-file={scratch}/mysqld.pid"
        server += f" --skip-name-resolve --log-error={scratch}/error.log"
        server += f" --connect-timeout={connect_timeout} --max-connections={max_connections}"
        script = f"{install} >{scratch}/install.log 2>&1 && exec {server}"
        return ["sh", "-c", script]

    settings = {"connect_timeout": connect_timeout, "max_connections": max_connections}
    return Daemon(
        name="mariadb",
        program="mariadbd",
        argv=argv,
        settings=settings,
        unable=_as_root("mariadbd"),
    )


def sshd(*, login_grace_time: int, max_startups: str) -> Daemon:
    """OpenSSH's sshd with a fresh host key and no other configuration, on loopback only.
    `login_grace_time` cuts a client that has not logged in; `max_startups` (`N`, or
    `start:rate:full`, which drops at random from start) answers a client past it `Exceeded
    MaxStartups` and closes."""

    def argv(scratch: Path, port: int) -> list[str]:
        key = scratch / "host_key"
        keygen = f"ssh-keygen -q -t ed25519 -N '' -f {key}"
        options = f"-o ListenAddress={HOST} -o LoginGraceTime={login_grace_time}"
        options += f" -o MaxStartups={max_startups} -o PidFile=none"
        server = f"$(command -v sshd) -D -e -f /dev/null -p {port} -h {key} {options}"
        # Its privilege separation directory, which a packaged sshd's service would make.
        script = f"mkdir -p /run/sshd && {keygen} && exec {server}"
        return ["sh", "-c", script]

    settings = {"login_grace_time": login_grace_time, "max_startups": max_startups}
    return Daemon(
        name="sshd", program="sshd", argv=argv, settings=settings, unable=_as_root("sshd")
    )


def vsftpd(*, idle_session_timeout: int, max_clients: int) -> Daemon:
    """vsftpd on loopback, anonymous logins only (an empty read-only root): it greets with
    220; `idle_session_timeout` cuts a session silent that long (logged in or not, saying
    `421 Timeout.`); past `max_clients` a new client is told `421 There are too many
    connected users` and closed."""

    def argv(scratch: Path, port: int) -> list[str]:
        root, empty = scratch / "root", scratch / "empty"
        for directory in (root, empty):
            directory.mkdir()
            directory.chmod(0o555)  # vsftpd refuses a writable anonymous root
        lines = [
            "listen=YES",
            "listen_ipv6=NO",
            f"listen_address={HOST}",
            f"listen_port={port}",
            "background=NO",
            "anonymous_enable=YES",
            "no_anon_password=YES",
            f"anon_root={root}",
            "local_enable=NO",
            f"secure_chroot_dir={empty}",
            "seccomp_sandbox=NO",
            f"idle_session_timeout={idle_session_timeout}",
            f"max_clients={max_clients}",
        ]
        conf = scratch / "vsftpd.conf"
        conf.write_text("\n".join(lines) + "\n")
        return ["vsftpd", str(conf)]

    settings = {"idle_session_timeout": idle_session_timeout, "max_clients": max_clients}
    return Daemon(
        name="vsftpd", program="vsftpd", argv=argv, settings=settings, unable=_as_root("vsftpd")
    )


def _from_pypi(
    name: str, argv: Callable[[Path, int], list[str]], settings: dict[str, object]
) -> Daemon:
    """A server installed from PyPI and run as ``python -m name``."""

    def unable() -> str | None:
        return None if importlib.util.find_spec(name) else f"{name} is not installed"

    return Daemon(name=name, program=sys.executable, argv=argv, settings=settings, unable=unable)


def waitress(*, connection_limit: int) -> Daemon:
    """waitress (`waitress-serve`), its 4 threads. Once its open sockets reach
    `connection_limit` it stops accepting, and its own listener and wake-up pipe count among
    them: it holds two clients fewer."""

    def argv(scratch: Path, port: int) -> list[str]:
        cmd = [sys.executable, "-m", "waitress", f"--host={HOST}", f"--port={port}"]
        return [*cmd, f"--connection-limit={connection_limit}", "bench.apps.wsgi_hello:app"]

    return _from_pypi("waitress", argv, {"connection_limit": connection_limit})


def gunicorn(*, worker_connections: int, threads: int = 4) -> Daemon:
    """gunicorn, one `gthread` worker of `threads` threads; with `worker_connections` open it
    stops accepting."""
    options = ["-k", "gthread", "-w", "1", "--threads", str(threads)]
    options += ["--worker-connections", str(worker_connections)]
    return _gunicorn(options, {"worker_connections": worker_connections, "threads": threads})


def gunicorn_sync(*, workers: int, timeout: int) -> Daemon:
    """gunicorn, `workers` `sync` workers: each serves one connection, closing it after its
    answer (no keep-alive), and one that has not answered within `timeout` seconds (a client
    silent or trickling) is killed by the arbiter, which writes the client a 500."""
    options = ["-k", "sync", "-w", str(workers), "--timeout", str(timeout)]
    return _gunicorn(options, {"workers": workers, "timeout": timeout})


def _gunicorn(options: list[str], settings: dict[str, object]) -> Daemon:
    """gunicorn with the worker `options` given, serving the hello app on loopback."""

    def argv(scratch: Path, port: int) -> list[str]:
        cmd = [sys.executable, "-m", "gunicorn", *options, "-b", f"{HOST}:{port}"]
        return [*cmd, "--log-level", "warning", "bench.apps.wsgi_hello:app"]

    return _from_pypi("gunicorn", argv, settings)


def cheroot(*, timeout: float) -> Daemon:
    """cheroot's WSGI server, 10 threads, `timeout` its socket timeout: a client silent that
    long is cut (a 408 if it sent nothing). It limits no connections, only those it keeps
    alive: with 10 open, it answers a keep-alive request saying it closes."""

    def argv(scratch: Path, port: int) -> list[str]:
        app = [sys.executable, "-m", "bench.apps.cheroot_hello", "--port", str(port)]
        return [*app, "--idle-timeout", str(timeout)]

    return _from_pypi("cheroot", argv, {"timeout": timeout})


def aiosmtpd(*, timeout: float) -> Daemon:
    """aiosmtpd's SMTP server, its `timeout` the seconds it waits for each command line."""

    def argv(scratch: Path, port: int) -> list[str]:
        app = [sys.executable, "-m", "bench.apps.smtp_sink", "--port", str(port)]
        return [*app, "--idle-timeout", str(timeout)]

    return _from_pypi("aiosmtpd", argv, {"timeout": timeout})


@contextmanager
def launched(
    children: Children, daemon: Daemon, *, cores: frozenset[int] | None = None
) -> Iterator[tuple[str, int]]:
    """Start `daemon` on a free loopback port; yields (host, port) once it listens, and stops
    it however the block ends."""
    port = free_port()
    scratch = children.scratch(daemon.name)
    child = children.start(daemon.argv(scratch, port), cores=cores, name=daemon.name)
    try:
        wait_listening(child, (HOST, port), START_TIMEOUT)
        yield HOST, port
    finally:
        child.stop()
