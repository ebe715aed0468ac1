"""A cache writer for the two-process test, importable without loading torch.

``kcompiler/__init__`` imports the whole compiler (torch, xdsl); the cache needs none of it.
Registering a bare ``kcompiler`` package first lets the child process import only
``kcompiler.config`` and ``kcompiler.autotune``, so it starts in a fraction of a second.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path


def _bare_kcompiler_package() -> None:
    if "kcompiler" in sys.modules:
        return
    spec = importlib.util.find_spec("kcompiler")
    assert spec is not None and spec.submodule_search_locations is not None
    pkg = types.ModuleType("kcompiler")
    pkg.__path__ = list(spec.submodule_search_locations)
    sys.modules["kcompiler"] = pkg


def hammer_cache(path: str, tag: str, n: int, barrier=None) -> None:
    """Write n results and a best from one process (run twice at once by a test)."""
    _bare_kcompiler_package()
    from kcompiler.autotune.cache import SQLiteCache
    from kcompiler.config import Config

    cache = SQLiteCache(Path(path), timeout_s=30.0)
    if barrier is not None:
        barrier.wait(60)  # both processes start writing together
    for i in range(n):
        config = Config(block_sizes=[i], num_warps=len(tag))
        cache.record(f"key-{tag}", config, float(i))
        cache.record("shared", config.replace(indexing=tag), float(i))
    cache.put_best("shared", Config(indexing=tag), 1.0, "quick")
    assert not cache.disabled
    cache.close()
