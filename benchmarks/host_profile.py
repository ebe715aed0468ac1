"""Where the host time of a small kcompiler call goes: cProfile of back-to-back calls.

``python -m benchmarks.host_profile`` (GPU): prints µs per call for kcompiler's vector_add,
a bare Triton launch of its generated kernel, and the top functions of a profile.
"""

from __future__ import annotations

import cProfile
import pstats
import time

import torch

from kcompiler.kernels.vector_add import vector_add


def per_call_us(fn, n: int = 2000) -> float:
    for _ in range(50):
        fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / n * 1e6


def main() -> None:
    from benchmarks.impls import kcompiler_jit_launch

    x = torch.randn(4096, device="cuda")
    y = torch.randn(4096, device="cuda")
    out = torch.empty_like(x)
    print(f"kcompiler vector_add: {per_call_us(lambda: vector_add(x, y)):.1f} us/call")
    entry = next(iter(vector_add._fast.values()))
    print(f"direct launch taken: {entry.direct is not None}")
    jit = kcompiler_jit_launch(vector_add)
    print(f"kcompiler vector_add, JIT launches: {per_call_us(lambda: jit(x, y)):.1f} us/call")
    env = {"x": x, "y": y, "out": out}
    print(f"compiled launch only: {per_call_us(lambda: entry(env)):.1f} us/call")
    print(f"JIT launch only: {per_call_us(lambda: entry.compiled.launch(env)):.1f} us/call")
    print(f"torch.empty_like: {per_call_us(lambda: torch.empty_like(x)):.1f} us/call")
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(2000):
        vector_add(x, y)
    prof.disable()
    torch.cuda.synchronize()
    pstats.Stats(prof).sort_stats("tottime").print_stats(18)


if __name__ == "__main__":
    main()
