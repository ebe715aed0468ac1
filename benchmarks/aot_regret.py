"""Regret of a config table: tuned on every fourth shape of a sweep, served at the others.

``python -m benchmarks.aot_regret --out DIR [--kernels sum,softmax] [--pool 12] [--every 4]``
(GPU; ``--device cpu`` runs the same under the interpreter with ``--tiny`` shapes, a dry run).

For each bundled kernel (the ``kc.kernel`` its function calls) and each of its sweep shapes
(``SWEEPS``: at least 20 a kernel, ordered along the sweep):

1. a pool of configs: the space's default and starts at the shapes the table is tuned on,
   then seeded random draws of the middle shape's space, ``--pool`` in all;
2. per-shape tuning at the tuned shapes (every ``--every``-th) = every pool config, as the
   runtime runs a table's config at a call (``table_configs.adapt``: as is where valid,
   else fitted), compiled in the tuner's compile pool, refused when ptxas reports spills
   (``KernelTarget.review_compile``, the tuner's rule) and timed with the tuner's timer
   after checking its output against the default config's; the ``--finalists`` fastest are
   timed again side by side, and the best of those is that shape's tuned config;
3. the table: the best pool config at every tuned shape (shapes sharing a key: the least
   geomean over them), built as ``kcompiler.aot`` builds one (``Table``/``Entry``);
4. at every shape, every config a table could serve (the pool and the table's entries, each
   as the runtime runs it there) is compiled and timed the same way; at every untuned shape
   the table's choice (``TableConfigs.choose``: the runtime's nearest-bucket rule), the
   choices of the other rules of ``benchmarks.regret_rules`` and the shape's ``--finalists``
   fastest are timed again side by side (interleaved rounds, median of do_bench medians with
   the L2 flushed); the score is best time / table time (1.0 when they are the same config),
   and a kernel's score is the geometric mean over its untuned shapes (issue 22's criterion:
   >= 0.97).

The whole matrix (every shape's configs with their times, or why they have none, the
side-by-side group, and which config each pool config and table entry runs as there) is
written into ``regret-<kernel>.json`` under ``"matrix"``, so other lookup rules can be scored
offline: ``python -m benchmarks.regret_rules DIR/regret-*.json`` (regret.md ends with its
table).

The shipped table (``tables/<module>.<kernel>.json``) is the same tuning over all shapes: each
key's pool config of least geomean over the key's shapes. Each kernel's results are written
as it finishes, so a run cut short keeps what it measured.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch

from benchmarks.kernels import FP32, KERNELS, Case
from benchmarks.regret_rules import Matrix, Point, candidates
from benchmarks.regret_rules import markdown as rules_markdown
from benchmarks.report import geomean as report_geomean
from benchmarks.timing import bench_ms

INF = math.inf


def _sizes(lo: float, count: int, multiple: int) -> list[int]:
    """``count`` sizes half a power of two apart from 2**lo, each rounded to a multiple of
    ``multiple`` (model widths and tritonbench's sizes are multiples of 64 or more)."""
    return [multiple * max(1, round(2 ** (lo + i / 2) / multiple)) for i in range(count)]


def _mn(ms: Sequence[int], ns: Sequence[int]) -> list[Case]:
    return [Case({"m": m, "n": n}, FP32) for m in ms for n in ns]


# Sweep shapes: 21 a kernel, one size swept half a power of two apart over tritonbench-like
# ranges and rounded as model widths are (multiples of 64 for rows, 1024 for flat vectors),
# ascending, so neighbours in the list are neighbours in size. Every fourth from the first is
# tuned, so the table holds the first and the last and the others lie between its entries;
# half of the sizes fall between two powers of two (their size buckets), where the
# nearest-bucket rule has to choose.
SWEEPS: dict[str, list[Case]] = {
    "vector_add": [Case({"n": n}) for n in _sizes(16, 21, 1024)],
    "vector_exp": [Case({"n": n}) for n in _sizes(16, 21, 1024)],
    "embedding": [Case({"B": 8, "T": 512, "D": d, "V": 2**14}) for d in _sizes(5, 21, 16)],
    "sum": _mn((4096,), _sizes(8, 21, 64)),
    "rms_norm": _mn((4096,), _sizes(7, 21, 64)),
    "layer_norm": _mn((4096,), _sizes(7, 21, 64)),
    "softmax": _mn((4096,), _sizes(7, 21, 64)),
    "cross_entropy": _mn((2048,), _sizes(8, 21, 64)),
    "jagged_mean": [Case({"B": 512, "L": 256, "D": d}) for d in _sizes(4, 21, 8)],
}


def tiny(case: Case) -> Case:
    """The case shrunk for a dry run under the interpreter (every size over 64 divided down
    to at most 64 times its power-of-two fraction, so uneven sizes stay uneven)."""
    params = {}
    for k, v in case.params.items():
        params[k] = v if v <= 64 else max(8, round(v / max(1, 2 ** (int(math.log2(v)) - 6))))
    return Case(params, case.dtype)


@dataclass
class Shape:
    """One sweep shape of one kernel: the call, its tuning target, its measured configs."""

    case: Case
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    target: Any  # runtime.tuning.KernelTarget
    key: Any  # runtime.config_table.Key
    configs: list[Any] = field(default_factory=list)  # the columns: configs of this space
    adapted: dict[Any, Any] = field(default_factory=dict)  # source -> its column (or None)
    compiled: set[Any] = field(default_factory=set)
    times: dict[Any, float] = field(default_factory=dict)  # config -> ms (inf: failed)
    sbs: dict[Any, float] = field(default_factory=dict)  # config -> side-by-side ms
    notes: dict[Any, str] = field(default_factory=dict)  # config -> why it has no time

    def time(self, config: Any) -> float:
        """The side-by-side time where there is one, else the tuner's benchmark time."""
        return self.sbs.get(config, self.times.get(config, INF))

    def best(self) -> tuple[Any, float]:
        """The fastest config: of those timed side by side where there are any."""
        among = list(self.sbs) or self.configs
        config = min(among, key=self.time)
        return config, self.time(config)

    def add(self, sources: Sequence[Any]) -> None:
        """Each source as the runtime runs a table entry's config here (``adapt``), made a
        column unless it is one or has no valid form here; the space's default too."""
        from kcompiler.runtime.table_configs import adapt

        space = self.target.space
        for source in (*sources, space.default()):
            if source in self.adapted:
                continue
            config = adapt(space, source)
            self.adapted[source] = config if space.is_valid(config) else None
            if self.adapted[source] is not None and config not in self.configs:
                self.configs.append(config)


def geomean(values: Sequence[float]) -> float:
    """``report.geomean`` of the finite positive values (failed configs are infinite); NaN
    when there are none."""
    g = report_geomean([v for v in values if v > 0 and math.isfinite(v)])
    return math.nan if g is None else g


def kernel_calls(name: str, case: Case, device: str) -> list[tuple[Any, tuple, dict]]:
    """The ``kc.kernel`` calls bundled kernel ``name`` makes at ``case``."""
    import importlib

    from benchmarks.host_profile import recorded_calls

    fn = getattr(importlib.import_module(f"kcompiler.kernels.{name}"), name)
    args = KERNELS[name].make_inputs(case.params, case.dtype, torch.device(device))
    return recorded_calls(fn, args)


def make_pool(shapes: list[Shape], tuned: list[int], size: int, seed: int) -> list[Any]:
    """Default and starts at the tuned shapes, then draws of the middle shape's space."""
    pool: list[Any] = []
    for i in tuned:
        space = shapes[i].target.space
        for config in (space.default(), *space.starts()):
            if config not in pool:
                pool.append(config)
    pool = pool[:size]
    middle = shapes[len(shapes) // 2].target.space
    rng = random.Random(seed)
    for _ in range(50 * size):
        if len(pool) >= size:
            break
        config = middle.sample(rng)
        if config not in pool:
            pool.append(config)
    return pool


def compile_all(shapes: list[Shape], workers: int, timeout_s: float) -> dict[str, int]:
    """Every (shape, config) not compiled yet through the tuner's compile pool
    (``run_shared``: in this process with one worker); spilling or failing compiles get an
    infinite time and a note."""
    from kcompiler.autotune.compile_backends import CompileJob, run_shared

    counts = {"jobs": 0, "failed": 0, "rejected": 0}

    def jobs() -> Iterator[CompileJob]:
        for si, shape in enumerate(shapes):
            for ci, config in enumerate(shape.configs):
                if config in shape.compiled:
                    continue
                shape.compiled.add(config)
                job = shape.target.precompile_job(config)
                if job is not None:
                    counts["jobs"] += 1
                    yield (si, ci), job[0], tuple(job[1])

    for outcome in run_shared(jobs(), workers=workers, timeout_s=timeout_s):
        si, ci = outcome.key  # type: ignore[misc]
        review(shapes[si], shapes[si].configs[ci], outcome.error, outcome.result, counts)
    return counts


def review(shape: Shape, config: Any, error: str | None, result: Any, counts: dict) -> None:
    if error is not None:
        counts["failed"] += 1
        shape.times[config], shape.notes[config] = INF, f"compile: {error[:200]}"
        return
    why = shape.target.review_compile(config, result)
    if why is not None:
        counts["rejected"] += 1
        shape.times[config], shape.notes[config] = INF, f"rejected: {why[:200]}"


def measure(shape: Shape) -> None:
    """The tuner's benchmark (output checked against the default config's) of each config."""
    for config in shape.configs:
        if config in shape.times:
            continue
        try:
            shape.times[config] = float(shape.target.benchmark(config))
        except Exception as e:  # noqa: BLE001 - recorded per config
            shape.times[config], shape.notes[config] = INF, f"{type(e).__name__}: {e}"[:200]


def settle(shape: Shape, extra: Sequence[Any], finalists: int, rounds: int) -> None:
    """Time the ``finalists`` fastest configs and ``extra`` (timed ones) again, side by side,
    and keep those times: one short benchmark each picks a noisy minimum (a few
    microseconds' kernels differ by less than their noise), and a table entry picked by
    noise would mislead every shape it serves."""
    timed = sorted(
        (c for c in shape.configs if math.isfinite(shape.times.get(c, INF))),
        key=lambda c: shape.times[c],
    )
    group = list(dict.fromkeys([*timed[:finalists], *(c for c in extra if c in timed)]))
    if len(group) < 2:
        return
    run = shape.target.bound.run
    shape.sbs = dict(zip(group, side_by_side([partial(run, c) for c in group], rounds)))


def best_for_key(group: list[Shape]) -> tuple[Any, float]:
    """The config of least geomean time over the shapes of one key (measured at all)."""
    candidates = [c for c in group[0].configs if all(c in s.times for s in group)]
    scored = [(geomean([s.time(c) for s in group]), c) for c in candidates]
    scored = [(t, c) for t, c in scored if math.isfinite(t)]
    if not scored:
        return group[0].best()[0], INF
    t, c = min(scored, key=lambda tc: tc[0])
    return c, t


def build_table(kernel: Any, shapes: list[Shape], indices: Sequence[int], how: str) -> Any:
    from kcompiler.aot.specs import describe_call
    from kcompiler.aot.tune import kernel_name
    from kcompiler.runtime.config_table import Entry, Table

    table = Table.new(kernel_name(kernel), {"effort": how, "strategy": "exhaustive-pool"})
    groups: dict[Any, list[Shape]] = {}
    for i in indices:
        groups.setdefault(shapes[i].key, []).append(shapes[i])
    for key, group in groups.items():
        config, t = best_for_key(group)
        calls = [
            {
                **describe_call({"args": list(s.args), "kwargs": s.kwargs}),
                "time_ms": s.time(config),
            }
            for s in group
        ]
        table.add(Entry(key, config, None if math.isinf(t) else t, calls))
    return table


def side_by_side(fns: list[Callable[[], Any]], rounds: int) -> list[float]:
    """Median over interleaved rounds of each function's ``timing.bench_ms`` (do_bench's
    median with the L2 flushed, warmup 10 ms and rep 40 ms, on a GPU; the median of a few
    laps under the interpreter)."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            samples[i].append(bench_ms(fn, device, quick=True, reps=(10, 40)))
    return [statistics.median(s) for s in samples]


def matrix_of(
    kernel: str,
    shapes: list[Shape],
    tuned: Sequence[int],
    pool: list[Any],
    table: Any,
    choices: dict[int, Any],
) -> Matrix:
    """The measured matrix as ``regret_rules`` reads it: every shape's columns with their
    times or why they have none, the side-by-side group, and the column each source (pool
    config or table entry) runs as there."""
    sources = pool + [e.config for e in table.entries if e.config not in pool]
    index: dict[Any, int] = {}
    for config in [*sources, *(c for s in shapes for c in s.configs)]:
        index.setdefault(config, len(index))
    points = []
    for i, shape in enumerate(shapes):
        col = {c: j for j, c in enumerate(shape.configs)}
        default = col[shape.target.space.default()]
        choice = choices.get(i)
        points.append(
            Point(
                shape.case.label,
                dict(shape.case.params),
                shape.key,
                i in tuned,
                [index[c] for c in shape.configs],
                [shape.times.get(c, INF) for c in shape.configs],
                [col.get(shape.adapted.get(src), default) for src in sources],
                default,
                {col[c]: why for c, why in shape.notes.items() if c in col},
                {col[c]: t for c, t in shape.sbs.items()},
                None if choice is None else col[choice],
            )
        )
    entries = [(e.key, sources.index(e.config)) for e in table.entries]
    configs = [dict(c) for c in index]
    return Matrix(kernel, configs, [index[c] for c in sources], len(pool), entries, points)


def run_kernel(name: str, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    from kcompiler.aot.tune import kernel_name
    from kcompiler.runtime.config_table import Key
    from kcompiler.runtime.table_configs import TableConfigs
    from kcompiler.runtime.tuning import KernelTarget

    t0 = time.monotonic()
    compiling = 0.0

    def compile_shapes(group: list[Shape], workers: int) -> dict[str, int]:
        nonlocal compiling
        t = time.monotonic()
        done = compile_all(group, workers, args.compile_timeout_s)
        compiling += time.monotonic() - t
        return done

    cases = SWEEPS[name][: args.shapes or None]
    if args.tiny:
        cases = [tiny(c) for c in cases]
    shapes: list[Shape] = []
    kernel = None
    for case in cases:
        calls = kernel_calls(name, case, args.device)
        if len(calls) != 1:
            raise SystemExit(f"{name}: {len(calls)} kc.kernel calls at {case.label}; expected 1")
        k, kargs, kkwargs = calls[0]
        kernel = kernel or k
        target = KernelTarget(k, kargs, dict(kkwargs))
        shapes.append(Shape(case, kargs, dict(kkwargs), target, Key.of_call(k, kargs, kkwargs)))
    assert kernel is not None
    t_setup = time.monotonic()
    tuned = list(range(0, len(shapes), args.every))
    untuned = [i for i in range(len(shapes)) if i not in tuned]
    pool = make_pool(shapes, tuned, args.pool, args.seed)

    # The tuned shapes first: their best configs are the table's entries.
    for i in tuned:
        shapes[i].add(pool)
    counts = compile_shapes([shapes[i] for i in tuned], args.workers)
    for i in tuned:
        measure(shapes[i])
        settle(shapes[i], (), args.finalists, args.rounds)
    table = build_table(kernel, shapes, tuned, f"every {args.every}th shape")

    # Then every shape gets every config a table may serve: the pool and the entries, as the
    # runtime runs them there, so a rule choosing any of them is scored on measured times.
    sources = pool + [e.config for e in table.entries if e.config not in pool]
    for shape in shapes:
        shape.add(sources)
    more = compile_shapes(shapes, args.workers)
    counts = {k: counts[k] + more[k] for k in counts}
    served = TableConfigs(kernel, table)
    choices: dict[int, Any] = {}
    for i in untuned:
        shape = shapes[i]
        measure(shape)
        chosen = served.choose(kernel, shape.args, shape.kwargs)
        choices[i] = shape.target.space.default() if chosen is None else chosen
        if choices[i] not in shape.configs:  # not one of the sources' forms: time it too
            shape.configs.append(choices[i])
            compile_shapes([shape], 1)
            measure(shape)
    for i in tuned:
        measure(shapes[i])
    # Side by side at each untuned shape: its fastest, the runtime's choice and every rule's
    # (regret_rules.candidates), so each rule's score rests on side-by-side times.
    kc_name = kernel_name(kernel)
    before = matrix_of(kc_name, shapes, tuned, pool, table, choices)
    for i in untuned:
        extra = [shapes[i].configs[c] for c in sorted(candidates(before, i))]
        settle(shapes[i], [choices[i], *extra], args.finalists, args.rounds)
    matrix = matrix_of(kc_name, shapes, tuned, pool, table, choices)

    shipped = build_table(kernel, shapes, range(len(shapes)), "all sweep shapes")
    tables = out / "tables"
    tables.mkdir(parents=True, exist_ok=True)
    shipped.save(tables / f"{kc_name.replace(':', '.')}.json")
    table.save(out / f"regret-table-{name}.json")

    rows = []
    for i, shape in enumerate(shapes):
        best, best_ms = shape.best()
        row: dict[str, Any] = {
            "shape": shape.case.label,
            "key": shape.key.ident,
            "tuned_here": i in tuned,
            "configs": len(shape.configs),
            "failed_or_rejected": sum(1 for c in shape.configs if math.isinf(shape.times[c])),
            "default_ms": shape.times.get(shape.target.space.default()),
            "best_ms": best_ms,
            "best_config": repr(best),
        }
        if i not in tuned:
            chosen = choices[i]
            row["table_config"] = repr(chosen)
            if chosen == best:
                row.update(best_retimed_ms=None, table_ms=None, score=1.0)
            else:
                b, c = shape.time(best), shape.time(chosen)
                row.update(best_retimed_ms=b, table_ms=c, score=b / c if c > 0 else math.nan)
        rows.append(row)
    scores = [r["score"] for r in rows if "score" in r]
    result = {
        "kernel": name,
        "kc_kernel": kc_name,
        "shapes": len(shapes),
        "tuned_shapes": len(tuned),
        "pool": len(pool),
        "compile": counts,
        "geomean_score": geomean(scores),
        "worst_score": min(scores) if scores else None,
        "seconds": {
            "setup": round(t_setup - t0, 1),
            "compile": round(compiling, 1),
            "measure": round(time.monotonic() - t_setup - compiling, 1),
            "total": round(time.monotonic() - t0, 1),
        },
        "rows": rows,
        "matrix": matrix.to_json(),
    }
    (out / f"regret-{name}.json").write_text(dumps(result))
    print(
        f"{name}: geomean {result['geomean_score']:.3f} worst {result['worst_score']:.3f} "
        f"over {len(scores)} untuned shapes; {len(pool)} pool configs, {counts} "
        f"({result['seconds']})",
        flush=True,
    )
    return result


def dumps(result: dict[str, Any]) -> str:
    """The result as JSON, one field a line, but the matrix's configs, entries and points one
    a line each (a matrix indented like the rest is twice the size and no easier to read)."""
    head = json.dumps({k: v for k, v in result.items() if k != "matrix"}, indent=1, default=str)
    fields = []
    for k, v in result["matrix"].items():
        if isinstance(v, list) and v:
            v = "[\n" + ",\n".join(f"   {json.dumps(x)}" for x in v) + "\n  ]"
        else:
            v = json.dumps(v)
        fields.append(f"  {json.dumps(k)}: {v}")
    return head.removesuffix("\n}") + ',\n "matrix": {\n' + ",\n".join(fields) + "\n }\n}\n"


def markdown(results: list[dict[str, Any]], header: str) -> str:
    lines = [
        header,
        "",
        "| kernel | shapes (tuned) | pool | geomean best/table | worst | compile s | measure s |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        lines.append(
            f"| {r['kernel']} | {r['shapes']} ({r['tuned_shapes']}) | {r['pool']} | "
            f"{r['geomean_score']:.3f} | {r['worst_score']:.3f} | {r['seconds']['compile']} | "
            f"{r['seconds']['measure']} |"
        )
    lines.append("")
    for r in results:
        lines += [f"## {r['kernel']}", "", "| shape | key | best ms | table ms | score |"]
        lines.append("| --- | --- | --- | --- | --- |")
        for row in r["rows"]:
            if row["tuned_here"]:
                lines.append(f"| {row['shape']} | {row['key']} | {row['best_ms']:.4g} | tuned | |")
            else:
                b = row["best_retimed_ms"] or row["best_ms"]
                t = row["table_ms"] or b
                lines.append(
                    f"| {row['shape']} | {row['key']} | {b:.4g} | {t:.4g} | {row['score']:.3f} |"
                )
        lines.append("")
    matrices = [(r["kernel"], Matrix.from_json(r["kc_kernel"], r["matrix"])) for r in results]
    lines += [
        "## Lookup rules on the measured matrix (`benchmarks.regret_rules`)",
        "",
        "Geomean best/chosen over the untuned shapes (worst), per rule.",
        "",
        rules_markdown(matrices),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--kernels", default=",".join(SWEEPS))
    parser.add_argument("--pool", type=int, default=12, help="configs timed at every shape")
    parser.add_argument("--every", type=int, default=4, help="the table is tuned on every Nth")
    parser.add_argument("--shapes", type=int, default=0, help="only the first N sweep shapes")
    parser.add_argument("--tiny", action="store_true", help="shrunk shapes (interpreter)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--workers", type=int, default=min(16, torch.get_num_threads()))
    parser.add_argument("--compile-timeout-s", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--finalists", type=int, default=3, help="fastest configs a shape times again"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    from kcompiler.runtime.config_table import current_card, current_versions

    versions = current_versions()
    header = (
        f"# Config-table regret on {current_card()}\n\n"
        f"{json.dumps(versions)} · torch {torch.__version__} · pool {args.pool} · "
        f"tuned on every {args.every}th shape\n\n"
        f"Command: `python -m benchmarks.aot_regret {' '.join(sys.argv[1:] if argv is None else argv)}`"
    )
    results = []
    for name in args.kernels.split(","):
        results.append(run_kernel(name, args, args.out))
        (args.out / "regret.md").write_text(markdown(results, header))
        gc.collect()  # the kernel's inputs and outputs, before the next kernel's
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
