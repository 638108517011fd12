"""Everything a measurement needs: sizes, pinning, the process registry and the contenders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .contenders import Contender
from .procs import Children, Pinning
from .sizes import Sizes

__all__ = ["Context"]


@dataclass(frozen=True, kw_only=True)
class Context:
    """One benchmark run's shared state; `say` prints progress to stderr."""

    sizes: Sizes
    pinning: Pinning
    children: Children
    contenders: list[Contender]  # the ones that can run here
    absent: dict[str, str]  # name -> why it cannot
    use_wrk: bool
    quick: bool
    say: Callable[[str], None] = field(default=print)

    def find(self, name: str) -> Contender | None:
        return next((c for c in self.contenders if c.name == name), None)
