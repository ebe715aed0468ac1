"""Compile jobs on Ray against the local process pool, on one machine (CPU only), and what
the measured figures imply for tuning with N compile workers.

    python -m benchmarks.ray_compile                      # 2 workers, 4 kernels x 6 configs
    python -m benchmarks.ray_compile --workers 4 --configs 12 --kernels softmax,matmul_dot

Three measurements, each for the local pool (``CompilePool``) and for Ray
(``RayCompilePool`` on a local Ray instance with ``--workers`` CPUs, or ``--address``):

1. Start-up: the first job's round trip from a pool with no worker yet.
2. Dispatch overhead: ``--noops`` jobs that do nothing (``os.getpid``) through warm workers,
   once one at a time (the round trip of a job: what each compile pays on top of its own
   time) and once all queued (jobs per second).
3. Real compiles for sm_90: ``--configs`` configs drawn (seeded) from each kernel's derived
   space at its benchmark shape (``benchmarks.space_report.representative``), their launches
   generated here for a GPU (the tuner's work per config on the GPU host, timed), compiled
   by ``target_compile.compile_launches`` through each backend into a fresh, empty Triton
   cache. Reports wall time, the compile seconds each job measured, the result's pickled
   size (what travels back to the GPU host), and whether both backends built the same cubins.

Writes benchmarks/results/cpu/ray-compile.md (the tables; the scaling write-up there is
prose written from them). No GPU is used.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import pickle
import platform
import random
import statistics
import sys
import tempfile
import time
from typing import Any

os.environ.setdefault("TRITON_INTERPRET", "1")  # this process only generates code
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # a local Ray on 127.0.0.1
os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # one user, one machine: no token

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "cpu" / "ray-compile-measured.md"
DEFAULT_KERNELS = "softmax,rms_norm_fwd,layer_norm_fwd,matmul_dot"


def drain(pool: Any, limit_s: float = 1800.0) -> list[Any]:
    out: list[Any] = []
    end = time.monotonic() + limit_s
    while pool.pending and time.monotonic() < end:
        out.extend(pool.poll(1.0))
    return out


def round_trip(pool: Any, n: int) -> list[float]:
    """Seconds from submit to outcome of ``n`` no-op jobs, one at a time."""
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        pool.submit(("rt", i), os.getpid, ())
        while not pool.poll(10.0):
            pass
        times.append(time.perf_counter() - t0)
    return times


def measure_dispatch(make_pool: Any, noops: int) -> dict[str, float]:
    pool = make_pool()
    try:
        t0 = time.perf_counter()
        pool.submit("first", os.getpid, ())
        drain(pool)
        cold = time.perf_counter() - t0
        for i in range(pool.max_workers * 2):  # every worker started and warm
            pool.submit(("warm", i), os.getpid, ())
        drain(pool)
        rt = round_trip(pool, max(10, noops // 4))
        t0 = time.perf_counter()
        for i in range(noops):
            pool.submit(("burst", i), os.getpid, ())
        done = drain(pool)
        burst = time.perf_counter() - t0
        assert len(done) == noops and all(o.error is None for o in done)
    finally:
        pool.close()
    return {
        "cold_s": cold,
        "rt_median_ms": statistics.median(rt) * 1e3,
        "rt_p90_ms": sorted(rt)[int(0.9 * (len(rt) - 1))] * 1e3,
        "jobs_per_s": noops / burst,
    }


def draw_jobs(kernels: list[str], configs: int, seed: int) -> list[dict[str, Any]]:
    """Per drawn config: its launch specs for a GPU and the seconds generating them took."""
    from benchmarks.space_report import representative_kernels
    from kcompiler.backends.triton.precompile import record_launch

    rng = random.Random(seed)
    jobs = []
    for name, _, kernel, args in representative_kernels(kernels):
        space = kernel.config_space(*args)
        seen: set[Any] = set()
        for _ in range(configs * 5):
            if len(seen) == configs:
                break
            config = space.default() if not seen else space.sample(rng)
            if config in seen:
                continue
            seen.add(config)
            t0 = time.perf_counter()
            launches = kernel.generated_launches(list(args), {}, config, interpret=False)
            specs = [s for src, fn, a in launches for s in record_launch(src, fn, a)]
            jobs.append(
                {
                    "kernel": name,
                    "config": config,
                    "specs": specs,
                    "gen_s": time.perf_counter() - t0,
                }
            )
        print(f"{name}: {len(seen)} configs", flush=True)
    return jobs


def measure_compiles(make_pool: Any, jobs: list[dict[str, Any]]) -> dict[str, Any]:
    from kcompiler.backends.triton.target_compile import compile_launches

    pool = make_pool()
    try:
        for i in range(pool.max_workers):  # workers started (start-up is measured above)
            pool.submit(("warm", i), os.getpid, ())
        drain(pool)
        t0 = time.perf_counter()
        for i, job in enumerate(jobs):
            pool.submit(i, compile_launches, (job["specs"], "sm_90"), 600.0)
        done = drain(pool)
        wall = time.perf_counter() - t0
    finally:
        pool.close()
    by_key = {o.key: o for o in done}
    results = {}
    for i, _ in enumerate(jobs):
        o = by_key[i]
        binaries = o.result or []
        results[i] = {
            "error": o.error or next((b.error for b in binaries if not b.ok), None),
            "seconds": sum(b.seconds for b in binaries),
            "sha": tuple(b.sha256 for b in binaries),
            "spills": max((b.spill_bytes or 0 for b in binaries), default=0),
            "bytes": len(pickle.dumps(o.result)),
        }
    return {"wall_s": wall, "jobs": results}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--configs", type=int, default=6, help="configs per kernel")
    ap.add_argument("--kernels", default=DEFAULT_KERNELS)
    ap.add_argument("--noops", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--address", default=None, help="an existing Ray cluster")
    ap.add_argument("--out", type=pathlib.Path, default=OUT)
    opts = ap.parse_args()

    import ray

    from kcompiler.autotune.compile_pool import CompilePool
    from kcompiler.autotune.ray_pool import RayCompilePool
    from kcompiler.backends.triton.target_compile import worker_environment

    if opts.address:
        ray.init(address=opts.address, log_to_driver=False)
    else:
        ray.init(num_cpus=opts.workers, include_dashboard=False, log_to_driver=False)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="ray-compile-bench-"))
    caches = {"local": 0, "ray": 0}

    def local_pool() -> CompilePool:
        caches["local"] += 1
        env = worker_environment() | {"TRITON_CACHE_DIR": str(tmp / f"local{caches['local']}")}
        return CompilePool(opts.workers, 600.0, env=env)

    def ray_pool() -> RayCompilePool:
        caches["ray"] += 1
        env = {"TRITON_CACHE_DIR": str(tmp / f"ray{caches['ray']}")}
        return RayCompilePool(opts.workers, 600.0, env=env)

    pools = {"local": local_pool, "ray": ray_pool}
    dispatch = {}
    for name, make in pools.items():
        dispatch[name] = measure_dispatch(make, opts.noops)
        print(name, dispatch[name], flush=True)
    jobs = draw_jobs(opts.kernels.split(","), opts.configs, opts.seed)
    compiles = {}
    for name, make in pools.items():
        compiles[name] = measure_compiles(make, jobs)
        print(name, "compile wall", round(compiles[name]["wall_s"], 1), flush=True)
    ray.shutdown()
    write_report(opts, dispatch, jobs, compiles)


def write_report(opts: Any, dispatch: dict, jobs: list, compiles: dict) -> None:
    import triton

    lines = [
        "# Ray compile backend vs the local pool: measured (benchmarks/ray_compile.py)",
        "",
        f"`python -m benchmarks.ray_compile --workers {opts.workers} --configs {opts.configs} "
        f"--kernels {opts.kernels}`",
        "",
        f"Machine: {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"Python {sys.version.split()[0]}, Triton {triton.__version__}, "
        f"Ray {__import__('ray').__version__}; target sm_90, no GPU. "
        f"Load average at the end: {os.getloadavg()[0]:.1f}.",
        "",
        "## Start-up and dispatch (no-op jobs)",
        "",
        "| backend | first job, cold pool (s) | round trip median (ms) | p90 (ms) | jobs/s, queued |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, d in dispatch.items():
        lines.append(
            f"| {name} | {d['cold_s']:.2f} | {d['rt_median_ms']:.2f} | {d['rt_p90_ms']:.2f} "
            f"| {d['jobs_per_s']:.0f} |"
        )
    gen = [j["gen_s"] for j in jobs]
    lines += [
        "",
        f"## sm_90 compiles: {len(jobs)} configs, {opts.workers} workers, empty caches",
        "",
        f"Generating a config's launches on the GPU host (codegen + recording the call): "
        f"median {statistics.median(gen) * 1e3:.0f} ms, max {max(gen) * 1e3:.0f} ms.",
        "",
        "| backend | wall (s) | configs/s | compile s/config, mean | median | p90 | max "
        "| failed | result size median (KB) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, c in compiles.items():
        secs = sorted(r["seconds"] for r in c["jobs"].values())
        failed = sum(1 for r in c["jobs"].values() if r["error"])
        size = statistics.median(r["bytes"] for r in c["jobs"].values()) / 1024
        lines.append(
            f"| {name} | {c['wall_s']:.1f} | {len(jobs) / c['wall_s']:.2f} "
            f"| {statistics.mean(secs):.2f} | {statistics.median(secs):.2f} | {secs[int(0.9 * (len(secs) - 1))]:.2f} "
            f"| {secs[-1]:.2f} | {failed} | {size:.0f} |"
        )
    same = sum(
        1
        for i in range(len(jobs))
        if compiles["local"]["jobs"][i]["sha"] == compiles["ray"]["jobs"][i]["sha"]
        and not compiles["local"]["jobs"][i]["error"]
    )
    lines += [
        "",
        f"Same cubins from both backends: {same} of {len(jobs)} configs.",
        "",
        "| kernel | configs | compile s/config (local), mean | median | max | spilling configs |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for kernel in dict.fromkeys(j["kernel"] for j in jobs):
        idx = [i for i, j in enumerate(jobs) if j["kernel"] == kernel]
        secs = [compiles["local"]["jobs"][i]["seconds"] for i in idx]
        spills = sum(1 for i in idx if compiles["local"]["jobs"][i]["spills"])
        lines.append(
            f"| {kernel} | {len(idx)} | {statistics.mean(secs):.2f} "
            f"| {statistics.median(secs):.2f} | {max(secs):.2f} "
            f"| {spills} |"
        )
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {opts.out}")


if __name__ == "__main__":
    main()
