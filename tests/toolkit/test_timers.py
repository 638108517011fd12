from __future__ import annotations

import random

from toolkit.timers import TimerHeap


def test_due_keys_come_out_in_deadline_order() -> None:
    timers = TimerHeap()
    for key, deadline in [("c", 3.0), ("a", 1.0), ("b", 2.0)]:
        timers.arm(key, deadline)
    assert timers.next_deadline() == 1.0
    assert timers.pop_due(2.5) == ["a", "b"]
    assert timers.pop_due(2.9) == []
    assert len(timers) == 1


def test_rearm_and_cancel_replace_the_old_deadline() -> None:
    timers = TimerHeap()
    timers.arm("x", 1.0)
    timers.arm("x", 5.0)
    timers.arm("y", 2.0)
    timers.cancel("y")
    assert timers.next_deadline() == 5.0
    assert timers.pop_due(4.0) == []
    assert timers.pop_due(5.0) == ["x"]
    assert timers.next_deadline() is None


def test_matches_a_brute_force_model_and_stays_compact() -> None:
    rng = random.Random(7)
    timers = TimerHeap()
    model: dict[int, float] = {}
    clock = 0.0
    for _ in range(20_000):
        key = rng.randrange(200)
        action = rng.random()
        if action < 0.7:
            deadline = clock + rng.random()
            timers.arm(key, deadline)
            model[key] = deadline
        elif action < 0.8:
            timers.cancel(key)
            model.pop(key, None)
        else:
            clock += rng.random() * 0.1
            due = timers.pop_due(clock)
            expected = sorted((d, k) for k, d in model.items() if d <= clock)
            assert sorted(due) == sorted(k for _, k in expected)
            for k in due:
                del model[k]
        assert len(timers) == len(model)
    assert len(timers._heap) <= 2 * len(model) + 1024 + 1
