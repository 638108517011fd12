"""`ServerConfig`: every knob of the server, frozen and validated on construction."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

__all__ = [
    "DISPATCH_MODES",
    "HTTP_PARSERS",
    "MODELS",
    "OVERLOAD_POLICIES",
    "ServerConfig",
]

MODELS = ("pool", "iterative", "thread-per-connection")
DISPATCH_MODES = ("on-accept", "readiness")
OVERLOAD_POLICIES = ("busy", "close")
HTTP_PARSERS = ("llhttp", "h11")

# Loopback: a test server should not be reachable from the network unless asked.
DEFAULT_HOST = "127.0.0.1"
# 0 lets the kernel pick a free port; `Server.start()` returns the one bound.
DEFAULT_PORT = 0
# socketserver's 5 overflows the accept queue and makes its whole p99; 1024 still overflowed
# under a 3,000-connection flood here (bench). Linux caps it at net.core.somaxconn (4096).
DEFAULT_BACKLOG = 4096
# Enough threads to overlap a few blocking handlers on 2 cores without thrashing the GIL.
DEFAULT_WORKERS = 8
# A short queue: waiting long for a worker is worse than an explicit busy reply now.
DEFAULT_MAX_PENDING = 64
# Connections held open at once, parked ones included; below the open-file hard limit of 20,000.
DEFAULT_MAX_CONNECTIONS = 10_000
# A live client sends its next byte within seconds; nginx allows 60 s, but idle peers cost a worker.
DEFAULT_IDLE_TIMEOUT = 5.0
# Total time to receive a request from its first byte: the limit slowloris cannot trickle past.
DEFAULT_REQUEST_TIMEOUT = 10.0
# Total time to send a response: a peer that stops reading cannot pin a worker longer.
DEFAULT_WRITE_TIMEOUT = 10.0
# Longest wait for a worker before an explicit rejection; a client should not hang silently.
DEFAULT_QUEUE_TIMEOUT = 1.0
# Request heads of real clients fit in a few KiB; nginx's large header buffers total 32 KiB.
DEFAULT_MAX_REQUEST_BYTES = 64 * 1024
# Tell an overloaded client so (HTTP 503) rather than leaving it to guess from a closed socket.
DEFAULT_OVERLOAD = "busy"
# In-flight requests get this long to finish on shutdown before they are force-closed.
DEFAULT_SHUTDOWN_GRACE = 5.0
# Finished records kept for inspection; the per-reason counters never roll off.
DEFAULT_LOG_CAPACITY = 100_000
# For the pool: park idle connections in a selector (a descriptor each, not a thread); the
# other models can only dispatch on accept. Chosen by model when not given.
DEFAULT_POOL_DISPATCH = "readiness"
# llhttp (C, through httptools) reads a request head in a few microseconds where h11 (pure
# Python) takes tens: h11 was over half the server's Python time (bench/PROFILE.md). h11 stays
# as the reference the tests hold llhttp to, behaviour by behaviour.
DEFAULT_HTTP_PARSER = "llhttp"


def _positive_finite(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number of seconds, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number of seconds, got {value!r}")


def _int_in(name: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value!r}")


def _one_of(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class ServerConfig:
    """What the server enforces; see each default's constant for why it is what it is."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    backlog: int = DEFAULT_BACKLOG
    workers: int = DEFAULT_WORKERS
    max_pending: int = DEFAULT_MAX_PENDING
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    write_timeout: float = DEFAULT_WRITE_TIMEOUT
    queue_timeout: float = DEFAULT_QUEUE_TIMEOUT
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    overload: str = DEFAULT_OVERLOAD
    shutdown_grace: float = DEFAULT_SHUTDOWN_GRACE
    model: str = "pool"
    dispatch: str | None = None  # None: by model (see `dispatch_mode`)
    http_parser: str = DEFAULT_HTTP_PARSER
    log_capacity: int = DEFAULT_LOG_CAPACITY

    def __post_init__(self) -> None:
        if not isinstance(self.host, str) or not self.host:
            raise ValueError(f"host must be a non-empty string, got {self.host!r}")
        _int_in("port", self.port, 0, 65535)
        _int_in("backlog", self.backlog, 1, 65535)
        _int_in("workers", self.workers, 1, 4096)
        _int_in("max_pending", self.max_pending, 0, 1_000_000)
        _int_in("max_connections", self.max_connections, 1, 10_000_000)
        for name in ("idle_timeout", "request_timeout", "write_timeout", "queue_timeout"):
            _positive_finite(name, getattr(self, name))
        grace = self.shutdown_grace
        if isinstance(grace, bool) or not isinstance(grace, int | float):
            raise ValueError(f"shutdown_grace must be a number of seconds, got {grace!r}")
        if not math.isfinite(grace) or grace < 0:
            raise ValueError(f"shutdown_grace must be >= 0 and finite, got {grace!r}")
        _int_in("max_request_bytes", self.max_request_bytes, 1, 1 << 31)
        _one_of("overload", self.overload, OVERLOAD_POLICIES)
        _one_of("model", self.model, MODELS)
        if self.dispatch is not None:
            _one_of("dispatch", self.dispatch, DISPATCH_MODES)
        _one_of("http_parser", self.http_parser, HTTP_PARSERS)
        if self.dispatch == "readiness" and self.model != "pool":
            raise ValueError(f"dispatch 'readiness' needs model 'pool', got model {self.model!r}")
        _int_in("log_capacity", self.log_capacity, 1, 100_000_000)

    @property
    def dispatch_mode(self) -> str:
        """The dispatch in effect: as given, else readiness for the pool and on-accept otherwise.

        Kept unresolved in `dispatch`, so `dataclasses.replace(config, model=...)` stays valid.
        """
        if self.dispatch is not None:
            return self.dispatch
        return DEFAULT_POOL_DISPATCH if self.model == "pool" else "on-accept"

    @property
    def open_limit(self) -> int:
        """Most connections the pool holds open at once: on accept, each takes a worker or a
        queue place (and max_connections still caps them); with readiness, parked ones count,
        up to max_connections. Other models promise the same bound and may break it."""
        if self.dispatch_mode == "readiness":
            return self.max_connections
        return min(self.workers + self.max_pending, self.max_connections)

    def to_dict(self) -> dict[str, object]:
        """The config as JSON-safe data (for stats output and saved runs)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
