"""Timing: kernel time (do_bench median, L2 flushed), copy bandwidth, and host overhead per call.

On a GPU every number comes from `triton.testing.do_bench` with `return_mode="median"`, which
flushes the L2 before each rep, as PERF-ANCHORS.md measured the peers. On CPU (`--device cpu`,
a dry run of the harness) the median of `time.perf_counter` laps stands in.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import torch


def synchronize(device: torch.device) -> None:
    """Wait for queued device work (no-op on CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_ms(
    fn: Callable[[], Any],
    device: torch.device,
    quick: bool = False,
    reps: tuple[int, int] | None = None,
) -> float:
    """Median milliseconds of one call of `fn`. `reps`: do_bench's (warmup, rep) in ms on a
    GPU, instead of those `quick` picks."""
    if device.type == "cuda":
        import triton.testing

        warmup, rep = reps or ((5, 20) if quick else (25, 100))
        return float(triton.testing.do_bench(fn, warmup=warmup, rep=rep, return_mode="median"))
    fn()
    laps = []
    for _ in range(5 if quick else 20):
        t0 = time.perf_counter()
        fn()
        laps.append(time.perf_counter() - t0)
    return statistics.median(laps) * 1e3


def timed_call(fn: Callable[[], Any], device: torch.device) -> tuple[Any, float]:
    """Run `fn` once and return (result, wall seconds): the cold-start cost of the first call."""
    synchronize(device)
    t0 = time.perf_counter()
    out = fn()
    synchronize(device)
    return out, time.perf_counter() - t0


def copy_gbps(device: torch.device, gib: float, quick: bool = False) -> float:
    """Bandwidth of a large `dst.copy_(src)`, counting bytes read plus bytes written."""
    n = int(gib * 2**30) // 4

    def copy_ms() -> float:
        src = torch.empty(n, device=device, dtype=torch.float32).uniform_()
        dst = torch.empty_like(src)
        return bench_ms(lambda: dst.copy_(src), device, quick)

    ms = copy_ms()
    if device.type == "cuda":
        torch.cuda.empty_cache()  # give the 2 GiB back before the kernels run
    return 2 * n * 4 / (ms * 1e-3) / 1e9


def host_us_per_call(fn: Callable[[], Any], device: torch.device, calls: int = 2000) -> float:
    """Microseconds per call over `calls` back-to-back calls and one synchronize.

    At tritonbench's small sizes this host-side cost, not the GPU, sets the time.
    """
    for _ in range(10):
        fn()
    synchronize(device)
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    synchronize(device)
    return (time.perf_counter() - t0) / calls * 1e6


def graph_us_per_call(
    fn: Callable[[], Any], device: torch.device, per_graph: int, replays: int
) -> tuple[float, Any]:
    """Microseconds per call of `fn` replayed from a CUDA graph that captured `per_graph`
    calls of it: the time per replay (over `replays` back-to-back replays and one
    synchronize) divided by `per_graph`. Also returns `fn`'s last output in the graph,
    which each replay rewrites.

    `fn` runs three times before the capture, as a captured op must (it compiles and loads
    there). Several calls per graph spread the replay's own launch over them; one call per
    graph shows what a replay adds to a single launch."""
    if device.type != "cuda":
        raise RuntimeError("a CUDA graph needs a CUDA device")
    for _ in range(3):
        fn()
    synchronize(device)
    graph = torch.cuda.CUDAGraph()
    out = None
    with torch.cuda.graph(graph):
        for _ in range(per_graph):
            out = fn()
    return host_us_per_call(graph.replay, device, replays) / per_graph, out
