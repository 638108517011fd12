"""A stateful attack: rules open faulty clients, send probes and let time pass, and the
server's invariants are checked after every step. A failing schedule shrinks to a minimal one."""

from __future__ import annotations

import socket
import time

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from chaos.testing.bounds import Bounds
from toolkit import Server, ServerConfig

HEAD = b"GET / HTTP/1.1\r\nHost: x\r\n"
STUCK = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"
MAX_CLIENTS = 12
# A probe gets a complete answer (served, or an explicit 503) within this, or the acceptor hung.
PROBE_BOUND = 0.5


class ServerUnderAttack(RuleBasedStateMachine):
    dispatch = "readiness"
    model = "pool"
    idle_timeout = 0.08

    def __init__(self) -> None:
        super().__init__()
        self.config = ServerConfig(
            idle_timeout=self.idle_timeout,
            request_timeout=0.2,
            write_timeout=0.1,
            queue_timeout=0.1,
            workers=2,
            max_pending=2,
            shutdown_grace=0.02,
            dispatch=self.dispatch,
            model=self.model,
        )
        self.expect = Bounds.from_config(self.config)
        self.server = Server(self.config)
        self.server.start()
        self.clients: list[socket.socket] = []
        self.tricklers: list[socket.socket] = []

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(self.server.address, timeout=2.0)
        self.clients.append(sock)
        return sock

    @precondition(lambda self: len(self.clients) < MAX_CLIENTS)
    @rule()
    def open_silent_client(self) -> None:
        self._connect()

    @precondition(lambda self: len(self.clients) < MAX_CLIENTS)
    @rule()
    def open_trickler(self) -> None:
        sock = self._connect()
        sock.sendall(HEAD)
        self.tricklers.append(sock)

    @precondition(lambda self: len(self.clients) < MAX_CLIENTS)
    @rule()
    def open_stuck_request(self) -> None:
        self._connect().sendall(STUCK)  # a whole head, a body that never comes: pins a worker

    @rule()
    def trickle_a_byte(self) -> None:
        for sock in self.tricklers:
            try:
                sock.send(b"X")
            except OSError:
                pass  # the server cut it: that is its job

    @rule()
    def probe(self) -> None:
        started = time.monotonic()
        with socket.create_connection(self.server.address, timeout=2.0) as sock:
            sock.sendall(HEAD + b"Connection: close\r\n\r\n")
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
        took = time.monotonic() - started
        assert answer.startswith((b"HTTP/1.1 200", b"HTTP/1.1 503")), answer
        assert took < PROBE_BOUND, f"probe took {took:.3f}s: the acceptor or the pool hung"

    @rule(seconds=st.sampled_from([0.01, 0.05, 0.12]))
    def let_time_pass(self, seconds: float) -> None:
        # A bounded wait on the server's log: it wakes early on nothing, so time really passes.
        self.server.log.wait_for(lambda s: False, seconds)

    @precondition(lambda self: self.clients)
    @rule()
    def close_oldest_client(self) -> None:
        sock = self.clients.pop(0)
        if sock in self.tricklers:
            self.tricklers.remove(sock)
        sock.close()

    @invariant()
    def pool_limits_hold(self) -> None:
        stats = self.server.stats()
        assert stats.max_busy <= self.config.workers
        assert stats.max_pending <= self.config.max_pending
        assert self.expect.max_open is not None and stats.max_open <= self.expect.max_open

    @invariant()
    def no_connection_outlives_its_deadline(self) -> None:
        now = time.monotonic()
        tol, cfg = self.expect.tolerance, self.config
        for record in self.server.log.records():
            if record.closed is not None:
                continue
            if record.first_byte is None:
                age, bound = now - record.accepted, max(cfg.idle_timeout, cfg.queue_timeout)
            else:
                age, bound = now - record.first_byte, cfg.request_timeout + cfg.write_timeout
            assert age <= bound + tol, f"connection {record.id} alive {age:.3f}s > {bound}s"

    @invariant()
    def every_connection_is_accounted_for(self) -> None:
        stats = self.server.stats()
        live = sum(1 for r in self.server.log.records() if r.closed is None)
        assert stats.accepted == stats.closed + live
        assert sum(stats.reasons.values()) == stats.closed
        assert stats.duplicate_closes == 0 and stats.handler_errors == 0

    def teardown(self) -> None:
        for sock in self.clients:
            sock.close()
        self.server.shutdown()
        assert self.server.threads() == []


class OnAcceptServerUnderAttack(ServerUnderAttack):
    dispatch = "on-accept"


# Each step may wait up to ~0.1 s: a dozen steps per run keeps a run well under two seconds.
ServerUnderAttack.TestCase.settings = settings(stateful_step_count=12)
OnAcceptServerUnderAttack.TestCase.settings = settings(stateful_step_count=12)
TestReadinessServerUnderAttack = ServerUnderAttack.TestCase
TestOnAcceptServerUnderAttack = OnAcceptServerUnderAttack.TestCase


class ThreadPerConnectionUnderAttack(OnAcceptServerUnderAttack):
    """Deterministic on purpose: nothing times out, and each connect waits until a thread serves
    it, so a replay of a failing schedule fails the same way (no FlakyStrategyDefinition)."""

    model = "thread-per-connection"
    idle_timeout = 5.0

    def _connect(self) -> socket.socket:
        sock = super()._connect()
        self._settle()
        return sock

    def _settle(self) -> None:
        """Wait until the server holds exactly our clients, each on a busy thread."""
        held = len(self.clients)
        assert self.server.log.wait_for(lambda s: s.open == held and s.busy == held, 5.0)

    @rule()
    def probe(self) -> None:
        super().probe()
        self._settle()  # the probe's thread has ended before the next step

    @precondition(lambda self: self.clients)
    @rule()
    def close_oldest_client(self) -> None:
        super().close_oldest_client()
        self._settle()

    @invariant()
    def no_connection_outlives_its_deadline(self) -> None:
        """Not judged here: this machine holds connections open on purpose."""


def test_the_machine_catches_a_server_that_breaks_the_pool_bound() -> None:
    with pytest.raises(AssertionError, match="max_busy"):
        run_state_machine_as_test(
            ThreadPerConnectionUnderAttack,
            settings=settings(
                max_examples=30,
                stateful_step_count=12,
                derandomize=True,
                database=None,
                deadline=None,
            ),
        )
