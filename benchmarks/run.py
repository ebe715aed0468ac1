"""Entry point: `python -m benchmarks.run` compares the implementations of the nine kernels.

Modes: the PERF-ANCHORS shapes (default), `--sweep` (tritonbench-like sizes), `--small` (host
overhead per call). On CUDA each kernel runs in a child process by default, so a kernel that
leaves the CUDA context broken (an illegal address, say) costs its own rows, not the run's.
See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

import torch

from benchmarks import impls, report, timing
from benchmarks.kernels import KERNELS, Case, KernelSpec, compare

SMALL_N, SMALL_CALLS = 4096, 2000


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.splitlines()[0]
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--sweep", action="store_true", help="tritonbench-like sizes per kernel")
    mode.add_argument(
        "--small", action="store_true", help="host overhead: vector_add, 4096 elements"
    )
    p.add_argument(
        "--kernels", default=",".join(KERNELS), help="comma-separated (default: all nine)"
    )
    p.add_argument("--impls", default=None, help=f"comma-separated from {','.join(impls.ALL)}")
    p.add_argument(
        "--max-autotune", action="store_true", help="add torch.compile max-autotune-no-cudagraphs"
    )
    p.add_argument("--quick", action="store_true", help="fewer warmup/timing reps")
    p.add_argument("--out", default=None, help="output folder (default benchmarks/results/<card>)")
    p.add_argument("--device", default=None, help="cuda (default when present) or cpu (a dry run)")
    p.add_argument("--helion-effort", default="none", choices=["none", "quick", "full"])
    p.add_argument("--kc-effort", default="quick", help="effort passed to kcompiler's autotune")
    p.add_argument(
        "--copy-gib", type=float, default=None, help="size of the copy_ (default 1; CPU 1/16)"
    )
    # a child process (one kernel) is given the parent's copy bandwidth
    p.add_argument("--copy-gbps", type=float, default=None, help=argparse.SUPPRESS)
    p.add_argument(
        "--tensor-core",
        action="store_true",
        help="the tensor-core kernels (matmul, attention, fp8_gemm; benchmarks/tensor_core.py)",
    )
    p.add_argument(
        "--index-checks",
        choices=["on", "off"],
        default=None,
        help="kcompiler's bounds checks of computed indices (sets KCOMPILER_INDEX_CHECKS for "
        "this run and its child processes; default: the environment's, else on)",
    )
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--no-isolate", action="store_true", help="run all kernels in this process")
    p.add_argument(
        "--merge", nargs="+", metavar="JSON", help="combine runs split by --kernels into --out"
    )
    return p.parse_args(argv)


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def _kcompiler_version() -> str:
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10
        ).stdout.strip()

    try:
        sha = git("rev-parse", "--short", "HEAD")
        # A tree copied without its history (the GPU machine) can carry a stale .git: say so.
        if sha and git("status", "--porcelain", "--untracked-files=no"):
            sha += " + uncommitted changes"
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return sha or "unknown (no git)"


def run_header(card: str, *extra_versions: str) -> dict[str, Any]:
    """What every results file starts with: the card, its slug, the date and the versions
    (``extra_versions``: more distributions to name)."""
    versions = {"torch": torch.__version__}
    for dist in ("triton", "liger-kernel", "helion", *extra_versions):
        versions[dist.removesuffix("-kernel")] = _version(dist)
    versions["kcompiler"] = _kcompiler_version()
    return {
        "card": card,
        "card_slug": re.sub(r"[^a-z0-9]+", "-", card.lower()).strip("-"),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": versions,
    }


def _error(e: BaseException) -> str:
    """One line for a row: the exception type and message, with the innermost frame."""
    frames = [f for f in traceback.extract_tb(e.__traceback__) if not f.filename.startswith("<")]
    where = f" [{Path(frames[-1].filename).name}:{frames[-1].lineno}]" if frames else ""
    return f"{type(e).__name__}: {str(e).strip()[:400]}{where}"


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_case(
    spec: KernelSpec,
    case: Case,
    names: list[str],
    opts: impls.Options,
    device: torch.device,
    copy: float,
    quick: bool,
) -> list[report.Row]:
    """Every implementation on one shape: correctness vs torch eager, then the median time."""
    torch.manual_seed(0)
    args = spec.make_inputs(case.params, case.dtype, device)
    ref = spec.reference(*args)
    nbytes = spec.min_bytes(args, ref)
    dtype = {torch.float32: "fp32", torch.bfloat16: "bf16"}.get(case.dtype, str(case.dtype))
    rows = []
    for name in names:
        row: report.Row = {
            "kernel": spec.name,
            "shape": case.label,
            "params": case.params,
            "dtype": dtype,
        }
        row.update(impl=name, bytes=nbytes, status="ok")
        try:
            fn = impls.make(name, spec.name, opts)
        except Exception as e:  # a missing package or module: report it, go on
            row.update(status="not available", error=_error(e))
            fn = None
        if fn is None and row["status"] == "ok":
            continue  # this implementation has no such op
        if fn is not None:
            try:
                if name == "kcompiler":
                    row["tune"] = impls.kcompiler_autotune(fn, args, opts.kc_effort)
                forms = impls.form_names(name, spec.name)
                if forms:
                    row.update(_best_form(name, spec, forms, opts, args, ref, case, device, quick))
                else:
                    row.update(_measure(fn, args, ref, case, device, quick))
                gbps = nbytes / (row["ms"] * 1e-3) / 1e9
                row.update(gbps=gbps, pct_copy=100 * gbps / copy)
            except Exception as e:
                row.update(status="error", error=_error(e))
                if device.type == "cuda":
                    torch.cuda.empty_cache()
        ok = {True: "pass", False: "FAIL"}.get(row.get("correct"), row["status"])
        _log(
            f"  {spec.name} {case.label} {dtype} {name:>22}: "
            + (
                f"{row['ms']:.4f} ms {row['pct_copy']:5.1f}% copy BW {ok}"
                if "ms" in row
                else f"{ok}: {row.get('error')}"
            )
        )
        rows.append(row)
    return rows


def _measure(
    fn: Any, args: tuple[Any, ...], ref: torch.Tensor, case: Case, device: torch.device, quick: bool
) -> dict[str, Any]:
    """One implementation's first call, its error against torch eager, and its median ms."""
    out, first_call_s = timing.timed_call(lambda: fn(*args), device)
    err, correct, note = compare(out, ref, case.dtype)
    del out
    ms = timing.bench_ms(lambda: fn(*args), device, quick)
    return {
        "first_call_s": first_call_s,
        "max_abs_err": err,
        "correct": correct,
        "note": note,
        "ms": ms,
    }


def _best_form(
    name: str,
    spec: KernelSpec,
    forms: list[str],
    opts: impls.Options,
    args: tuple[Any, ...],
    ref: torch.Tensor,
    case: Case,
    device: torch.device,
    quick: bool,
) -> dict[str, Any]:
    """Time each torch formulation of `spec` under `name` and keep the fastest correct one.

    The row names the form it kept (`form`) and every form's ms or error (`forms`); a form that
    raises costs its own entry. Each form is built just before it runs, since building a
    torch.compile peer resets dynamo's caches.
    """
    results: dict[str, dict[str, Any]] = {}
    summary: dict[str, Any] = {}
    for form in forms:
        try:
            fn = impls.make(name, spec.name, opts, form)
            results[form] = _measure(fn, args, ref, case, device, quick)
            summary[form] = results[form]["ms"] if results[form]["correct"] else "mismatch"
        except Exception as e:
            summary[form] = _error(e)
            if device.type == "cuda":
                torch.cuda.empty_cache()
    if not results:
        raise RuntimeError(
            "every form failed: " + "; ".join(f"{f}: {e}" for f, e in summary.items())
        )
    # the fastest form that matches torch eager, else the fastest (the row then reads FAIL)
    pool = [f for f in results if results[f]["correct"]] or list(results)
    best = min(pool, key=lambda f: results[f]["ms"])
    others = ", ".join(
        f"{f} {v:.4f} ms" if isinstance(v, float) else f"{f}: {v}"
        for f, v in summary.items()
        if f != best
    )
    note = "; ".join(n for n in (results[best]["note"], f"form {best} (vs {others})") if n)
    return {**results[best], "note": note, "form": best, "forms": summary}


# The CUDA-graph rows: (row, what each graph captures, calls per graph). Their µs per call is
# one replay's time divided by the calls it holds (timing.graph_us_per_call).
GRAPH_ROWS = [
    ("kcompiler-graph-100", "kcompiler", 100),
    ("kcompiler-graph-1", "kcompiler", 1),
    ("torch-graph-100", "torch", 100),
    ("torch-graph-1", "torch", 1),
    ("triton-empty-graph-100", "triton-empty", 100),
]
GRAPH_REPLAYS = {100: 200, 1: SMALL_CALLS}


def run_small(names: list[str], opts: impls.Options, device: torch.device) -> list[report.Row]:
    """Per-call host time of vector_add at 4096 elements for each implementation, bare Triton
    (through ``kernel[grid]`` and through ``CompiledKernel.run`` with its arguments computed
    once), an empty kernel's direct launch (the launch floor), and calls replayed from CUDA
    graphs. Ratios to the bare Triton launch and to the launch floor are added to each row."""
    torch.manual_seed(0)
    x, y = (torch.randn(SMALL_N, device=device) for _ in range(2))
    rows = []
    built: dict[str, Any] = {}  # impl -> its callable, reused by its graph rows
    candidates: list[tuple[str, str]] = [(n, n) for n in names]
    if "kcompiler" in names:  # the same kernel with every launch through Triton's JIT
        candidates.append(("kcompiler-jit", "kcompiler-jit"))
    candidates += [
        ("triton-bare", "triton-bare"),
        ("triton-bare+alloc", "triton-bare+alloc"),
        ("triton-run", "triton-run"),
        ("triton-empty-run", "triton-empty-run"),
    ]
    graphs = {row: (source, per_graph) for row, source, per_graph in GRAPH_ROWS}
    candidates += [
        (row, source)
        for row, source, _ in GRAPH_ROWS
        if source in names or source == "triton-empty"
    ]
    for name, source in candidates:
        row: report.Row = {"impl": name, "status": "ok"}
        fn = None
        try:
            if name in graphs:
                if device.type != "cuda":
                    raise RuntimeError("a CUDA graph needs a CUDA device")
                if source == "triton-empty":
                    built.setdefault(source, impls.triton_empty_jit())
                if source not in built:
                    raise RuntimeError(f"the {source} row did not run")
                fn = built[source]
            elif name == "kcompiler-jit":
                fn = impls.kcompiler_jit_launch(impls.make("kcompiler", "vector_add", opts))
            elif name.startswith("triton-"):
                if device.type != "cuda":
                    raise RuntimeError("a bare Triton launch needs a CUDA device")
                if name.startswith("triton-bare"):
                    fn = impls.triton_bare_add(with_alloc=name.endswith("+alloc"))
                else:
                    fn = impls.triton_direct_run(x, y, empty=name == "triton-empty-run")
            else:
                fn = impls.make(name, "vector_add", opts)
        except Exception as e:
            row.update(status="not available", error=_error(e))
            fn = None
        if fn is not None:
            try:
                per_graph = graphs[name][1] if name in graphs else None
                _time_small(row, name, fn, x, y, opts, device, per_graph)
                built.setdefault(name, fn)
            except Exception as e:
                row.update(status="error", error=_error(e))
        if fn is not None or row["status"] != "ok":
            _log(
                f"  {name:>22}: "
                + (f"{row['us_per_call']:.1f} us/call" if "us_per_call" in row else row["error"])
            )
            rows.append(row)
    add_ratios(rows)
    return rows


def _time_small(
    row: report.Row,
    name: str,
    fn: Any,
    x: torch.Tensor,
    y: torch.Tensor,
    opts: impls.Options,
    device: torch.device,
    per_graph: int | None,
) -> None:
    """Fill ``row`` for one --small candidate: tuning (kcompiler), the first call, the
    correctness check against ``x + y`` (not for the empty kernel, which computes nothing)
    and µs per call, directly or replayed from a CUDA graph of ``per_graph`` calls (whose
    rows have no first call: their callable has run already, in another row)."""
    empty = name.startswith("triton-empty")
    if per_graph is not None:
        row["us_per_call"], out = timing.graph_us_per_call(
            lambda: fn(x, y), device, per_graph, GRAPH_REPLAYS[per_graph]
        )
        row["calls_per_graph"] = per_graph
    else:
        if name == "kcompiler":
            row["tune"] = impls.kcompiler_autotune(fn, (x, y), opts.kc_effort)
        out, row["first_call_s"] = timing.timed_call(lambda: fn(x, y), device)
        row["us_per_call"] = timing.host_us_per_call(lambda: fn(x, y), device, SMALL_CALLS)
    if empty:
        row["note"] = "an empty kernel: no output to check"
    else:
        row["max_abs_err"], row["correct"], row["note"] = compare(out, x + y, torch.float32)


def add_ratios(rows: list[report.Row]) -> None:
    """Each timed row's µs per call over the bare Triton launch's (``vs_triton_bare``) and
    over the empty kernel's direct launch (``vs_launch_floor``), where those rows ran."""
    us = {r["impl"]: r["us_per_call"] for r in rows if "us_per_call" in r}
    for key, base in (("vs_triton_bare", "triton-bare"), ("vs_launch_floor", "triton-empty-run")):
        if us.get(base):
            for r in rows:
                if "us_per_call" in r:
                    r[key] = r["us_per_call"] / us[base]


def run_isolated(args: argparse.Namespace, kernel: str, copy: float, mode: str) -> list[report.Row]:
    """Run one kernel in a child process and read back its rows; a crash becomes an error row."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = f"-m benchmarks.run --kernels {kernel} --no-isolate --no-plots --copy-gbps {copy}"
        cmd += f" --impls {args.impls} --device {args.device} --helion-effort {args.helion_effort}"
        cmd += " --sweep" * args.sweep + " --quick" * args.quick
        cmd += " --tensor-core" * args.tensor_core
        cmd = [sys.executable, *cmd.split(), "--kc-effort", args.kc_effort, "--out", tmp]
        rc = subprocess.run(cmd).returncode
        path = Path(tmp) / f"{mode}.json"
        rows = json.loads(path.read_text())["rows"] if path.exists() else []
    if rc != 0:
        last = f"{rows[-1]['shape']} {rows[-1]['impl']}" if rows else "nothing"
        error = f"child process exited with status {rc}; last row done: {last} (see the log)"
        rows.append({"kernel": kernel, "shape": "?", "dtype": "?", "impl": "(process)"})
        rows[-1].update(status="error", error=error)
    return rows


def merge(paths: list[str], out_dir: Path, plots: bool) -> int:
    """One report from several JSON files of the same mode and card (a run split across calls)."""
    runs = [json.loads(Path(p).read_text()) for p in paths]
    metas = [r["meta"] for r in runs]
    if len({(m["mode"], m["card"]) for m in metas}) > 1:
        sys.exit("--merge: the files differ in mode or card; compare only runs on one card")
    meta = dict(
        metas[0],
        merged_from=[{k: m.get(k) for k in ("date", "kernels", "copy_gbps")} for m in metas],
    )
    meta["kernels"] = [k for m in metas for k in m["kernels"]]
    meta["command"] = "; ".join(m["command"] for m in metas)
    for note in report.write(out_dir, meta, [row for r in runs for row in r["rows"]], plots):
        _log(note)
    _log(f"wrote {out_dir}/{meta['mode']}.json and {meta['mode']}.md from {len(runs)} runs")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.merge:
        return merge(args.merge, Path(args.out or "."), not args.no_plots)
    if args.index_checks is not None:  # read by kcompiler when it compiles; children inherit it
        os.environ["KCOMPILER_INDEX_CHECKS"] = "1" if args.index_checks == "on" else "0"
    args.device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    if args.tensor_core:
        from benchmarks import tensor_core

        if args.kernels == ",".join(KERNELS):  # the default: all of them
            args.kernels = ",".join(tensor_core.KERNELS)
        KERNELS.update(tensor_core.KERNELS)  # the table impls.make reads too
    names = [k.strip() for k in args.kernels.split(",") if k.strip()]
    unknown = [k for k in names if k not in KERNELS]
    if unknown:
        sys.exit(f"unknown kernel(s) {unknown}; known: {', '.join(KERNELS)}")
    chosen = (
        args.impls.split(",")
        if args.impls
        else impls.DEFAULT + (["compile-max-autotune"] if args.max_autotune else [])
    )
    args.impls = ",".join(chosen)
    opts = impls.Options(helion_effort=args.helion_effort, kc_effort=args.kc_effort)
    mode = "small" if args.small else "sweep" if args.sweep else "anchors"
    header = run_header(torch.cuda.get_device_name(device) if cuda else "cpu")
    slug = header["card_slug"]
    out_dir = Path(args.out) if args.out else Path(__file__).resolve().parent / "results" / slug
    copy_gib = args.copy_gib or (1.0 if cuda else 1 / 16)
    meta: dict[str, Any] = {
        "mode": mode,
        **header,
        "timer": "triton.testing.do_bench median, L2 flushed before each rep"
        if cuda
        else "time.perf_counter median (CPU dry run, no cache flush)",
        "quick": args.quick,
        "impls": chosen,
        "kernels": names,
        "helion_effort": args.helion_effort,
        "kc_effort": args.kc_effort,
        "kc_index_checks": os.environ.get("KCOMPILER_INDEX_CHECKS", "1") != "0",
        "command": "python -m benchmarks.run " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    rows: list[report.Row] = []
    try:
        if args.small:
            meta.update(small_n=SMALL_N, small_calls=SMALL_CALLS)
            rows = run_small(chosen, opts, device)
        else:
            copy = args.copy_gbps or timing.copy_gbps(device, copy_gib, args.quick)
            meta.update(copy_gbps=copy, copy_gib=copy_gib)
            _log(
                f"{header['card']}: copy bandwidth {copy:,.0f} GB/s; mode {mode}; impls {','.join(chosen)}"
            )
            for name in names:
                spec = KERNELS[name]
                if cuda and not args.no_isolate and len(names) > 1:
                    rows += run_isolated(args, name, copy, mode)
                    report.write(out_dir, meta, rows, plots=False)
                    continue
                cases = spec.cpu if not cuda else spec.sweep if args.sweep else spec.anchors
                for case in cases:
                    rows += run_case(spec, case, chosen, opts, device, copy, args.quick)
                    report.write(out_dir, meta, rows, plots=False)
    except KeyboardInterrupt:
        _log("interrupted: writing the rows finished so far")
        report.write(out_dir, meta, rows, plots=False)
        return 130
    for note in report.write(out_dir, meta, rows, plots=not args.no_plots):
        _log(note)
    _log(f"wrote {out_dir}/{mode}.json and {mode}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
