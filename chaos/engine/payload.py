"""Deterministic bytes: every random choice comes from a per-client seeded generator.

The same plan and seed therefore send the same bytes, whatever order trio schedules clients in.
"""

from __future__ import annotations

import random
import string
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from faker import Faker

__all__ = ["client_rng", "faker_text", "letters", "random_bytes"]

_LETTERS = string.ascii_letters.encode()
_faker: Faker | None = None


def client_rng(seed: int, spec: int, position: int) -> random.Random:
    """The random source of one client: a pure function of the plan seed and its place."""
    return random.Random(f"chaos:{seed}:{spec}:{position}")


def random_bytes(rng: random.Random, size: int) -> bytes:
    """``size`` arbitrary bytes (0-255) from ``rng``."""
    return rng.randbytes(size)


def letters(rng: random.Random, size: int) -> bytes:
    """``size`` ASCII letters from ``rng``: safe inside header values, targets and bodies."""
    return bytes(rng.choices(_LETTERS, k=size))


def faker_text(rng: random.Random, size: int) -> bytes:
    """``size`` bytes of plausible human text from Faker, seeded from ``rng``.

    One Faker instance is shared and re-seeded right before each synchronous use, which is
    deterministic under trio because nothing else runs between the seed and the text. Faker
    is imported on first use: it costs a process 14 MB and a tenth of a second, and most
    runs (every silent client) never need it.
    """
    global _faker
    if _faker is None:
        from faker import Faker

        _faker = Faker()
    _faker.seed_instance(rng.getrandbits(64))
    out = bytearray()
    while len(out) < size:
        out += _faker.text(max_nb_chars=max(5, min(size, 2000))).encode() + b"\n"
    return bytes(out[:size])
