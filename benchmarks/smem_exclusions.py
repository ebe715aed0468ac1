"""Configs the ``shared_memory`` constraint excludes, compiled for sm_90 on the CPU: would
Triton have fitted them?

    python -m benchmarks.smem_exclusions --per-kernel 6
    python -m benchmarks.smem_exclusions --cases matmul,attention --per-kernel 12

The spill report (benchmarks/spill_report.py) compares the estimate with Triton's figure on
configs drawn from the derived space, so it never sees the configs the estimate keeps out.
This draws, for each kernel of benchmarks/space_report.py's ``representative()`` set, configs
from the space without its ``shared_memory`` constraint whose estimate is over the device's
limit (at most twice it: the region a wrong exclusion would matter), generates them with the
backend's shared-memory check off, and compiles them for ``--target`` in compile-pool
workers. A config whose Triton figure fits the limit was excluded wrongly; the output lists
every config with both figures and ends with the count.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import random
from collections.abc import Iterator
from typing import Any

os.environ.setdefault("TRITON_INTERPRET", "1")  # tracing only; compiles run in workers

ROOT = pathlib.Path(__file__).resolve().parents[1]


def excluded_configs(space: Any, estimate: Any, limit: int, n: int, seed: int) -> list[Any]:
    """Up to ``n`` distinct configs of ``space`` without its ``shared_memory`` constraint
    whose ``estimate`` lies in (limit, 2 x limit]."""
    from kcompiler.autotune import ConfigSpace

    free = ConfigSpace(space.knobs, [c for c in space.constraints if c.name != "shared_memory"])
    rng = random.Random(seed)
    out: list[Any] = []
    seen: set[str] = set()
    for _ in range(400 * n):
        if len(out) >= n:
            break
        c = free.sample(rng)
        if repr(c) not in seen and limit < estimate(c) <= 2 * limit:
            seen.add(repr(c))
            out.append(c)
    return out


def collect(names: list[str], per_kernel: int, seed: int, target: str, workers: int) -> list[dict]:
    """One row per excluded config: kernel, config, estimate, Triton's figure or the error."""
    from benchmarks.space_report import representative_kernels
    from benchmarks.spill_report import compile_for_target, launch_ready, launch_specs_or_error
    from kcompiler.compiler.checks import shared_memory_limit
    from kcompiler.runtime.tuning import shared_memory_estimate

    limit = shared_memory_limit()
    # GPU code is generated whatever the estimate says (compiler/checks.check_shared_memory):
    # Triton's figure for the target is the verdict asked for.
    rows: list[dict] = []

    def work() -> Iterator[tuple[int, list]]:
        for name, label, kernel, args in representative_kernels(names):
            args = launch_ready(name, args)
            estimate = shared_memory_estimate(kernel, args)
            for config in excluded_configs(
                kernel.config_space(*args), estimate, limit, per_kernel, seed
            ):
                row = dict(kernel=name, shape=label, config=dict(config), estimate=estimate(config))
                specs = launch_specs_or_error(kernel, args, config, row)
                rows.append(row)
                if specs is not None:
                    yield len(rows) - 1, specs

    for outcome in compile_for_target(work(), target, workers, timeout_s=300):
        row = rows[outcome.key]
        errors = [] if outcome.error is None else [outcome.error]
        # Over the target's shared memory is an error with the figure kept: the figure is
        # what this script asks for.
        errors += [b.error for b in outcome.result or [] if b.error and b.shared_bytes is None]
        if errors:
            row["error"] = errors[0].splitlines()[0]
            continue
        row["shared"] = max(b.shared_bytes for b in outcome.result)
    for row in rows:
        row["fits"] = row.get("shared") is not None and row["shared"] <= limit
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kernel", type=int, default=6)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--cases", default="", help="comma-separated kernel names (default: all)")
    parser.add_argument("--target", default="sm_90")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=pathlib.Path, default=None, help="write the rows here")
    args = parser.parse_args()
    from benchmarks.space_report import representative

    names = [n for n in representative() if not args.cases or n in args.cases.split(",")]
    rows = collect(names, args.per_kernel, args.seed, args.target, args.workers)
    for r in rows:
        mark = "  FITS: excluded wrongly" if r["fits"] else ""
        print(f"{r['kernel']}: estimate {r['estimate']:,} Triton {r.get('shared')} "
              f"{r.get('error', '')}{mark}")  # fmt: skip
    wrong = sum(r["fits"] for r in rows)
    print(f"{len(rows)} excluded configs compiled, {wrong} of them fit ({args.target})")
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=1, default=str))


if __name__ == "__main__":
    main()
