"""The shared-memory estimate of many configs of every bundled kernel, written to JSON so that
two runs can be compared: a refactor of ``backends/triton/shared_memory`` must leave every
number unchanged, and a rule change should change only the configs it means to.

    python -m benchmarks.shared_memory_snapshot --out /tmp/before.json
    python -m benchmarks.shared_memory_snapshot --out /tmp/after.json --compare /tmp/before.json

Kernels are benchmarks/space_report.py's ``representative()`` set (the bundled kernels at
their benchmark shapes; inputs are ``torch.empty``, only traced). Per kernel: its space's
default and starts, then ``--draws`` random configs (fixed seed) of the space without its
``shared_memory`` constraint, so that the configs drawn do not depend on the estimate being
checked. Per config: the space's estimate (``runtime/tuning.shared_memory_estimate``), and
for single-launch kernels ``shared_memory_of_config`` with and without ``num_warps`` (the
scratch is counted only with it) and with ``TRANSIENT_TMA_BUFFERS`` off (Triton before 3.9's
rules). CPU only; about a minute a kernel on a loaded machine.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable
from typing import Any

import kcompiler

FLAG = "TRANSIENT_TMA_BUFFERS"


def _with_flag(value: bool, fn: Callable[..., int], *args: Any) -> int:
    """``fn(*args)`` with every loaded kcompiler module's ``TRANSIENT_TMA_BUFFERS`` set to
    ``value`` (the rules read it as a module global at call time)."""
    holders = [
        m
        for name, m in list(sys.modules.items())
        if name.startswith(kcompiler.__name__) and m is not None and hasattr(m, FLAG)
    ]
    saved = [getattr(m, FLAG) for m in holders]
    for m in holders:
        setattr(m, FLAG, value)
    try:
        return fn(*args)
    finally:
        for m, v in zip(holders, saved):
            setattr(m, FLAG, v)


def snapshot(names: list[str] | None, draws: int, seed: int) -> list[dict]:
    """One row per (kernel, config): see the module docstring."""
    from benchmarks.space_report import representative, representative_kernels
    from benchmarks.spill_report import launch_ready
    from kcompiler.autotune import ConfigSpace
    from kcompiler.backends.triton.shared_memory import shared_memory_of_config
    from kcompiler.runtime.tuning import shared_memory_estimate

    rows: list[dict] = []
    for name, _, kernel, args in representative_kernels(names or list(representative())):
        t0 = time.perf_counter()
        args = launch_ready(name, args)
        space = kernel.config_space(*args)
        modules = kernel.traced_modules(args, {})
        estimate = shared_memory_estimate(kernel, args)
        free = ConfigSpace(space.knobs, [c for c in space.constraints if c.name != "shared_memory"])
        configs = [("default", space.default())]
        configs += [("start", c) for c in space.starts()]
        rng = random.Random(seed)
        configs += [("draw", free.sample(rng)) for _ in range(draws)]
        for origin, config in configs:
            cfg = dict(config)
            row: dict[str, Any] = dict(kernel=name, origin=origin, config=repr(cfg))
            row["space"] = estimate(config)
            if len(modules) == 1:
                module = modules[0]
                row["of_config"] = shared_memory_of_config(module, cfg)
                no_warps = {k: v for k, v in cfg.items() if k != "num_warps"}
                row["no_warps"] = shared_memory_of_config(module, no_warps)
                row["triton_3_6"] = _with_flag(False, shared_memory_of_config, module, cfg)
            rows.append(row)
        print(f"{name}: {len(configs)} configs, {time.perf_counter() - t0:.0f} s", flush=True)
    return rows


def compare(rows: list[dict], before: list[dict]) -> int:
    """Print each row whose figures differ from ``before``'s row of the same kernel and
    position (only the kernels of ``rows`` are compared); returns how many differ."""

    def by_kernel(table: list[dict]) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {}
        for r in table:
            out.setdefault(r["kernel"], []).append(r)
        return out

    old = by_kernel(before)
    diffs = 0
    for name, now in by_kernel(rows).items():
        then = old.get(name, [])
        if len(now) != len(then):
            print(f"{name}: {len(now)} rows now, {len(then)} before")
            diffs += abs(len(now) - len(then))
        for a, b in zip(now, then):
            if a != b:
                diffs += 1
                print(f"differs: {b} -> {a}")
    return diffs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--compare", help="an earlier run's JSON: print the rows that differ")
    parser.add_argument("--draws", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kernels", help="comma-separated names (default: all)")
    opts = parser.parse_args()
    names = opts.kernels.split(",") if opts.kernels else None
    rows = snapshot(names, opts.draws, opts.seed)
    with open(opts.out, "w") as f:
        json.dump(rows, f, indent=0)
    figures = sum(len(r) - 3 for r in rows)
    print(f"{len(rows)} (kernel, config) rows, {figures} estimates -> {opts.out}")
    if opts.compare:
        with open(opts.compare) as f:
            diffs = compare(rows, json.load(f))
        print(f"{diffs} rows differ")
        sys.exit(1 if diffs else 0)


if __name__ == "__main__":
    main()
