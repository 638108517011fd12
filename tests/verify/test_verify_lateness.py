"""How late this process woke while a stage ran: what excuses a timeout a starved machine
fired late."""

from __future__ import annotations

import time

import trio

from chaos.verify.lateness import SAMPLE, sampled

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
