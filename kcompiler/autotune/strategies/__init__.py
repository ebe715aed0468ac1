"""Search strategies; importing this package registers the built-in ones.

Add one with ``@register_strategy("name")`` on a ``SearchStrategy`` subclass; the tuner
finds it by name (``Tuner.tune(strategy="name")`` or ``KCOMPILER_AUTOTUNE_STRATEGY``).
"""

from kcompiler.autotune.strategies import de, optuna_search, pattern, random_search  # noqa: F401
from kcompiler.autotune.strategies.base import (
    SearchStrategy,
    available_strategies,
    get_strategy,
    register_strategy,
)
from kcompiler.autotune.strategies.de import DifferentialEvolution
from kcompiler.autotune.strategies.optuna_search import OptunaCmaEsSearch, OptunaSearch
from kcompiler.autotune.strategies.pattern import PatternSearch
from kcompiler.autotune.strategies.random_search import RandomSearch

__all__ = [
    "DifferentialEvolution",
    "OptunaCmaEsSearch",
    "OptunaSearch",
    "PatternSearch",
    "RandomSearch",
    "SearchStrategy",
    "available_strategies",
    "get_strategy",
    "register_strategy",
]
