"""``helion.autotuner.benchmarking``'s timers, for examples that time their kernels."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def _sync() -> None:
    import torch

    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def do_bench_generic(
    fn: Callable[[], Any],
    warmup: int = 25,
    rep: int = 100,
    grad_to_none: Any = None,
    quantiles: list[float] | None = None,
    return_mode: str = "mean",
    process_group_name: str | None = None,
    *,
    default_cudagraph: bool = False,
    fixed_repetitions: int | None = None,
) -> float | tuple[float, ...]:
    """Wall-clock milliseconds per call of ``fn``: after one call and ``warmup`` ms of calls,
    calls for about ``rep`` ms (or exactly ``fixed_repetitions`` calls), each synchronized;
    ``return_mode`` min/max/mean/median/all, or the ``quantiles`` of the times.
    ``grad_to_none``, ``process_group_name`` and ``default_cudagraph`` are Helion's signature:
    wall-clock timing of one process uses none of them."""
    if return_mode not in ("min", "max", "mean", "median", "all"):
        raise ValueError(f"return_mode {return_mode!r}: one of min, max, mean, median, all")
    fn()
    _sync()
    start = time.perf_counter()
    fn()
    _sync()
    once_ms = max((time.perf_counter() - start) * 1e3, 1e-3)
    for _ in range(int(warmup / once_ms)):
        fn()
    _sync()
    n = fixed_repetitions if fixed_repetitions is not None else max(1, int(rep / once_ms))
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        _sync()
        times.append((time.perf_counter() - t0) * 1e3)
    if quantiles is not None:
        ordered = sorted(times)
        picked = tuple(ordered[min(len(ordered) - 1, int(q * len(ordered)))] for q in quantiles)
        return picked[0] if len(picked) == 1 else picked
    if return_mode == "all":
        return tuple(times)
    pick = {"min": min, "max": max, "mean": statistics.fmean, "median": statistics.median}
    return float(pick[return_mode](times))


do_bench = do_bench_generic

__all__ = ["do_bench", "do_bench_generic"]
