"""kcompiler.autotune: config spaces, search strategies, a disk cache and the tuner.

The runtime builds a `TuningTarget` (space + cache key + precompile/benchmark callbacks)
and calls ``Tuner(target).tune()``; nothing here knows how kernels are compiled.
"""

from kcompiler.autotune.cache import (
    CacheBackend,
    NullCache,
    SQLiteCache,
    default_cache,
    default_cache_path,
    library_versions,
    make_key,
)
from kcompiler.autotune.errors import AutotuneError, ConfigError, WrongResult
from kcompiler.autotune.space import (
    TRITON_MAX_NUMEL,
    BoolKnob,
    ChoiceKnob,
    ConfigSpace,
    Constraint,
    IntKnob,
    Knob,
    MaxProduct,
    PowerOfTwoKnob,
    Predicate,
)
from kcompiler.autotune.strategies import (
    SearchStrategy,
    available_strategies,
    get_strategy,
    register_strategy,
)
from kcompiler.autotune.tuner import (
    EFFORTS,
    Effort,
    Failure,
    Tuner,
    TuneResult,
    TuningTarget,
    autotune,
)

__all__ = [
    "EFFORTS",
    "TRITON_MAX_NUMEL",
    "AutotuneError",
    "BoolKnob",
    "CacheBackend",
    "ChoiceKnob",
    "ConfigError",
    "ConfigSpace",
    "Constraint",
    "Effort",
    "Failure",
    "IntKnob",
    "Knob",
    "MaxProduct",
    "NullCache",
    "PowerOfTwoKnob",
    "Predicate",
    "SQLiteCache",
    "SearchStrategy",
    "TuneResult",
    "Tuner",
    "TuningTarget",
    "WrongResult",
    "autotune",
    "available_strategies",
    "default_cache",
    "default_cache_path",
    "get_strategy",
    "library_versions",
    "make_key",
    "register_strategy",
]
