"""Pattern (compass) search: poll the one-knob neighbors of a center, move to the best.

Why: kernel run time is mostly smooth in each knob (block size x2 is a small change), so a
local search from the default walks downhill in few evaluations. When a center beats all of
its neighbors, the search restarts from a fresh random config to escape the local optimum.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from kcompiler.autotune.space import ConfigSpace
from kcompiler.autotune.strategies.base import SearchStrategy, register_strategy
from kcompiler.config import Config


@register_strategy("pattern")
class PatternSearch(SearchStrategy):
    """Coordinate moves from the current center; random restarts at local optima."""

    def __init__(
        self, space: ConfigSpace, rng: random.Random | None = None, budget: int | None = None
    ) -> None:
        super().__init__(space, rng, budget)
        self._center: Config | None = None
        self._poll: list[Config] = []  # the center's neighbors (known ones included)
        self._exhausted = False

    def _propose(self, n: int) -> Iterable[Config]:
        out: list[Config] = []
        while len(out) < n and not self._exhausted:
            todo = [
                c
                for c in (self._center, *self._poll)
                if c is not None and not self.is_known(c) and c not in out
            ]
            if todo:
                out.extend(todo[: n - len(out)])
                continue
            if out or self.in_flight:
                break  # wait for the whole poll before deciding where to go
            self._step()
        return out

    def _step(self) -> None:
        """Every config of the current poll is measured: move, or restart."""
        if self._center is None:  # from the best of the default and the starts
            best = self.best()
            self._set_center(best[0] if best is not None else self.space.default())
            return
        center_time = self.time_of(self._center)
        better = min(self._poll, key=self.time_of, default=None)
        if better is not None and self.time_of(better) < center_time:
            self._set_center(better)
            return
        restart = self.fresh_samples(1)
        if not restart:
            self._exhausted = True
            return
        self._set_center(restart[0])

    def _set_center(self, config: Config) -> None:
        self._center = config
        self._poll = self.space.neighbors(config)
