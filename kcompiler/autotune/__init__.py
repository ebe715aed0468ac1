"""kcompiler.autotune: config spaces, search strategies, a disk cache and the tuner.

Nothing here knows how kernels are compiled. The runtime describes one (kernel,
specialization, device) as a `TuningTarget`::

    class Target:                       # any object with these attributes
        space = ConfigSpace([PowerOfTwoKnob("block_sizes[0]", 16, 4096, 128), ...],
                            [MaxProduct(["block_sizes[0]", "block_sizes[1]"], TRITON_MAX_NUMEL,
                                        "Triton's max numel")])
        cache_key = make_key(source_hash, spec_key, device_name)
        name = "rms_norm"
        def precompile_job(self, config): return compile_top_level_fn, (source, config.to_json())
        def benchmark(self, config): ...  # time in ms; raise WrongResult on a mismatch

    result = Tuner(Target()).tune(strategy="pattern", effort="quick")   # TuneResult
    result.config, result.time_ms, result.interrupted, result.from_cache
"""

from kcompiler.autotune.cache import (
    CacheBackend,
    NullCache,
    SQLiteCache,
    default_cache_path,
    library_versions,
    make_key,
)
from kcompiler.autotune.cache_choice import default_cache
from kcompiler.autotune.errors import AutotuneError, ConfigError, DeviceFault, WrongResult
from kcompiler.autotune.redis_cache import RedisCache
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
    "DeviceFault",
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
    "RedisCache",
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
