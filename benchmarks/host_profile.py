"""Where the host time of a small kcompiler call goes: cProfile of back-to-back calls.

``python -m benchmarks.host_profile`` (GPU): prints µs per call for kcompiler's vector_add,
a bare Triton launch of its generated kernel, and the top functions of a profile.

``python -m benchmarks.host_profile --cpu [--kernels vector_add,layer_norm]`` (no GPU):
kcompiler's own per-call machinery alone, for each bundled kernel called as
benchmarks/kernels.py calls it. Under the interpreter nothing launches directly, so a stand-in
compiled kernel (whose ``run`` does nothing) and stand-in CUDA device/stream queries take the
direct launch's place; the machinery is a call's time less that of the kernel's host code run
alone (its launches made no-ops). Also shown: fast-path misses per repeated call
(``Kernel.fast_path_misses``; 0 when the fast path holds) and whether every launch replays.
CPU time of this thread (``time.thread_time``), best of many short rounds, so that other
processes matter less.
"""

from __future__ import annotations

import contextlib
import cProfile
import os
import pstats
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

if "--cpu" in sys.argv:
    os.environ["TRITON_INTERPRET"] = "1"  # before triton loads

import torch  # noqa: E402

from benchmarks import kernels, tensor_core  # noqa: E402
from kcompiler.kernels.vector_add import vector_add  # noqa: E402

# What --cpu profiles by default: every kernel with a benchmark spec (and so CPU inputs).
CPU_KERNELS = (*kernels.KERNELS, *tensor_core.KERNELS)


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
    entry = next(iter(vector_add.fast_path_entries()))
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


def cpu_call(name: str, device: str = "cpu") -> tuple[Callable[..., Any], tuple[Any, ...]]:
    """Kernel ``name`` of kcompiler.kernels and its benchmark spec's CPU-sized arguments
    (benchmarks/kernels.py, and benchmarks/tensor_core.py for the tensor-core kernels), made
    on ``device``."""
    import importlib

    specs = {**kernels.KERNELS, **tensor_core.KERNELS}
    fn = getattr(importlib.import_module(f"kcompiler.kernels.{name}"), name)
    case = specs[name].cpu[0]
    return fn, specs[name].make_inputs(case.params, case.dtype, torch.device(device))


def recorded_calls(fn: Any, args: tuple[Any, ...]) -> list[tuple[Any, tuple, dict]]:
    """The ``kc.kernel`` calls (kernel, args, kwargs) that ``fn(*args)`` makes: a bundled
    kernel may be a plain function around one (rms_norm, layer_norm, jagged_mean)."""
    from kcompiler.runtime.kernel import Kernel

    seen: list[tuple[Any, tuple, dict]] = []
    call = Kernel.__call__

    def recording(self: Any, *a: Any, **kw: Any) -> Any:
        seen.append((self, a, kw))
        return call(self, *a, **kw)

    Kernel.__call__ = recording  # type: ignore[method-assign]
    try:
        fn(*args)
    finally:
        Kernel.__call__ = call  # type: ignore[method-assign]
    return seen


def _kernels_of(fn: Any) -> list[Any]:
    """The Kernel objects a bundled kernel may call: those of its module (the plain-function
    wrappers rms_norm, layer_norm, jagged_mean call one; fp8_gemm's host code may call
    k_major)."""
    import importlib

    from kcompiler.runtime.kernel import Kernel

    module = importlib.import_module(fn.__module__)
    return [v for v in vars(module).values() if isinstance(v, Kernel)]


def _stand_in(kernels: list[Any]) -> None:
    """Give every fast-path entry a direct launch that launches nothing."""
    from kcompiler.backends.triton import launch

    for k in kernels:
        for entry in k.fast_path_entries():
            if entry.direct is None:
                entry.direct = launch.direct_launcher(_StandInCompiled())


@contextlib.contextmanager
def _host_code_only(kernels: list[Any]) -> Iterator[None]:
    """Calls of ``kernels`` run their host code alone: its launches do nothing."""
    from kcompiler.runtime.kernel import Kernel

    hosts = {id(k): k.program.make_host(lambda index, env: None) for k in kernels}
    call = Kernel.__call__
    Kernel.__call__ = lambda self, *a, **kw: hosts[id(self)](*a, **kw)  # type: ignore[method-assign]
    try:
        yield
    finally:
        Kernel.__call__ = call  # type: ignore[method-assign]


def cpu_profile(name: str, rounds: int = 60, n: int = 1000) -> dict[str, Any]:
    """µs per call of kernel ``name`` with a stand-in launch, of its host code alone (the
    difference is kcompiler's machinery), and whether its repeated calls stay on the fast path
    (no misses) and replay their launches."""
    fn, args = cpu_call(name)
    kernels = _kernels_of(fn)
    fn(*args)  # compiles and runs on the interpreter
    _stand_in(kernels)
    for _ in range(10):  # records the replays
        fn(*args)
    _stand_in(kernels)  # entries a miss added
    for _ in range(200):
        fn(*args)
    used = [k for k in kernels if k.fast_path_stats().last_hits]
    misses = sum(k.fast_path_misses for k in used)

    def cpu_us(f: Callable[[], Any]) -> float:
        t0 = time.thread_time()
        for _ in range(n):
            f()
        return (time.thread_time() - t0) / n * 1e6

    full = host = float("inf")
    for _ in range(rounds):
        full = min(full, cpu_us(lambda: fn(*args)))
        with _host_code_only(used):
            host = min(host, cpu_us(lambda: fn(*args)))
    entries = [entry for k in used for entry in k.fast_path_entries(last_hits=True)]
    return {
        "us": full,
        "host_us": host,
        "misses_per_call": (sum(k.fast_path_misses for k in used) - misses) / (rounds * n),
        "replayed": bool(entries) and all(e.replay is not None for e in entries),
    }


def cpu_main(names: list[str], rounds: int = 60, n: int = 1000) -> None:
    torch.cuda.current_device = lambda: 0
    torch._C._cuda_getDevice = (0).__int__
    torch._C._cuda_getCurrentRawStream = abs
    print("kernel          us/call  host code  machinery  misses/call  replayed")
    for name in names:
        try:
            r = cpu_profile(name, rounds, n)
        except Exception as e:  # noqa: BLE001 - a kernel the interpreter cannot run (fp8)
            print(f"{name:14s} does not run here: {type(e).__name__}: {str(e)[:80]}")
            continue
        print(
            f"{name:14s} {r['us']:8.2f} {r['host_us']:10.2f} {r['us'] - r['host_us']:10.2f}"
            f" {r['misses_per_call']:12.3f}  {r['replayed']}"
        )


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", action="store_true", help="no GPU: kcompiler's machinery alone")
    parser.add_argument(
        "--kernels",
        default=",".join(CPU_KERNELS),
        help="with --cpu: comma-separated bundled kernels (default: all)",
    )
    parser.add_argument("--rounds", type=int, default=60, help="with --cpu: best of how many")
    opts = parser.parse_args()
    cpu_main(opts.kernels.split(","), opts.rounds) if opts.cpu else main()
