"""The public surface is exactly what ``chaos.__all__`` says, and every fault is reachable."""

from __future__ import annotations

import inspect

import chaos


def test_all_names_exist_and_are_sorted_without_duplicates():
    assert len(set(chaos.__all__)) == len(chaos.__all__)
    assert chaos.__all__ == sorted(chaos.__all__, key=lambda n: (not n.isupper(), n))
    for name in chaos.__all__:
        assert getattr(chaos, name) is not None


def test_every_registered_fault_has_an_async_function_of_its_name():
    for kind in chaos.FAULTS:
        assert inspect.iscoroutinefunction(getattr(chaos, kind)), kind
        assert kind in chaos.__all__
