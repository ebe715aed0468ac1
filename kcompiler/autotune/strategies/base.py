"""The search-strategy interface and its registry.

A strategy only proposes configs and is told their times; it never compiles or runs
anything, so it can be tested with a synthetic cost function and swapped without touching
the tuner. Users add one with ``@register_strategy("name")``.
"""

from __future__ import annotations

import logging
import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import TypeVar

from kcompiler.autotune.space import ConfigSpace
from kcompiler.config import Config

log = logging.getLogger("kcompiler.autotune")

_REGISTRY: dict[str, type[SearchStrategy]] = {}

S = TypeVar("S", bound="type[SearchStrategy]")


def register_strategy(name: str) -> Callable[[S], S]:
    """Class decorator: make a strategy available to ``Tuner.tune(strategy=name)``."""

    def deco(cls: S) -> S:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"a search strategy named {name!r} is already registered")
        _REGISTRY[name] = cls
        cls.name = name
        return cls

    return deco


def get_strategy(name: str) -> type[SearchStrategy]:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"unknown search strategy {name!r}; available: {', '.join(sorted(_REGISTRY))}"
        ) from None


def available_strategies() -> list[str]:
    return sorted(_REGISTRY)


class SearchStrategy(ABC):
    """Proposes configs, learns from their times.

    Contract (enforced here, so subclasses stay small):
      - every proposed config is valid in ``space`` and has never been proposed or observed
        before (a failed config is never retried);
      - ``propose(n)`` may return fewer than n configs, e.g. while it waits for results; an
        empty list while nothing is in flight means the strategy is done;
      - ``observe`` accepts configs it never proposed (results resumed from the cache).
    Subclasses implement ``_propose`` and optionally ``_observe``.
    """

    name = "?"

    def __init__(
        self, space: ConfigSpace, rng: random.Random | None = None, budget: int | None = None
    ) -> None:
        self.space = space
        self.rng = rng if rng is not None else random.Random(0)
        self.budget = budget  # expected number of evaluations, a sizing hint
        self.results: dict[Config, float | None] = {}
        self._proposed: set[Config] = set()
        self._pending: set[Config] = set()
        self._best: tuple[Config, float] | None = None

    # -- public ------------------------------------------------------------------------
    def propose(self, n: int) -> list[Config]:
        out: list[Config] = []
        if n <= 0:
            return out
        # The default (a baseline) and the space's known-good starts come first; the strategy
        # proper begins once they are proposed, and sees their times through observe().
        for config in (self.space.default(), *self.space.starts()):
            if len(out) < n and not self.is_known(config):
                self._proposed.add(config)
                self._pending.add(config)
                out.append(config)
        if out:
            return out
        for config in self._propose(n):
            if self.is_known(config):
                continue
            if not self.space.is_valid(config):  # a strategy bug must not reach the compiler
                log.warning(
                    "strategy %s proposed an invalid config, dropped: %s", self.name, config
                )
                continue
            self._proposed.add(config)
            self._pending.add(config)
            out.append(config)
            if len(out) == n:
                break
        return out

    def observe(self, config: Config, time_ms: float | None) -> None:
        """Record a result: time in ms, or None for a failure (compile, crash, wrong result)."""
        self.results[config] = time_ms
        self._pending.discard(config)
        if time_ms is not None and (self._best is None or time_ms < self._best[1]):
            self._best = (config, time_ms)
        self._observe(config, time_ms)

    def best(self) -> tuple[Config, float] | None:
        """(config, time_ms) of the fastest observed config, or None if nothing succeeded."""
        return self._best

    # -- helpers for subclasses ----------------------------------------------------------
    def is_known(self, config: Config) -> bool:
        return config in self._proposed or config in self.results

    @property
    def in_flight(self) -> int:
        """Proposed configs whose result has not come back yet."""
        return len(self._pending)

    def time_of(self, config: Config) -> float:
        """Observed time, +inf for failed or unknown: failures lose every comparison."""
        t = self.results.get(config)
        return float("inf") if t is None else t

    def fresh_samples(self, n: int, tries_per: int = 50) -> list[Config]:
        """Up to n random valid configs not seen before (fewer if the space runs dry)."""
        out: list[Config] = []
        seen: set[Config] = set()
        for _ in range(n * tries_per):
            c = self.space.sample(self.rng)
            if not self.is_known(c) and c not in seen:
                seen.add(c)
                out.append(c)
                if len(out) == n:
                    break
        return out

    @abstractmethod
    def _propose(self, n: int) -> Iterable[Config]:
        """Yield candidates (duplicates and known configs are filtered by ``propose``)."""

    def _observe(self, config: Config, time_ms: float | None) -> None:  # noqa: B027
        """Hook for subclasses; the base class already recorded the result."""
