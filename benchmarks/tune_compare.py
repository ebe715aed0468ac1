"""Autotuning measured (issue 5): quick vs full effort, the search strategies on one budget, the peers.

`python -m benchmarks.tune_compare --out DIR [--kernels ...] [--full-budget-s S]
[--strategy-budget-s S] [--smoke]`. For each kernel at one large shape (`LARGE`, from the
PERF-ANCHORS shapes in `kernels.py`):

1. tunes kcompiler with effort "quick", then "full" (the full preset with `--full-budget-s` as
   its wall-clock budget), each from nothing: a fresh kernel object, an empty autotune cache
   (`KCOMPILER_CACHE_DIR` and the tuner's `cache=`), an empty Triton cache (`TRITON_CACHE_DIR`)
   and fresh compile workers, so neither run profits from the other; records the wall time (the
   whole call: tracing, the default config's reference run and the search), the tuner's own
   wall time, configs tried and failed, the best time the tuner measured;
2. re-times the default, quick and full configs side by side (interleaved rounds of
   `timing.bench_ms`, the same do_bench median as `benchmarks.run`), checks each against torch
   eager, and reports quick / full;
3. times the peers (torch.compile, Helion with its default config, Liger) with the same timer;
   a peer that is missing or fails is reported with its error text;
4. then, on `--strategy-kernels` (default softmax), runs every strategy (random, pattern, de,
   optuna if it imports) from nothing with the same wall-clock budget and re-times their best
   configs side by side.

The run must fit one 10-minute device call: `--time-limit-s` (default 540) is a plan, not a
kill. Before each full run the budget is cut, if needed, to the kernel's fair share of the time
left (the report says so), and the strategy budgets shrink or are skipped at the end.
JSON and markdown are rewritten after every step (`tune_compare.json`, `tune_compare.md`), so a
run cut off keeps what it finished. `--smoke`: tiny shapes (the CPU interpreter without a GPU)
and tiny budgets, to test the plumbing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
import types
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

from benchmarks import impls, timing
from benchmarks.kernels import KERNELS, Case, KernelSpec, compare
from benchmarks.run import _error, _log, run_header

# The large shape of each kernel: an index into its PERF-ANCHORS `anchors` list.
LARGE = {"rms_norm": 0, "softmax": 0, "layer_norm": 1, "cross_entropy": 1}
STRATEGIES = ["random", "pattern", "de", "optuna"]
PEERS = ["compile", "helion", "liger"]
ISSUE_PEERS = ("compile", "helion")  # the issue asks for the best of these two
QUICK_LIMIT_S, FULL_LIMIT_S, QUICK_VS_FULL = 30.0, 180.0, 1.03  # the issue's targets

# Rough costs, used only to plan the time limit until measured ones replace them.
EST_QUICK_S, EST_REST_S, EST_SETUP_S = 25.0, 15.0, 3.0

# --smoke: tiny budgets (seconds, configs) so the whole run takes seconds on the interpreter.
SMOKE = {"quick": (4.0, 3), "full": (6.0, 4), "strategy": (3.0, 2)}


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.tune_compare", description=__doc__.splitlines()[0]
    )
    p.add_argument("--out", required=True, help="folder for tune_compare.json / .md")
    p.add_argument("--kernels", default=",".join(LARGE), help="comma-separated subset")
    p.add_argument(
        "--full-budget-s",
        type=float,
        default=120.0,
        help="wall budget of 'full' (its preset: 170); cut to fit --time-limit-s",
    )
    p.add_argument("--strategy-budget-s", type=float, default=20.0, help="per strategy")
    p.add_argument("--strategies", default=",".join(STRATEGIES), help="comma-separated")
    p.add_argument(
        "--strategy-kernels",
        default="softmax",
        help="kernels for the strategy comparison: comma-separated, 'all' or 'none'",
    )
    p.add_argument("--peers", default=None, help=f"comma-separated from {','.join(impls.PEERS)}")
    p.add_argument("--time-limit-s", type=float, default=540.0, help="plan the run to fit this")
    p.add_argument("--rounds", type=int, default=3, help="interleaved re-timing rounds")
    p.add_argument("--workers", type=int, default=None, help="compile workers (tuner default)")
    p.add_argument("--smoke", action="store_true", help="tiny shapes and budgets (CPU test)")
    return p.parse_args(argv)


# ---------------------------------------------------------------- fresh state for each tuning


@contextlib.contextmanager
def fresh_caches() -> Iterator[Path]:
    """An empty autotune cache, an empty Triton cache and new compile workers for one tuning.

    The workers inherit the environment when they start, so the shared pool is closed before
    (and after) the run: its next job starts workers that see the new TRITON_CACHE_DIR.
    """
    from kcompiler.autotune import compile_pool

    tmp = Path(tempfile.mkdtemp(prefix="kc-tune-compare-"))
    saved = {k: os.environ.get(k) for k in ("KCOMPILER_CACHE_DIR", "TRITON_CACHE_DIR")}
    os.environ["KCOMPILER_CACHE_DIR"] = str(tmp / "kcompiler")
    os.environ["TRITON_CACHE_DIR"] = str(tmp / "triton")
    compile_pool._close_shared()
    try:
        yield tmp
    finally:
        compile_pool._close_shared()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(tmp, ignore_errors=True)


def kcompiler_kernel(name: str) -> tuple[Any, Callable[[Any], Any]]:
    """(the Kernel to tune, rebind): `rebind(k)` is the benchmarked callable calling kernel `k`.

    `kcompiler.kernels.<name>.<name>` is a Kernel, or a plain wrapper (rms_norm, layer_norm:
    `rms_norm_fwd(x, w, eps)[0]`) calling one Kernel with the same arguments, as its `autotune`
    attribute does; the wrapper is then copied with that global bound to `k`.
    """
    from kcompiler.runtime.kernel import Kernel

    fn = impls.make("kcompiler", name, impls.Options())
    if isinstance(fn, Kernel):
        return fn, lambda k: k
    code, scope = fn.__code__, fn.__globals__
    inner = [n for n in code.co_names if isinstance(scope.get(n), Kernel)]
    if len(inner) != 1:
        raise TypeError(f"kcompiler.kernels.{name}.{name} calls {len(inner)} kernels, not one")

    def rebind(k: Any, g: str = inner[0]) -> Any:
        return types.FunctionType(code, {**scope, g: k}, fn.__name__, fn.__defaults__)

    return scope[inner[0]], rebind


def fresh_kernel(kernel: Any, config: Any = None) -> Any:
    """A new Kernel for the same function: no compiled variants, no tuned config."""
    from kcompiler.runtime.kernel import Kernel

    return Kernel(
        kernel.fn,
        config=config,
        configs=None if config is not None else kernel.configs,
        static_shapes=kernel.static_shapes,
        ignore_warnings=kernel.ignore_warnings,
        **kernel.settings,
    )


def tune(
    kernel: Any,
    args: tuple[Any, ...],
    *,
    effort: str,
    strategy: str | None,
    budget_s: float | None,
    max_configs: int | None,
    workers: int | None,
) -> tuple[dict[str, Any], Any]:
    """One tuning run from nothing; returns (its record, the best config or None)."""
    from kcompiler.autotune import SQLiteCache, Tuner
    from kcompiler.runtime.tuning import KernelTarget

    rec: dict[str, Any] = {"effort": effort, "strategy": strategy, "budget_s": budget_s}
    rec["max_configs"] = max_configs
    with fresh_caches() as tmp:
        k = fresh_kernel(kernel)
        t0 = time.perf_counter()
        try:
            target = KernelTarget(k, args, {})
            rec["setup_s"] = time.perf_counter() - t0  # trace, space, default config's run
            slow = _time_benchmarks(target)
            tuner = Tuner(
                target,
                cache=SQLiteCache(tmp / "kcompiler" / "autotune.sqlite"),
                workers=workers,
                progress=False,
            )
            result = tuner.tune(
                strategy=strategy, effort=effort, budget_s=budget_s, max_configs=max_configs
            )
        except Exception as e:
            rec.update(status="error", error=_error(e), wall_s=time.perf_counter() - t0)
            return rec, None
        rec["wall_s"] = time.perf_counter() - t0
    rec.update(
        status="ok",
        strategy=result.strategy,
        tuner_wall_s=result.wall_s,
        configs_tried=result.tried,
        configs_failed=result.failed,
        failures=[f"{f.config}: {f.error.splitlines()[0][:300]}" for f in result.failures[:5]],
        failure_kinds=dict(Counter(_failure_kind(f.error) for f in result.failures)),
        best_tuned_ms=result.time_ms,
        config=dict(result.config),
        config_repr=repr(result.config),
        interrupted=result.interrupted,
        from_cache=result.from_cache,
        space_size=_space_size(target.space),
        slow_benchmarks=slow,  # the tuner's in-process benchmark calls over 1 s (overruns)
    )
    from kcompiler.autotune import EFFORTS

    preset = EFFORTS.get(effort)
    limit = budget_s if budget_s is not None else preset.budget_s if preset else None
    rec["budget_s"] = limit
    # the budget is checked between configs: how far past it the tuner ran
    rec["overrun_s"] = result.wall_s - limit if limit is not None else None
    return rec, result.config


def _failure_kind(error: str) -> str:
    """'benchmark failed: OutOfResources', 'compile failed: compile timed out after 30s', ..."""
    head = error.splitlines()[0] if error else "?"
    return ":".join(head.split(":")[:2]).strip()[:80]


def _time_benchmarks(target: Any) -> list[dict[str, Any]]:
    """Wrap the target's ``benchmark`` (in-process compile + check + time of one config): the
    calls over 1 s are listed, the slowest first, so a run past its budget can be explained."""
    slow: list[dict[str, Any]] = []
    inner = target.benchmark

    def benchmark(config: Any) -> float:
        t0 = time.perf_counter()
        try:
            return inner(config)
        finally:
            dt = time.perf_counter() - t0
            if dt > 1.0:
                slow.append({"s": round(dt, 2), "config": repr(config)})
                slow.sort(key=lambda x: -x["s"])
                del slow[10:]

    target.benchmark = benchmark
    return slow


def _space_size(space: Any) -> int | None:
    """Product of the knobs' value counts (an upper bound: constraints remove some)."""
    try:
        return math.prod(len(k.values) for k in space.knobs)
    except Exception:
        return None


# ---------------------------------------------------------------- timing side by side


def retime(
    candidates: dict[str, Any],
    args: tuple[Any, ...],
    ref: torch.Tensor,
    dtype: torch.dtype,
    device: torch.device,
    rounds: int,
    quick: bool = False,
) -> dict[str, dict[str, Any]]:
    """Each callable's correctness vs torch eager, then its median ms over interleaved rounds of
    `timing.bench_ms` (so drift hits every candidate alike)."""
    out: dict[str, dict[str, Any]] = {}
    live: dict[str, Any] = {}
    for label, fn in candidates.items():
        rec: dict[str, Any] = {"status": "ok"}
        try:
            got, rec["first_call_s"] = timing.timed_call(lambda f=fn: f(*args), device)
            rec["max_abs_err"], rec["correct"], rec["note"] = compare(got, ref, dtype)
            del got
            live[label] = fn
        except Exception as e:
            rec.update(status="error", error=_error(e))
            if device.type == "cuda":
                torch.cuda.empty_cache()
        out[label] = rec
    laps: dict[str, list[float]] = {label: [] for label in live}
    for _ in range(max(1, rounds)):
        for label, fn in live.items():
            try:
                laps[label].append(timing.bench_ms(lambda f=fn: f(*args), device, quick))
            except Exception as e:
                out[label].update(status="error", error=_error(e))
    for label, ms in laps.items():
        if ms and out[label]["status"] == "ok":
            out[label].update(ms=statistics.median(ms), laps_ms=ms)
    return out


def peer_fns(names: list[str], kernel: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The peers' callables, and a record for each one that cannot be built."""
    fns: dict[str, Any] = {}
    missing: dict[str, dict[str, Any]] = {}
    for name in names:
        try:
            fn = impls.make(name, kernel, impls.Options(helion_effort="none"))
        except Exception as e:  # a missing package: say so, never drop it
            missing[name] = {"status": "not available", "error": _error(e)}
            continue
        if fn is None:
            missing[name] = {"status": "no such op"}
        else:
            fns[name] = fn
    return fns, missing


# ---------------------------------------------------------------- the run


class Plan:
    """Keeps the run inside `--time-limit-s`: cuts the full budget to a fair share of what is
    left and shrinks the strategy budgets at the end."""

    def __init__(self, args: argparse.Namespace, kernels: list[str], strategy_runs: int) -> None:
        self.start = time.monotonic()
        self.limit = args.time_limit_s
        self.kernels_left = len(kernels)
        self.strategy_runs = strategy_runs
        self.strategy_budget = args.strategy_budget_s
        self.quick_s = EST_QUICK_S
        self.rest_s = EST_REST_S
        self.setup_s = EST_SETUP_S

    def left(self) -> float:
        return self.limit - (time.monotonic() - self.start)

    def strategy_reserve(self) -> float:
        return self.strategy_runs * (self.strategy_budget + self.setup_s) + self.rest_s

    def full_budget(self, wanted: float) -> float:
        """The full run's budget for this kernel (its quick run is done)."""
        later = self.kernels_left - 1
        room = self.left() - self.strategy_reserve() - self.rest_s - self.setup_s
        room -= later * (self.quick_s + self.rest_s + self.setup_s)  # quick_s includes its setup
        return max(10.0, min(wanted, room / (later + 1)))

    def strategy_budget_now(self, runs_left: int) -> float:
        room = self.left() - self.rest_s - runs_left * self.setup_s
        return min(self.strategy_budget, room / max(1, runs_left))


def run_kernel(
    spec: KernelSpec,
    case: Case,
    args: argparse.Namespace,
    device: torch.device,
    plan: Plan,
    peers: list[str],
) -> dict[str, Any]:
    """Quick, full, the default config and the peers for one kernel at one shape."""
    torch.manual_seed(0)
    inputs = spec.make_inputs(case.params, case.dtype, device)
    ref = spec.reference(*inputs)
    dtype = _dtype(case.dtype)
    row: dict[str, Any] = {"kernel": spec.name, "shape": case.label, "dtype": dtype}
    row.update(params=case.params, bytes=spec.min_bytes(inputs, ref))
    try:
        kernel, rebind = kcompiler_kernel(spec.name)
    except Exception as e:
        row.update(status="error", error=_error(e))
        return row
    configs: dict[str, Any] = {}
    for effort in ("quick", "full"):
        budget, limit = SMOKE[effort] if args.smoke else (None, None)
        if effort == "full" and not args.smoke:
            budget = plan.full_budget(args.full_budget_s)
            if budget < args.full_budget_s:
                row["full_budget_cut"] = f"{args.full_budget_s:g} s -> {budget:.0f} s (time limit)"
        _log(f"{spec.name} {case.label} {dtype}: tuning effort={effort} budget={budget}")
        rec, config = tune(
            kernel,
            inputs,
            effort=effort,
            strategy=None,
            budget_s=budget,
            max_configs=limit,
            workers=args.workers,
        )
        row[effort] = rec
        if config is not None:
            configs[effort] = config
        _log(f"  {effort}: {_tune_line(rec)}")
        if effort == "quick" and "wall_s" in rec:
            plan.quick_s = max(plan.quick_s, rec["wall_s"])
            plan.setup_s = max(plan.setup_s, rec.get("setup_s", 0.0))
    t0 = time.monotonic()
    candidates = {"default": rebind(fresh_kernel(kernel))}
    candidates.update({e: rebind(fresh_kernel(kernel, cfg)) for e, cfg in configs.items()})
    fns, missing = peer_fns(peers, spec.name)
    _log(f"  re-timing {', '.join([*candidates, *fns])} side by side")
    timed = retime({**candidates, **fns}, inputs, ref, case.dtype, device, args.rounds, args.smoke)
    row["kcompiler"] = {k: timed[k] for k in candidates}
    row["peers"] = {**{k: timed[k] for k in fns}, **missing}
    plan.rest_s = max(plan.rest_s, time.monotonic() - t0)
    for label, rec in [*row["kcompiler"].items(), *row["peers"].items()]:
        _log(f"    {label:>8}: " + _time_line(rec))
    summarize(row)
    return row


def summarize(row: dict[str, Any]) -> None:
    """The numbers the issue asks for, and its targets as yes/no."""
    kc, peers = row.get("kcompiler", {}), row.get("peers", {})

    def ms(rec: dict[str, Any] | None) -> float | None:
        return rec.get("ms") if rec and rec.get("correct") else None

    quick, full = ms(kc.get("quick")), ms(kc.get("full"))
    s: dict[str, Any] = {"quick_ms": quick, "full_ms": full, "default_ms": ms(kc.get("default"))}
    s["quick_over_full"] = quick / full if quick and full else None
    passing = {p: ms(r) for p, r in peers.items() if ms(r)}
    issue = {p: t for p, t in passing.items() if p in ISSUE_PEERS}
    for key, group in (("compile_helion", issue), ("all_peers", passing)):
        best = min(group, key=group.__getitem__, default=None)
        s[f"best_{key}"] = best
        s[f"best_{key}_ms"] = group[best] if best else None
        tuned = min([t for t in (quick, full) if t], default=None)
        s[f"speedup_vs_{key}"] = group[best] / tuned if best and tuned else None
    q, f = row.get("quick", {}), row.get("full", {})
    s["quick_under_30s"] = q.get("wall_s", math.inf) < QUICK_LIMIT_S if "wall_s" in q else None
    s["full_under_3min"] = f.get("wall_s", math.inf) < FULL_LIMIT_S if "wall_s" in f else None
    ratio = s["quick_over_full"]
    s["quick_within_3pct"] = ratio <= QUICK_VS_FULL if ratio is not None else None
    row["summary"] = s


def run_strategies(
    spec: KernelSpec,
    case: Case,
    args: argparse.Namespace,
    device: torch.device,
    plan: Plan,
    strategies: list[str],
) -> dict[str, Any]:
    """Every strategy from nothing, on the same wall-clock budget; best configs re-timed."""
    torch.manual_seed(0)
    inputs = spec.make_inputs(case.params, case.dtype, device)
    ref = spec.reference(*inputs)
    dtype = _dtype(case.dtype)
    block: dict[str, Any] = {"kernel": spec.name, "shape": case.label, "dtype": dtype}
    block["runs"] = runs = {}
    kernel, rebind = kcompiler_kernel(spec.name)
    configs: dict[str, Any] = {}
    for i, name in enumerate(strategies):
        missing = _missing(name)
        if missing:
            runs[name] = {"status": "not available", "error": missing}
            _log(f"{spec.name} strategy {name}: not available ({missing})")
            continue
        if args.smoke:
            budget, limit = SMOKE["strategy"]
        else:
            left = sum(1 for n in strategies[i:] if not _missing(n))
            budget, limit = plan.strategy_budget_now(left), None
            if budget < 3.0:
                runs[name] = {"status": "skipped", "error": "no time left in --time-limit-s"}
                _log(f"{spec.name} strategy {name}: skipped, no time left")
                continue
        _log(f"{spec.name} {case.label} {dtype}: strategy {name}, budget {budget:.1f} s")
        # effort "full": its config cap (600) never binds in these budgets; the clock decides
        rec, config = tune(
            kernel,
            inputs,
            effort="full",
            strategy=name,
            budget_s=budget,
            max_configs=limit,
            workers=args.workers,
        )
        runs[name] = rec
        if config is not None:
            configs[name] = config
        _log(f"  {name}: {_tune_line(rec)}")
    candidates = {n: rebind(fresh_kernel(kernel, cfg)) for n, cfg in configs.items()}
    if candidates:
        _log(f"  re-timing the strategies' best configs side by side: {', '.join(candidates)}")
        timed = retime(candidates, inputs, ref, case.dtype, device, args.rounds, args.smoke)
        for name, rec in timed.items():
            runs[name]["retimed"] = rec
            _log(f"    {name:>8}: " + _time_line(rec))
    good = {n: r["retimed"]["ms"] for n, r in runs.items() if r.get("retimed", {}).get("correct")}
    best = min(good.values(), default=None)
    for name, t in good.items():
        runs[name]["vs_best_strategy"] = t / best if best else None
    return block


def _missing(strategy: str) -> str | None:
    """Why a strategy cannot run here (unknown name, optional package absent), else None."""
    from kcompiler.autotune import get_strategy

    try:
        get_strategy(strategy)
        if strategy.startswith("optuna"):
            import optuna  # noqa: F401
    except (ImportError, ValueError) as e:
        return _error(e)
    return None


def _dtype(dtype: torch.dtype) -> str:
    return {torch.float32: "fp32", torch.bfloat16: "bf16"}.get(dtype, str(dtype))


def _tune_line(rec: dict[str, Any]) -> str:
    if rec.get("status") != "ok":
        return f"{rec.get('status')}: {rec.get('error')}"
    best = rec["best_tuned_ms"]
    return (
        f"{rec['wall_s']:.1f} s wall ({rec['tuner_wall_s']:.1f} s in the tuner), "
        f"{rec['configs_tried']} configs, {rec['configs_failed']} failed, best "
        + (f"{best:.4f} ms" if best is not None else "none")
        + f": {rec['config_repr']}"
    )


def _time_line(rec: dict[str, Any]) -> str:
    if "ms" in rec:
        ok = "pass" if rec.get("correct") else f"FAIL (err {rec.get('max_abs_err')})"
        return f"{rec['ms']:.4f} ms {ok}"
    return f"{rec.get('status')}: {rec.get('error', '')}"


def case_for(spec: KernelSpec, smoke: bool) -> Case:
    """The large anchor shape; with --smoke, the tiny CPU shape of the same dtype."""
    large = spec.anchors[LARGE[spec.name]]
    if not smoke:
        return large
    return next((c for c in spec.cpu if c.dtype == large.dtype), spec.cpu[0])


# ---------------------------------------------------------------- report


def _f(x: Any, fmt: str) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, fmt)


def _yn(x: bool | None) -> str:
    return {True: "yes", False: "**no**"}.get(x, "")  # type: ignore[arg-type]


def _cfgs(rec: dict[str, Any]) -> str:
    if rec.get("status") != "ok":
        return f"{rec.get('status', '')}"
    return f"{rec['configs_tried']} ({rec['configs_failed']} failed)"


def _cell(text: Any, limit: int = 120) -> str:
    text = str(text or "").replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def markdown(meta: dict[str, Any], rows: list[dict[str, Any]], strat: list[dict[str, Any]]) -> str:
    v = meta["versions"]
    lines = [
        f"# kcompiler autotuning on {meta['card']}: quick vs full, strategies, peers",
        "",
        f"{meta['date']} · torch {v['torch']} · triton {v['triton']} · helion {v['helion']}"
        f" · liger {v['liger']} · optuna {v['optuna']} · kcompiler {v['kcompiler']}",
        "",
        f"Timer: {meta['timer']}; every ms below is a re-timing side by side in one process"
        f" ({meta['rounds']} interleaved rounds, median), correct vs torch eager. Each tuning"
        " started from nothing (fresh kernel, empty autotune and Triton caches, new compile"
        " workers). Wall = the whole call (trace, default config's reference run, search);"
        " tuner = `TuneResult.wall_s`.",
        "",
        f"Command: `{meta['command']}`",
        "",
        "## Quick vs full, and the peers",
        "",
        "| kernel | shape | dtype | quick wall s (tuner) | quick cfgs | full budget s | full wall s"
        " (tuner) | full cfgs | default ms | quick ms | full ms | quick/full | torch.compile ms"
        " | Helion ms | Liger ms | best of compile/Helion | tuned vs it |",
        "| " + " | ".join(["---"] * 17) + " |",
    ]
    for r in rows:
        q, f, s = r.get("quick", {}), r.get("full", {}), r.get("summary", {})
        peers = r.get("peers", {})

        def pm(name: str, peers: dict[str, Any] = peers) -> str:
            rec = peers.get(name)
            if rec is None:
                return ""
            if "ms" in rec:
                return _f(rec["ms"], ".4f") + ("" if rec.get("correct") else " FAIL")
            return rec.get("status", "")

        def wall(rec: dict[str, Any]) -> str:
            if "wall_s" not in rec:
                return rec.get("status", "")
            return f"{rec['wall_s']:.1f} ({_f(rec.get('tuner_wall_s'), '.1f')})"

        best = s.get("best_compile_helion")
        lines.append(
            f"| {r['kernel']} | {r['shape']} | {r['dtype']} | {wall(q)} | {_cfgs(q)} | "
            f"{_f(f.get('budget_s'), '.0f')} | {wall(f)} | {_cfgs(f)} | "
            f"{_f(s.get('default_ms'), '.4f')} | {_f(s.get('quick_ms'), '.4f')} | "
            f"{_f(s.get('full_ms'), '.4f')} | {_f(s.get('quick_over_full'), '.3f')} | "
            f"{pm('compile')} | {pm('helion')} | {pm('liger')} | "
            f"{best or ''} {_f(s.get('best_compile_helion_ms'), '.4f')} | "
            f"{_f(s.get('speedup_vs_compile_helion'), '.2f')} |"
        )
    lines += [
        "",
        "Targets (issue 5): quick < 30 s, full < 3 min, quick within 3 % of full (re-timed).",
        "",
        "| kernel | quick < 30 s | full < 3 min | quick within 3 % | best peer overall | tuned vs it"
        " | configs |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        s = r.get("summary", {})
        cfg = " / ".join(
            f"{e}: `{r[e]['config_repr']}`"
            for e in ("quick", "full")
            if "config_repr" in r.get(e, {})
        )
        lines.append(
            f"| {r['kernel']} | {_yn(s.get('quick_under_30s'))} | {_yn(s.get('full_under_3min'))}"
            f" | {_yn(s.get('quick_within_3pct'))} | {s.get('best_all_peers') or ''} "
            f"{_f(s.get('best_all_peers_ms'), '.4f')} | {_f(s.get('speedup_vs_all_peers'), '.2f')}"
            f" | {_cell(cfg, 400)} |"
        )
    notes = []
    for r in rows:
        if r.get("full_budget_cut"):
            notes.append(f"{r['kernel']}: full budget cut {r['full_budget_cut']}")
        if r.get("error"):
            notes.append(f"{r['kernel']}: {r['error']}")
        for effort in ("quick", "full"):
            rec = r.get(effort, {})
            if rec.get("error"):
                notes.append(f"{r['kernel']} {effort}: {rec['error']}")
            if rec.get("failure_kinds"):
                kinds = ", ".join(f"{n} x {k}" for k, n in rec["failure_kinds"].items())
                notes.append(f"{r['kernel']} {effort}: {rec['configs_failed']} failed: {kinds}")
            for fail in rec.get("failures", []):
                notes.append(f"{r['kernel']} {effort} failed config: {fail}")
        for label, rec in [*r.get("kcompiler", {}).items(), *r.get("peers", {}).items()]:
            if rec.get("error"):
                notes.append(f"{r['kernel']} {label}: {rec['status']}: {rec['error']}")
            elif "ms" in rec and not rec.get("correct"):
                notes.append(
                    f"{r['kernel']} {label}: wrong result, max abs err {rec['max_abs_err']}"
                )
    if strat:
        lines += [
            "",
            "## Strategies on the same wall-clock budget",
            "",
            "Effort `full` (600-config cap, never reached) with the budget below; each from"
            " nothing. tuner ms: the tuner's own (short) do_bench; re-timed: side by side.",
            "",
            "| kernel | strategy | budget s | wall s (tuner) | configs | tuner best ms | re-timed ms"
            " | vs best | config |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for b in strat:
            for name, rec in b["runs"].items():
                rt = rec.get("retimed", {})
                wall = (
                    f"{rec['wall_s']:.1f} ({_f(rec.get('tuner_wall_s'), '.1f')})"
                    if "wall_s" in rec
                    else ""
                )
                lines.append(
                    f"| {b['kernel']} {b['shape']} {b['dtype']} | {name} | "
                    f"{_f(rec.get('budget_s'), '.1f')} | {wall} | {_cfgs(rec)} | "
                    f"{_f(rec.get('best_tuned_ms'), '.4f')} | {_f(rt.get('ms'), '.4f')}"
                    f"{'' if not rt or rt.get('correct') else ' FAIL'} | "
                    f"{_f(rec.get('vs_best_strategy'), '.3f')} | "
                    f"{_cell(rec.get('config_repr') or rec.get('error'), 200)} |"
                )
                if rec.get("status") not in ("ok", None) and rec.get("error"):
                    notes.append(f"strategy {name}: {rec['status']}: {rec['error']}")
    if notes:
        lines += ["", "## Notes, failures and errors", ""]
        lines += [f"- {_cell(n, 600)}" for n in notes]
    lines += ["", f"Total wall time {meta.get('total_s', 0):.0f} s.", ""]
    return "\n".join(lines)


def write(out: Path, meta: dict[str, Any], rows: list[Any], strat: list[Any]) -> str:
    out.mkdir(parents=True, exist_ok=True)
    meta["total_s"] = time.monotonic() - meta["_start"]
    public = {k: v for k, v in meta.items() if not k.startswith("_")}
    payload = {"meta": public, "kernels": rows, "strategies": strat}
    (out / "tune_compare.json").write_text(json.dumps(payload, indent=1, default=str) + "\n")
    md = markdown(public, rows, strat)
    (out / "tune_compare.md").write_text(md)
    return md


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    cuda = device.type == "cuda"
    names = [k.strip() for k in args.kernels.split(",") if k.strip()]
    unknown = [k for k in names if k not in LARGE]
    if unknown:
        sys.exit(f"unknown kernel(s) {unknown}; known: {', '.join(LARGE)}")
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    sk = args.strategy_kernels
    strat_kernels = (
        names if sk == "all" else [] if sk == "none" else [k.strip() for k in sk.split(",") if k]
    )
    bad = [k for k in strat_kernels if k not in LARGE]
    if bad:
        sys.exit(f"unknown strategy kernel(s) {bad}; known: {', '.join(LARGE)}")
    peers = (args.peers or ("torch,helion" if args.smoke else ",".join(PEERS))).split(",")
    peers = [p for p in peers if p]
    card = torch.cuda.get_device_name(device) if cuda else "cpu (Triton interpreter)"
    meta: dict[str, Any] = {
        "_start": time.monotonic(),
        **run_header(card, "optuna"),
        "timer": "triton.testing.do_bench median (warmup 25 ms, rep 100 ms), L2 flushed"
        if cuda
        else "time.perf_counter median (CPU dry run: the numbers mean nothing)",
        "smoke": args.smoke,
        "kernels": names,
        "strategies": strategies,
        "strategy_kernels": strat_kernels,
        "peers": peers,
        "full_budget_s": args.full_budget_s,
        "strategy_budget_s": args.strategy_budget_s,
        "time_limit_s": args.time_limit_s,
        "rounds": args.rounds,
        "efforts": _efforts(),
        "command": "python -m benchmarks.tune_compare "
        + " ".join(sys.argv[1:] if argv is None else argv),
    }
    out = Path(args.out)
    rows: list[dict[str, Any]] = []
    strat: list[dict[str, Any]] = []
    runs = sum(1 for s in strategies if not _missing(s)) * len(strat_kernels)
    plan = Plan(args, names, runs)
    _log(f"{card}: kernels {','.join(names)}; strategies on {','.join(strat_kernels) or 'none'}")
    try:
        for name in names:
            spec = KERNELS[name]
            rows.append(run_kernel(spec, case_for(spec, args.smoke), args, device, plan, peers))
            plan.kernels_left -= 1
            write(out, meta, rows, strat)
            if cuda:
                torch.cuda.empty_cache()
        for name in strat_kernels:
            spec = KERNELS[name]
            strat.append(
                run_strategies(spec, case_for(spec, args.smoke), args, device, plan, strategies)
            )
            plan.strategy_runs -= sum(1 for s in strategies if not _missing(s))
            write(out, meta, rows, strat)
    except KeyboardInterrupt:
        _log("interrupted: writing what is finished")
        write(out, meta, rows, strat)
        return 130
    md = write(out, meta, rows, strat)
    print(md, flush=True)
    _log(f"wrote {out}/tune_compare.json and tune_compare.md in {meta['total_s']:.0f} s")
    return 0


def _efforts() -> dict[str, Any]:
    from kcompiler.autotune import EFFORTS

    return {
        k: None
        if e is None
        else {f: getattr(e, f) for f in ("max_configs", "budget_s", "compile_timeout_s")}
        for k, e in EFFORTS.items()
    }


if __name__ == "__main__":
    sys.exit(main())
