"""Differential evolution over the space's continuous encoding.

Why DE: it needs no gradient and handles mixed integer/categorical knobs through the
encoding, and its population keeps several basins alive. Unlike the run in the Helion log,
every trial vector is decoded (and repaired) to a valid config, and a trial that decodes to
a config already measured is redrawn instead of being measured again.

Asynchronous variant: a target gets a new trial as soon as its previous one is measured, so
the tuner's compile pipeline never drains at a generation boundary.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from kcompiler.autotune.space import ConfigSpace
from kcompiler.autotune.strategies.base import SearchStrategy, register_strategy
from kcompiler.config import Config

_REDRAWS = 12  # mutation attempts before falling back to a local move


@register_strategy("de")
class DifferentialEvolution(SearchStrategy):
    """current-to-best/1/bin DE; population sized from the budget (8..40).

    Defaults (f=0.7, cr=0.4, population=budget/15) were picked on a synthetic kernel-like
    cost: a low crossover rate changes few knobs per trial, which suits mostly-separable
    costs, and a small population converges within a quick-effort budget.
    """

    def __init__(
        self,
        space: ConfigSpace,
        rng: random.Random | None = None,
        budget: int | None = None,
        population: int | None = None,
        f: float = 0.7,
        cr: float = 0.4,
    ) -> None:
        super().__init__(space, rng, budget)
        self.population = population or max(8, min(40, (budget or 320) // 15))
        self.f, self.cr = f, cr
        self._members: list[Config] = []
        self._vectors: list[list[float]] = []
        self._trial_target: dict[Config, int] = {}
        self._busy: set[int] = set()
        self._cursor = 0

    def _propose(self, n: int) -> Iterable[Config]:
        if not self._members:
            self._members = [self.space.default(), *self.space.starts()][: self.population]
            self._members += self.fresh_samples(self.population - len(self._members))
            self._vectors = [self.space.encode(c) for c in self._members]
        out = [c for c in self._members if not self.is_known(c)][:n]  # initial population
        size = len(self._members)
        for step in range(size):
            if len(out) == n:
                break
            i = (self._cursor + step) % size
            if i in self._busy or self._members[i] not in self.results:
                continue  # a target needs its own time before a trial can challenge it
            trial = self._trial(i, out)
            if trial is None:
                continue
            self._busy.add(i)
            self._trial_target[trial] = i
            out.append(trial)
        self._cursor = (self._cursor + 1) % size
        return out

    def _trial(self, i: int, taken: list[Config]) -> Config | None:
        """A new config challenging member i, or None if none can be found."""
        size = len(self._members)
        x = self._vectors[i]
        best = min(range(size), key=lambda k: self.time_of(self._members[k]))
        others = [k for k in range(size) if k != i]
        for _ in range(_REDRAWS if len(others) >= 2 else 0):
            b, c = self.rng.sample(others, 2)
            xb, xc, xbest = self._vectors[b], self._vectors[c], self._vectors[best]
            j_rand = self.rng.randrange(len(x)) if x else 0
            v = []
            for j in range(len(x)):
                if j == j_rand or self.rng.random() < self.cr:
                    v.append(x[j] + self.f * (xbest[j] - x[j]) + self.f * (xb[j] - xc[j]))
                else:
                    v.append(x[j])
            cand = self.space.decode(v)
            if not self.is_known(cand) and cand not in taken:
                return cand
        # The population has collapsed around x: take an unseen neighbor, else a fresh sample.
        moves = [c for c in self.space.neighbors(self._members[i]) if not self.is_known(c)]
        moves = [c for c in moves if c not in taken]
        if moves:
            return self.rng.choice(moves)
        fresh = [c for c in self.fresh_samples(2) if c not in taken]
        return fresh[0] if fresh else None

    def _observe(self, config: Config, time_ms: float | None) -> None:
        i = self._trial_target.pop(config, None)
        if i is None:
            return
        self._busy.discard(i)
        if self.time_of(config) < self.time_of(self._members[i]):
            self._members[i] = config
            self._vectors[i] = self.space.encode(config)
