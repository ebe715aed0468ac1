"""Cold start with config tables: CPU time from a bundled kernel's first call to its launch.

``python -m benchmarks.aot_cold_start [--max-configs 3] [--md PATH]`` (no GPU needed):

1. tunes a config table for each of the nine bundled kernels at its CPU benchmark call
   (benchmarks/kernels.py; the ``kc.kernel`` a wrapper such as rms_norm calls is the one
   tuned), with a few configs each, into a temporary directory;
2. in a fresh process per mode (with the tables, and without as the baseline), imports
   kcompiler and the kernels, attaches the tables, builds the inputs (all excluded), then
   times each kernel's first call. Launches are stand-ins that return at once (Triton's
   interpreter would otherwise run the kernel), so a call's time is host code, the table's
   choice of config, tracing, passes, code generation and loading the generated module.
   A throwaway kernel is called first: the first call in a process imports the compiler's
   lazily loaded modules (passes, backend, triton.language), reported apart as one-time.

``--device cuda`` measures the same on a GPU with real launches: the tables are tuned on the
GPU, ``python -m kcompiler.aot compile`` fills a Triton cache the tuning never wrote, and the
measured processes use that cache, so a first call's time includes Triton loading the binary
from it (the CUDA context is made before the timing). The baseline without tables runs twice
and the second run is reported, so its default configs come from the cache too.

Times are this thread's CPU time (``time.thread_time``), so other processes on the machine
matter less; wall time is shown too.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from kcompiler.kernels import NAMES  # the nine bundled kernels


def quick_table(kernel: Any, args: tuple, kwargs: dict, max_configs: int) -> Any:
    """A table of ``kernel`` tuned at this one call with at most ``max_configs`` configs,
    measured afresh (no tuning cache)."""
    from kcompiler.aot.tune import tune_table
    from kcompiler.autotune import NullCache

    return tune_table(
        kernel,
        [{"args": list(args), "kwargs": kwargs}],
        max_configs=max_configs,
        cache=NullCache(),
        progress=False,
    )


def prepare(directory: Path, max_configs: int, device: str) -> dict[str, list[list[str]]]:
    """Tune one table per kernel the bundled kernels call; {name: [[module:kernel, path]]}."""
    from benchmarks.host_profile import cpu_call, recorded_calls
    from kcompiler.aot.tune import kernel_name

    manifest: dict[str, list[list[str]]] = {}
    for name in NAMES:
        fn, args = cpu_call(name, device)
        manifest[name] = []
        for kernel, kargs, kkwargs in recorded_calls(fn, args):
            target = kernel_name(kernel)
            path = directory / f"{target.replace(':', '.')}.json"
            t0 = time.monotonic()
            table = quick_table(kernel, kargs, kkwargs, max_configs)
            table.save(path)
            print(f"tuned {target} in {time.monotonic() - t0:.1f} s", file=sys.stderr)
            manifest[name].append([target, str(path)])
    return manifest


def child(manifest_path: str, use_tables: bool, device: str) -> None:
    """The measuring process: prints one JSON object."""
    t_import = time.perf_counter()
    import torch

    import kcompiler as kc
    import kcompiler.language as kl
    from benchmarks.host_profile import cpu_call
    from kcompiler.aot import TableConfigs
    from kcompiler.aot.specs import resolve
    from kcompiler.runtime import kernel as kernel_module

    import_s = time.perf_counter() - t_import
    manifest = json.loads(Path(manifest_path).read_text())
    t0 = time.perf_counter()
    if use_tables:
        for pairs in manifest.values():
            for target, path in pairs:
                resolve(target).use_table(path)
    load_s = time.perf_counter() - t0
    inputs = {name: cpu_call(name, device) for name in NAMES}
    gpu = device != "cpu"
    if gpu:  # the CUDA context is the process's, not the first call's: made before timing
        torch.zeros(1, device=device).add_(1)
        torch.cuda.synchronize()
    else:
        # Stand-in launches: every compiled variant's launcher returns at once (its module is
        # still generated and loaded).
        from kcompiler.compiler import driver

        compile_loop = driver.compile_loop

        def stand_in(*a: Any, **kw: Any) -> Any:
            return dataclasses.replace(compile_loop(*a, **kw), launcher=lambda *a, **kw: None)

        driver.compile_loop = stand_in
    chosen: dict[str, float] = {}
    hits: list[bool] = []
    choose = TableConfigs.choose

    def timed_choose(self: Any, kernel: Any, args: Any, kwargs: Any) -> Any:
        c0 = time.thread_time()
        config = choose(self, kernel, args, kwargs)
        name = kernel.fn.__name__
        chosen[name] = chosen.get(name, 0.0) + time.thread_time() - c0
        hits.append(config is not None)
        return config

    TableConfigs.choose = timed_choose  # type: ignore[method-assign]
    # Tracing inside the table's choice is reused by the call's compile (Kernel caches traces
    # by specialization): counted apart, as the call would trace anyway.
    traced: dict[str, float] = {}
    trace = kernel_module.Kernel.traced_modules

    def timed_trace(self: Any, *a: Any, **kw: Any) -> Any:
        c0 = time.thread_time()
        try:
            return trace(self, *a, **kw)
        finally:
            name = self.fn.__name__
            traced[name] = traced.get(name, 0.0) + time.thread_time() - c0

    kernel_module.Kernel.traced_modules = timed_trace  # type: ignore[method-assign]

    @kc.kernel()
    def warm_up(x: torch.Tensor) -> torch.Tensor:
        out = torch.empty_like(x)
        for tile in kl.tile(out.size()):
            out[tile] = x[tile] * 2.0
        return out

    c0, w0 = time.thread_time(), time.perf_counter()
    warm_up(torch.randn(100, device=device))
    one_time = (time.thread_time() - c0, time.perf_counter() - w0)
    if gpu:
        torch.cuda.synchronize()
    rows = {}
    for name in NAMES:
        fn, args = inputs[name]
        profiler = _profiler(name)
        c0, w0 = time.thread_time(), time.perf_counter()
        if profiler is not None:
            profiler.enable()
        fn(*args)  # on a GPU: returns once its launches are queued
        cpu, wall = time.thread_time() - c0, time.perf_counter() - w0
        if profiler is not None:
            profiler.disable()
            _dump_profile(profiler, name, use_tables)
        if gpu:
            torch.cuda.synchronize()
        names = _kernel_names(manifest[name])
        table_s = sum(v for k, v in chosen.items() if k in names)
        trace_s = sum(v for k, v in traced.items() if k in names)
        rows[name] = {
            "cpu_ms": cpu * 1e3,
            "wall_ms": wall * 1e3,
            "table_ms": (table_s - trace_s) * 1e3,
        }
    print(
        json.dumps(
            {
                "import_s": import_s,
                "table_load_ms": load_s * 1e3,
                "one_time_ms": [one_time[0] * 1e3, one_time[1] * 1e3],
                "rows": rows,
                "table_hits": sum(hits),
                "table_choices": len(hits),
            }
        )
    )


# ``PROFILE_ENV=DIR:name,name``: one more process with the tables, whose times are not
# reported, profiles those kernels' first calls (cProfile) and writes the top functions to
# DIR/cold-profile-<name>-<mode>-<pid>.txt.
PROFILE_ENV = "KCOMPILER_COLD_PROFILE"


def _profiler(name: str) -> Any:
    spec = os.environ.get(PROFILE_ENV, "")
    if name not in spec.partition(":")[2].split(","):
        return None
    import cProfile

    return cProfile.Profile()


def _dump_profile(profiler: Any, name: str, use_tables: bool) -> None:
    import io
    import pstats

    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).sort_stats("cumulative")
    stats.print_stats(40)
    stats.sort_stats("tottime").print_stats(25)
    mode = "tables" if use_tables else "no-tables"
    directory = Path(os.environ[PROFILE_ENV].partition(":")[0])
    (directory / f"cold-profile-{name}-{mode}-{os.getpid()}.txt").write_text(text.getvalue())


def _kernel_names(pairs: list[list[str]]) -> set[str]:
    return {target.rpartition(":")[2].rpartition(".")[2] for target, _ in pairs}


def precompile(manifest: Path, cache: Path) -> None:
    """``python -m kcompiler.aot compile`` every table into ``cache``, a Triton cache the
    tuning never wrote: the measured processes find the tables' binaries there only because
    the precompile step put them there."""
    env = {**os.environ, "TRITON_CACHE_DIR": str(cache)}
    env.pop("TRITON_INTERPRET", None)
    for pairs in json.loads(manifest.read_text()).values():
        for target, path in pairs:
            cmd = [sys.executable, "-m", "kcompiler.aot", "compile", path, target]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
            print(out.stdout.strip().splitlines()[-1], file=sys.stderr)


def measure(
    manifest: Path,
    use_tables: bool,
    device: str,
    cache: Path,
    extra_env: dict[str, str] | None = None,
) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.aot_cold_start", "--child", str(manifest)]
    cmd += ["--device", device]
    if not use_tables:
        cmd.append("--no-tables")
    env = {**os.environ, "TRITON_INTERPRET": "1", **(extra_env or {})}
    if not (extra_env or {}).get(PROFILE_ENV):  # a profile's overhead would be timed too
        env.pop(PROFILE_ENV, None)
    if device != "cpu":
        env.pop("TRITON_INTERPRET")
        env["TRITON_CACHE_DIR"] = str(cache)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(with_tables: dict[str, Any], baseline: dict[str, Any]) -> str:
    lines = [
        "| kernel | first call, CPU ms | wall ms | of which the table's choice, ms | "
        "without a table, CPU ms |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    total = base_total = 0.0
    for name in NAMES:
        r, b = with_tables["rows"][name], baseline["rows"][name]
        total += r["cpu_ms"]
        base_total += b["cpu_ms"]
        lines.append(
            f"| {name} | {r['cpu_ms']:.1f} | {r['wall_ms']:.1f} | {r['table_ms']:.1f} | "
            f"{b['cpu_ms']:.1f} |"
        )
    lines.append(f"| all nine | {total:.1f} | | | {base_total:.1f} |")
    one, base_one = with_tables["one_time_ms"], baseline["one_time_ms"]
    lines += [
        "",
        f"One-time, first kcompiler call of the process (lazy imports; a throwaway kernel): "
        f"{one[0]:.0f} ms CPU ({one[1]:.0f} ms wall); without tables {base_one[0]:.0f} ms.",
        f"Loading the nine tables: {with_tables['table_load_ms']:.1f} ms; importing torch, "
        f"kcompiler and the kernels: {with_tables['import_s']:.2f} s (excluded).",
        f"Calls served from a table: {with_tables['table_hits']} of "
        f"{with_tables['table_choices']} table lookups. The table's choice: the call's key, "
        f"the lookup, and the config space built to check the entry (tracing, which the "
        f"call's compile reuses, not included).",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-configs", type=int, default=3, help="configs tuned per table")
    parser.add_argument("--md", help="also write the report (markdown) here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--no-tables", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--device",
        default="cpu",
        help="cpu (Triton's interpreter, stand-in launches) or cuda (real launches from a "
        "Triton cache that `python -m kcompiler.aot compile` filled)",
    )
    opts = parser.parse_args()
    if opts.child:
        child(opts.child, not opts.no_tables, opts.device)
        return
    if opts.device == "cpu":
        os.environ["TRITON_INTERPRET"] = "1"
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        cache = directory / "triton-cache"
        manifest = directory / "manifest.json"
        manifest.write_text(json.dumps(prepare(directory, opts.max_configs, opts.device)))
        if opts.device != "cpu":
            precompile(manifest, cache)
        with_tables = measure(manifest, True, opts.device, cache)
        again = eager = None
        if opts.device != "cpu":
            again = measure(manifest, True, opts.device, cache)
            # The host code's own torch operations (torch.zeros, a sum) load torch's CUDA
            # kernels at their first use under CUDA's lazy loading; loaded eagerly, that
            # happens when the context is made, before the timing.
            eager = measure(manifest, True, opts.device, cache, {"CUDA_MODULE_LOADING": "EAGER"})
        if opts.device != "cpu":  # the baseline's default configs compiled once, uncounted
            measure(manifest, False, opts.device, cache)
        baseline = measure(manifest, False, opts.device, cache)
        if os.environ.get(PROFILE_ENV):  # its own process: the figures above stay unprofiled
            measure(manifest, True, opts.device, cache, {PROFILE_ENV: os.environ[PROFILE_ENV]})
    text = report(with_tables, baseline)
    if again is not None:
        # What the first process left in the cache besides the binaries (Triton's C launcher
        # per signature, the driver's utility module) is reused by the second.
        rows = again["rows"]
        text += (
            "\n\nA second process with the tables, the same cache (first call, CPU ms / wall ms): "
        )
        text += ", ".join(f"{n} {rows[n]['cpu_ms']:.1f} / {rows[n]['wall_ms']:.1f}" for n in NAMES)
        text += f"; one-time {again['one_time_ms'][0]:.0f} / {again['one_time_ms'][1]:.0f}."
    if eager is not None:
        rows = eager["rows"]
        total = sum(rows[n]["cpu_ms"] for n in NAMES)
        text += (
            "\n\nA third process, torch's CUDA kernels loaded with the context "
            "(CUDA_MODULE_LOADING=EAGER), first call CPU ms / wall ms: "
        )
        text += ", ".join(f"{n} {rows[n]['cpu_ms']:.1f} / {rows[n]['wall_ms']:.1f}" for n in NAMES)
        text += f"; all nine {total:.1f} ms CPU."
    print(text)
    if opts.md:
        Path(opts.md).write_text(text + "\n")


if __name__ == "__main__":
    main()
