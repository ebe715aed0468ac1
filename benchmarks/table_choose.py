"""CPU time of a config table's choice (``TableConfigs.choose``) at a kernel's first call.

``python -m benchmarks.table_choose [--kernels cross_entropy,layer_norm] [--repeat 10]``
(no GPU needed): tunes a one-entry table for each named bundled kernel at its CPU benchmark
call (a few configs, in memory), then, ``--repeat`` times, makes a fresh ``Kernel`` from the
same function with the table attached, traces the call (excluded: the call would trace
anyway, and the kernel caches the trace by specialization) and times ``choose`` alone, an
exact hit. Prints the median and the smallest time per kernel, in ms of this thread's CPU
time (``time.thread_time``).
"""

from __future__ import annotations

import argparse
import statistics
import time

DEFAULT_KERNELS = ("cross_entropy", "layer_norm")


def choose_ms(name: str, repeat: int, max_configs: int) -> list[float]:
    """``repeat`` timings (ms) of an exact table hit's ``choose`` for bundled kernel
    ``name``'s first ``kc.kernel`` call, each on a fresh kernel object."""
    from benchmarks.aot_cold_start import quick_table
    from benchmarks.host_profile import cpu_call, recorded_calls
    from kcompiler.aot import TableConfigs
    from kcompiler.config import Config
    from kcompiler.runtime.kernel import Kernel

    fn, args = cpu_call(name)
    kernel, kargs, kkwargs = recorded_calls(fn, args)[0]
    table = quick_table(kernel, kargs, kkwargs, max_configs)
    out: list[float] = []
    for _ in range(repeat):
        fresh = Kernel(kernel.fn, **kernel.settings)
        fresh.traced_modules(kargs, dict(kkwargs), Config())
        configs = TableConfigs.attach(fresh, table)
        c0 = time.thread_time()
        chosen = configs.choose(fresh, kargs, kkwargs)
        out.append((time.thread_time() - c0) * 1e3)
        if chosen != table.entries[0].config:
            raise AssertionError(f"{name}: the table's entry was not chosen ({chosen})")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernels", default=",".join(DEFAULT_KERNELS))
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--max-configs", type=int, default=2)
    opts = parser.parse_args(argv)
    for name in opts.kernels.split(","):
        times = choose_ms(name, opts.repeat, opts.max_configs)
        print(
            f"{name:16s} choose: median {statistics.median(times):7.2f} ms, "
            f"min {min(times):7.2f} ms ({len(times)} fresh kernels)"
        )


if __name__ == "__main__":
    main()
