"""Register spills and shared memory of each bundled kernel's configs, compiled for sm_90 on
the CPU: what ptxas reports before any GPU benchmark.

    python -m benchmarks.spill_report                      # starts + 12 draws per kernel
    python -m benchmarks.spill_report --draws 25 --cases softmax,attention --workers 2

Each kernel of benchmarks/space_report.py's ``representative()`` set (the bundled kernels at
their benchmark shapes; inputs are ``torch.empty``, only traced) gets its config space derived
as the autotuner derives it, and every start plus ``--draws`` random configs (fixed seed) is
generated as GPU code and compiled by Triton for ``--target`` in compile-pool workers
(``backends/triton/target_compile.py``; no GPU involved). Per config it records ptxas's
registers and spill-store bytes a thread, Triton's shared memory next to the space's estimate
(``runtime/tuning.shared_memory_estimate``), and the compile time or error.

Writes ``<out>/spills-<target>.json`` (one row per config) and ``<out>/spills-<target>.md``
(per kernel: spill fraction and largest spill, the estimate against Triton's figure as the
smallest and largest ratio estimate / Triton, compile seconds; and per benchmark kernel how
many configs that won a recorded GPU tuning run today's space still holds,
benchmarks/recorded_winners.py); the default ``<out>`` is benchmarks/results/cpu/. The run is
CPU-bound (about 1.5 s a compile); keep ``--draws`` small on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

os.environ.setdefault("TRITON_INTERPRET", "1")  # tracing only; compiles run in workers

from kcompiler.runtime.tuning import DOT_SPILL_ALLOWANCE  # noqa: E402

if TYPE_CHECKING:
    from kcompiler.autotune.compile_pool import CompileOutcome

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "cpu"


def configs_for(space, draws: int, seed: int) -> list[tuple[str, object]]:
    """(origin, config): the space's default and starts, then ``draws`` distinct random ones."""
    out = [("default", space.default())]
    out += [("start", c) for c in space.starts() if c != space.default()]
    rng = random.Random(seed)
    seen = {repr(c) for _, c in out}
    for _ in range(draws * 4):
        if sum(1 for o, _ in out if o == "draw") >= draws:
            break
        c = space.sample(rng)
        if repr(c) not in seen:
            seen.add(repr(c))
            out.append(("draw", c))
    return out


def launch_ready(name: str, args: tuple) -> tuple:
    """fp8_gemm's host code first copies a row-major y into K-major storage with another
    kernel (``k_major``), which would run on the interpreter for every config drawn: pass y
    K-major already, as that copy leaves it, so the GEMM launch compiled is the same."""
    if name != "fp8_gemm":
        return args
    import torch

    x, y, *rest = args
    return (x, torch.empty(y.shape[1], y.shape[0], dtype=y.dtype).t(), *rest)


def launch_specs_or_error(kernel: Any, args: tuple, config: Any, row: dict) -> list | None:
    """The compile specs of every launch ``config`` makes at ``args`` (GPU code, nothing
    launched), or None with the generation error recorded in ``row["error"]``."""
    from kcompiler.backends.triton.precompile import record_launch

    try:
        launches = kernel.generated_launches(args, {}, config, interpret=False)
        return [s for src, f, a in launches for s in record_launch(src, f, a)]
    except Exception as e:  # noqa: BLE001 - a config that does not generate
        row["error"] = f"generate: {type(e).__name__}: {e}"
        return None


def compile_for_target(
    work: Iterable[tuple[int, list]], target: str, workers: int, timeout_s: float
) -> Iterator[CompileOutcome]:
    """Each ``(key, launch specs)`` of ``work`` compiled for ``target`` (figures only, no
    binaries kept) in a private compile pool of ``workers`` processes set up to compile for a
    GPU (``target_compile.worker_environment``), each job submitted as ``work`` yields it;
    outcomes as they finish."""
    from kcompiler.autotune.compile_backends import run_local
    from kcompiler.backends.triton.target_compile import compile_launches, worker_environment

    jobs = ((key, compile_launches, (specs, target, False)) for key, specs in work)
    return run_local(jobs, workers=workers, timeout_s=timeout_s, env=worker_environment())


def collect(
    names: list[str],
    draws: int,
    seed: int,
    target: str,
    workers: int,
    on_progress: Any = None,
    timeout_s: float = 300.0,
) -> list[dict]:
    """One row per config (see the module docstring); ``on_progress(rows)`` every 20
    compiles, so a run cut short keeps what it measured."""
    from benchmarks.space_report import representative_kernels
    from kcompiler.runtime.tuning import shared_memory_estimate

    rows: list[dict] = []
    jobs: dict[int, dict] = {}

    def work() -> Iterator[tuple[int, list]]:
        for name, label, kernel, args in representative_kernels(names):
            args = launch_ready(name, args)
            try:
                space = kernel.config_space(*args)
            except Exception as e:  # noqa: BLE001 - reported in the table
                rows.append(dict(kernel=name, shape=label, error=f"space: {e}"))
                continue
            has_dot = "dot_registers" in {c.name for c in space.constraints}
            estimate = shared_memory_estimate(kernel, args)
            for origin, config in configs_for(space, draws, seed):
                row = dict(
                    kernel=name,
                    shape=label,
                    origin=origin,
                    dot=has_dot,
                    config=dict(config),
                    flat=space.to_flat(config),
                    estimate=estimate(config),
                )
                specs = launch_specs_or_error(kernel, args, config, row)
                rows.append(row)
                if specs is None:
                    continue
                jobs[len(rows) - 1] = row
                yield len(rows) - 1, specs
            print(f"{name}: queued ({len(jobs)} configs so far)", flush=True)

    done = 0
    for outcome in compile_for_target(work(), target, workers, timeout_s):
        row = jobs[outcome.key]
        done += 1
        if outcome.error is not None:
            row["error"] = outcome.error.splitlines()[0]
            continue
        binaries = outcome.result
        # A binary over the target's shared memory compiled: its figures are kept
        # beside the error (target_compile.over_shared_memory).
        failed = [b.error for b in binaries if b.error and b.shared_bytes is None]
        row["seconds"] = sum(b.seconds for b in binaries)
        if failed:
            row["error"] = failed[0]
            continue
        over = [b.error for b in binaries if b.error]
        if over:
            row["error"] = over[0]
        row["registers"] = max(b.registers for b in binaries)
        row["spill_bytes"] = max(b.spill_bytes for b in binaries)
        row["shared"] = max(b.shared_bytes for b in binaries)
        row["sha256"] = [b.sha256 for b in binaries]
        if done % 20 == 0:
            print(f"compiled {done}/{len(jobs)}", flush=True)
            if on_progress is not None:
                on_progress(rows)
    return rows


def summarize(rows: list[dict]) -> list[dict]:
    out = []
    for name in dict.fromkeys(r["kernel"] for r in rows):
        mine = [r for r in rows if r["kernel"] == name]
        ok = [r for r in mine if "spill_bytes" in r]
        drawn = [r for r in ok if r.get("origin") == "draw"]
        spilling = [r for r in drawn if r["spill_bytes"] > 0]
        allowance = DOT_SPILL_ALLOWANCE if mine[0].get("dot") else 0
        rejected = [r for r in drawn if r["spill_bytes"] > allowance]
        with_smem = [r for r in ok if r["shared"] or r["estimate"]]
        below = [r for r in with_smem if r["estimate"] < r["shared"]]
        over = [(r["estimate"] - r["shared"]) / r["shared"] for r in with_smem if r["shared"] > 0]
        ratios = [r["estimate"] / r["shared"] for r in with_smem if r["shared"] > 0]
        out.append(
            dict(
                kernel=name,
                shape=mine[0]["shape"],
                configs=len(mine),
                errors=len(mine) - len(ok),
                draws=len(drawn),
                spilling_draws=len(spilling),
                spill_fraction=len(spilling) / len(drawn) if drawn else 0.0,
                rejected_draws=len(rejected),
                allowance=allowance,
                starts_spilling=sum(
                    1 for r in ok if r.get("origin") != "draw" and r["spill_bytes"]
                ),
                max_spill=max((r["spill_bytes"] for r in ok), default=0),
                smem_configs=len(with_smem),
                smem_below=len(below),
                smem_max_over=max(over, default=0.0),
                smem_ratio_min=min(ratios, default=1.0),
                smem_ratio_max=max(ratios, default=1.0),
                compile_s=statistics.median([r["seconds"] for r in ok]) if ok else 0.0,
            )
        )
    return out


def render(summary: list[dict], meta: dict) -> str:
    drawn = sum(s["draws"] for s in summary)
    spill = sum(s["spilling_draws"] for s in summary)
    rejected = sum(s["rejected_draws"] for s in summary)
    lines = [
        f"# Spills and shared memory for {meta['target']}, compiled on the CPU",
        "",
        f"`python -m benchmarks.spill_report --draws {meta['draws']} --seed {meta['seed']}` at "
        f"{meta['commit']} ({meta['machine']}, Triton {meta['triton']}, {meta['seconds']:.0f} s).",
        f"Each kernel: its default and starts, and {meta['draws']} random draws of its derived "
        "space at the benchmark shape (benchmarks/space_report.py `representative()`). Spills: "
        "ptxas's spill-store bytes a thread; smem: the space's estimate against Triton's "
        "`metadata.shared` (below: estimate < Triton's; over: the largest (estimate - "
        "Triton) / Triton).",
        "",
        f"Drawn configs that spill: {spill} of {drawn} ({100 * spill / max(1, drawn):.1f} %).",
        "",
        f"Drawn configs the tuner would reject (spilling more than the allowance: 0 B, "
        f"{DOT_SPILL_ALLOWANCE} B with tile.dot): {rejected} of {drawn}.",
        "",
        "| kernel | configs | errors | draws spilling | draws over allowance | starts spilling "
        "| max spill B | smem configs | est. below | est. over max | est./Triton min-max "
        "| compile s (median) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s in summary:
        lines.append(
            f"| {s['kernel']} | {s['configs']} | {s['errors']} | {s['spilling_draws']}/"
            f"{s['draws']} ({100 * s['spill_fraction']:.0f} %) | {s['rejected_draws']} | "
            f"{s['starts_spilling']} | "
            f"{s['max_spill']} | {s['smem_configs']} | {s['smem_below']} | "
            f"{100 * s['smem_max_over']:.1f} % | {s.get('smem_ratio_min', 1.0):.2f}-"
            f"{s.get('smem_ratio_max', 1.0):.2f} | {s['compile_s']:.2f} |"
        )
    winners = meta.get("winners")
    if winners:
        lines += [
            "",
            "Configs that won a recorded H100/H200 tuning run (benchmarks/results/**/*.json) "
            "still in today's space at the shape they won at (benchmarks/recorded_winners.py):",
            "",
            "| benchmark kernel | winners | kept |",
            "| --- | --- | --- |",
        ]
        for name, (total, kept) in sorted(winners.items()):
            lines.append(f"| {name} | {total} | {kept} |")
    return "\n".join(lines) + "\n"


def winners_kept() -> dict[str, tuple[int, int]]:
    """Per benchmark kernel: (recorded winners, winners today's space still holds)."""
    from benchmarks.recorded_winners import check, winners

    out: dict[str, tuple[int, int]] = {}
    spaces: dict[Any, Any] = {}
    for w in winners():
        total, kept = out.get(w.kernel, (0, 0))
        out[w.kernel] = (total + 1, kept + (not check(w, spaces)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=12, help="random configs per kernel")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cases", default="", help="comma-separated kernel names (default: all)")
    parser.add_argument("--target", default="sm_90")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds a compile job may take"
    )
    parser.add_argument("--out", type=pathlib.Path, default=OUT)
    parser.add_argument(
        "--render", action="store_true", help="rewrite spills.md from <out>/spills.json only"
    )
    args = parser.parse_args()
    stem = f"spills-{args.target.replace('_', '')}"
    if args.render:
        data = json.loads((args.out / f"{stem}.json").read_text())
        summary = summarize(data["rows"])
        data["summary"] = summary
        (args.out / f"{stem}.json").write_text(json.dumps(data, indent=1, default=str))
        (args.out / f"{stem}.md").write_text(render(summary, data["meta"]))
        print(render(summary, data["meta"]))
        return
    from benchmarks.space_report import representative

    names = [n for n in representative() if not args.cases or n in args.cases.split(",")]
    t0 = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)

    def partial(rows: list[dict]) -> None:
        (args.out / f"{stem}.partial.json").write_text(json.dumps(rows, default=str))

    rows = collect(names, args.draws, args.seed, args.target, args.workers, partial, args.timeout)
    (args.out / f"{stem}.partial.json").unlink(missing_ok=True)
    import triton

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    meta = dict(
        target=args.target,
        draws=args.draws,
        seed=args.seed,
        commit=commit,
        machine=f"{platform.machine()}, {os.cpu_count()} CPUs",
        triton=triton.__version__,
        seconds=time.perf_counter() - t0,
        winners=winners_kept() if not args.cases else {},
    )
    summary = summarize(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}.json").write_text(
        json.dumps(dict(meta=meta, summary=summary, rows=rows), separators=(",", ":"), default=str)
    )
    (args.out / f"{stem}.md").write_text(render(summary, meta))
    print(render(summary, meta))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
