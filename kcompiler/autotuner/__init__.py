"""Helion's ``helion.autotuner`` names, for kernels written for Helion.

What has a meaning here maps onto kcompiler's own pieces:

* the fragments a kernel's ``kl.register_tunable`` takes (``PowerOfTwoFragment``,
  ``IntegerFragment``, ``EnumFragment``, ``BooleanFragment``), from
  ``kcompiler/autotune/fragments.py``: each becomes one knob of the config space;
* ``aot_kernel``, as ``kc.aot_kernel`` (kcompiler/aot);
* ``benchmarking.do_bench_generic``, a wall-clock timer.

Helion's search classes, caches and effort profiles have no counterpart by those names
(kcompiler chooses a strategy by name, ``kc.kernel(autotune_strategy="pattern")``, and an
effort, ``autotune_effort="quick"``; the cache is ``KCOMPILER_CACHE``): importing one raises
``UnsupportedConstruct("not supported: kcompiler.autotuner.<name> (...)")`` naming the line
of the import, never an object that would do something else.
"""

from __future__ import annotations

import sys
from typing import Any

from kcompiler.autotune.fragments import (
    BooleanFragment,
    EnumFragment,
    Fragment,
    IntegerFragment,
    PowerOfTwoFragment,
)
from kcompiler.exc import UnsupportedConstruct

ConfigSpecFragment = Fragment  # Helion's name of the base class

_SEARCH = "kcompiler picks a search strategy by name: kc.kernel(autotune_strategy=...)"
_CACHE = "kcompiler's tuning cache is chosen by setting (KCOMPILER_CACHE), not by class"
_NOT_SUPPORTED = {
    **dict.fromkeys(
        (
            "DESurrogateHybrid",
            "DifferentialEvolutionSearch",
            "FiniteSearch",
            "CachedFiniteSearch",
            "LFBOPatternSearch",
            "LFBOTreeSearch",
            "LLMGuidedSearch",
            "LLMSeededLFBOTreeSearch",
            "LLMSeededSearch",
            "PatternSearch",
            "RandomSearch",
            "InitialPopulationStrategy",
            "search_algorithms",
        ),
        _SEARCH,
    ),
    **dict.fromkeys(
        (
            "AOTAutotuneCache",
            "LocalAutotuneCache",
            "StrictLocalAutotuneCache",
            "RemoteAutotuneCache",
            "StrictRemoteAutotuneCache",
            "RemoteCacheBackend",
            "cache_classes",
        ),
        _CACHE,
    ),
    **dict.fromkeys(
        (
            "AutotuneEffortProfile",
            "DifferentialEvolutionConfig",
            "LLMSearchConfig",
            "PatternSearchConfig",
            "RandomSearchConfig",
        ),
        "effort is a level here: kc.kernel(autotune_effort='none' | 'quick' | 'full')",
    ),
    "ConfigSpec": "the config space is derived from the IR: Kernel.bind(...).config_space()",
    "UserConfigSpec": "the config space is derived from the IR: Kernel.bind(...).config_space()",
    "autotune": "tune a kernel with Kernel.autotune(args)",
    "from_cache": "tuned configs are read from the cache by every call; no loader is needed",
    "ListOf": "a tunable is one value; register one kl.register_tunable per entry",
    "PermutationFragment": "a tunable is one value; register one kl.register_tunable per entry",
    "NumThreadsFragment": "thread counts are a knob of Helion's CuTe backend only",
    "BlockSizeFragment": "block sizes are declared with kl.register_block_size",
    "NumWarpsFragment": "num_warps is a Config field the tuner already searches",
}


def _caller() -> str | None:
    """``file:line`` of the code that asked for the name (the import statement)."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith("<frozen"):
        frame = frame.f_back
    return f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else None


def __getattr__(name: str) -> Any:
    if name == "aot_kernel":
        from kcompiler.aot import aot_kernel

        return aot_kernel
    why = _NOT_SUPPORTED.get(name)
    if why is None:
        raise AttributeError(f"module 'kcompiler.autotuner' has no attribute {name!r}")
    raise UnsupportedConstruct(f"not supported: kcompiler.autotuner.{name} ({why})", _caller())


__all__ = [
    "BooleanFragment",
    "ConfigSpecFragment",
    "EnumFragment",
    "IntegerFragment",
    "PowerOfTwoFragment",
    "aot_kernel",
]
