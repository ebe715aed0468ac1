"""Random search: the baseline every smarter strategy must beat."""

from __future__ import annotations

from collections.abc import Iterable

from kcompiler.autotune.strategies.base import SearchStrategy, register_strategy
from kcompiler.config import Config

# Below this many raw combinations, draw without replacement from the exact list of valid
# configs: uniform, and it knows when the space is used up.
_ENUMERATE_LIMIT = 20_000


@register_strategy("random")
class RandomSearch(SearchStrategy):
    """Uniform valid samples never seen before (after the default and the space's starts,
    which the base class proposes first)."""

    _order: list[Config] | None = None

    def _propose(self, n: int) -> Iterable[Config]:
        if self.space.raw_size() <= _ENUMERATE_LIMIT:
            if self._order is None:
                self._order = list(self.space.iter_valid())
                self.rng.shuffle(self._order)
            yield from (c for c in self._order if not self.is_known(c))
        else:
            yield from self.fresh_samples(n)
