"""How late this process woke while a stage ran: what excuses a timeout a starved machine
fired late."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import trio

from chaos.verify.lateness import SAMPLE, sampled, sampling

# The process is kept from its timers this long, as a machine short of CPU keeps it.
HELD = 0.2


def test_a_stage_sees_how_late_this_process_woke() -> None:
    async def main() -> float:
        async with sampled() as lateness:
            await trio.sleep(3 * SAMPLE)
            time.sleep(HELD)  # no await: the sampler cannot wake until this returns
            await trio.sleep(3 * SAMPLE)
        return lateness.worst

    # At least the hold less one sample's sleep (the hold may begin inside one).
    assert trio.run(main) >= HELD - SAMPLE


def test_a_stall_that_lasts_to_the_stages_end_is_seen() -> None:
    async def main() -> float:
        async with sampled() as lateness:
            await trio.sleep(3 * SAMPLE)  # the sampler running, asleep in a sample
            time.sleep(HELD)  # the stage ends with this stall: nothing awaits after it
        return lateness.worst

    assert trio.run(main) >= HELD - SAMPLE


@contextmanager
def gil_kept() -> Iterator[None]:
    """No other thread of this process runs in the block but for this one's blocking calls:
    the interpreter's switch interval made longer than the block."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(10 * HELD)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


def test_a_thread_held_from_running_to_the_blocks_end_is_seen() -> None:
    with sampling() as lateness:
        time.sleep(3 * SAMPLE)  # the sampler sleeping, as it is when a stall begins
        with gil_kept():
            held_until = time.monotonic() + HELD
            while time.monotonic() < held_until:
                pass  # the sampler waits for the interpreter lock meanwhile
    assert lateness.worst >= HELD - SAMPLE
