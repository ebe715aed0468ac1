"""Where the host time of a small kcompiler call goes: cProfile of back-to-back calls.

``python -m benchmarks.host_profile`` (GPU): prints µs per call for kcompiler's vector_add,
a bare Triton launch of its generated kernel, and the top functions of a profile.

``python -m benchmarks.host_profile --cpu`` (no GPU): kcompiler's own per-call machinery alone.
Under the interpreter nothing launches directly, so a stand-in compiled kernel (whose ``run``
does nothing) and stand-in CUDA device/stream queries take the direct launch's place; the
machinery is a call's time less that of the host code's own torch ops. CPU time of this
thread (``time.thread_time``), best of many short rounds, so that other processes matter less.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import sys
import time

if "--cpu" in sys.argv:
    os.environ["TRITON_INTERPRET"] = "1"  # before triton loads

import torch  # noqa: E402

from kcompiler.kernels.vector_add import vector_add  # noqa: E402


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
    print(f"replay taken: {getattr(entry, 'replay', None) is not None}")
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


class _StandInCompiled:
    """What the direct launch reads of a CompiledKernel; launches nothing."""

    function = 0
    packed_metadata = 0

    @staticmethod
    def launch_metadata(*args: object) -> None:
        return None

    @staticmethod
    def run(*args: object) -> None:
        pass


def cpu_main(rounds: int = 60, n: int = 1000) -> None:
    from kcompiler.backends.triton import launch

    torch.cuda.current_device = lambda: 0
    torch._C._cuda_getDevice = (0).__int__
    torch._C._cuda_getCurrentRawStream = abs
    x, y = torch.randn(4096), torch.randn(4096)
    vector_add(x, y)  # compiles
    (entry,) = vector_add._fast.values()
    entry.direct = launch.direct_launcher(_StandInCompiled())

    def host_ops() -> torch.Tensor:  # vector_add's host code
        a, b = torch.broadcast_tensors(x, y)
        return torch.empty(a.shape, dtype=torch.promote_types(a.dtype, b.dtype), device=a.device)

    def cpu_us(fn) -> float:
        t0 = time.thread_time()
        for _ in range(n):
            fn()
        return (time.thread_time() - t0) / n * 1e6

    for _ in range(200):
        vector_add(x, y)
    full = ops = float("inf")
    for _ in range(rounds):
        full = min(full, cpu_us(lambda: vector_add(x, y)))
        ops = min(ops, cpu_us(host_ops))
    print(f"replay taken: {getattr(entry, 'replay', None) is not None}")
    print(f"kcompiler vector_add, stand-in launch: {full:.2f} us/call")
    print(f"its host code's torch ops alone: {ops:.2f} us/call")
    print(f"kcompiler machinery: {full - ops:.2f} us/call")


if __name__ == "__main__":
    cpu_main() if "--cpu" in sys.argv else main()
