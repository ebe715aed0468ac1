"""Config-space report: each bundled kernel's derived autotune space, and how many configs
drawn from it compile and match torch.

    python -m benchmarks.space_report                 # 50 draws per kernel (thorough profile)
    python -m benchmarks.space_report --draws 10 --cases softmax,matmul

Part 1 traces each kernel at one representative (GPU-sized) shape -- host code and tracing
only, inputs are ``torch.empty`` -- and lists the space's knobs, its raw product and
``ConfigSpace.size()`` (exact up to 1e6 raw combinations, a fixed-seed estimate above).
Part 2 replays tests/kernels/test_config_space_draws.py: hypothesis (``thorough`` profile,
``max_examples=--draws``) draws small odd-shaped inputs and a seed, the seed samples a config
from the space derived for those inputs, the kernel runs on Triton's CPU interpreter and is
compared with torch. Unlike the test, a failing draw is counted and the drawing goes on, so the
fractions are over all draws. Writes benchmarks/results/config_space_sizes.md.
"""

from __future__ import annotations

import argparse
import collections
import functools
import importlib.util
import os
import pathlib
import subprocess
import sys
import time
import warnings
from collections.abc import Iterable
from typing import Any

os.environ.setdefault("TRITON_INTERPRET", "1")

import torch  # noqa: E402
import triton  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
DRAWS_TEST = ROOT / "tests" / "kernels" / "test_config_space_draws.py"
CONFTEST = ROOT / "tests" / "conftest.py"  # registers the hypothesis profiles
OUT = ROOT / "benchmarks" / "results" / "config_space_sizes.md"


def _load(name: str, path: pathlib.Path):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up while building Case
    spec.loader.exec_module(module)
    return module


def _e(*shape, dtype=torch.float32):
    return torch.empty(*shape, dtype=dtype)


def representative() -> dict[str, tuple[str, tuple]]:
    """name -> (shape label, args): GPU-sized inputs; only traced, never run."""
    m, n = 4096, 8192
    bf = torch.bfloat16
    lengths = torch.randint(0, 513, (512,), generator=torch.Generator().manual_seed(0))
    offsets = torch.cat([torch.zeros(1, dtype=torch.int64), lengths.cumsum(0)])
    x, w = _e(m, n), _e(n)
    q = _e(4, 16, 2048, 64, dtype=bf)
    kv = _e(4, 16, 2048, 64, dtype=bf)
    k1 = _e(4, 16, 1, 64, dtype=bf)
    mk = (4096, 4096)
    fp8 = torch.float8_e4m3fn
    rows = f"x [{m}, {n}] fp32"
    return {
        "vector_add": (f"[{m}, {n}] + [{n}] fp32", (x, w)),
        "vector_exp": ("[2**24] fp32", (_e(2**24),)),
        "embedding": (
            "idx [8, 2048], weight [32000, 4096] fp32",
            (torch.zeros(8, 2048, dtype=torch.int64), _e(32000, 4096)),
        ),
        "sum": (rows, (x,)),
        "rms_norm_fwd": (rows, (x, w, 1e-5)),
        "layer_norm_fwd": (rows + ", bias", (x, [n], w, w, 1e-5)),
        "softmax": (rows, (x,)),
        "softmax_decomposed": (rows, (x,)),
        "softmax_two_pass": (rows, (x,)),
        "cross_entropy": (
            "logits [4096, 32000] fp32",
            (_e(4096, 32000), torch.zeros(4096, dtype=torch.int64)),
        ),
        "jagged_mean": (
            f"512 rows, {int(offsets[-1])} values x 256 fp32",
            (_e(int(offsets[-1]), 256), offsets, torch.full((512,), 256, dtype=torch.int32), 256),
        ),
        "matmul": (
            "[4096, 4096] @ [4096, 4096] bf16, bias, relu",
            (_e(*mk, dtype=bf), _e(*mk, dtype=bf), _e(4096, dtype=bf), "relu"),
        ),
        "matmul_dot": ("[4096, 4096] @ [4096, 4096] bf16", (_e(*mk, dtype=bf), _e(*mk, dtype=bf))),
        "attention": ("q, k, v [4, 16, 2048, 64] bf16, causal", (q, kv, kv, True)),
        "fp8_gemm": (
            "[4096, 4096] @ [4096, 4096] e4m3",
            (_e(*mk, dtype=fp8), _e(*mk, dtype=fp8), torch.tensor(1.0), torch.tensor(1.0)),
        ),
        "exp_bwd": ("[2**24] fp32", (_e(2**24), _e(2**24))),
        "softmax_bwd": (rows, (x, x)),
        "rms_norm_bwd": (rows, (x, x, w, _e(m, 1))),
        "layer_norm_bwd": (rows + ", bias grad", (x, x, _e(m), _e(m), w, True)),
        "rms_norm_bwd_static": (rows + " (static_shapes=True)", (x, x, w, _e(m, 1))),
        "layer_norm_bwd_static": (
            rows + ", bias grad (static_shapes=True)",
            (x, x, _e(m), _e(m), w, True),
        ),
        "attention_causal_kv_len_1": (
            "q [4, 16, 2048, 64], k, v [4, 16, 1, 64] bf16, causal",
            (q, k1, k1, True),
        ),
    }


@functools.cache
def draws_module() -> Any:
    """tests/kernels/test_config_space_draws.py (its ``CASES``: each bundled kernel the draws
    test runs), loaded once, after the tests' conftest, which registers the hypothesis
    profiles it reads."""
    _load("_kc_tests_conftest", CONFTEST)
    return _load("_config_space_draws", DRAWS_TEST)


def representative_kernels(names: Iterable[str]) -> list[tuple[str, str, Any, tuple]]:
    """(name, shape label, kernel, args) of each named kernel of ``draws_module().CASES`` at
    its ``representative()`` shape."""
    cases = draws_module().CASES
    reps = representative()
    out = []
    for name in names:
        label, args = reps[name]
        out.append((name, label, cases[name].kernel, args))
    return out


def space_rows(mod, names):
    rows = []
    for name, label, kernel, args in representative_kernels(names):
        t0 = time.perf_counter()
        try:
            space = kernel.config_space(*args)
            size = space.size()
            rows.append(
                dict(
                    name=name,
                    shape=label,
                    space=space,
                    size=size,
                    raw=space.raw_size(),
                    s=time.perf_counter() - t0,
                )
            )
        except Exception as e:  # noqa: BLE001 - reported in the table
            rows.append(dict(name=name, shape=label, error=mod._describe(e)))
        print(f"space {name}: {rows[-1].get('size', rows[-1].get('error'))}", flush=True)
    return rows


def _collector(mod, case, records, profile, draws):
    @settings(profile, max_examples=draws, database=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def collect(data):
        args, seed = data.draw(mod.draw_strategy(case))
        records.append(mod.run_draw(case, args, seed))

    return collect


def draw_rows(mod, names, draws):
    profile = settings.get_profile("thorough")
    out = []
    for name in names:
        case = mod.CASES[name]
        records: list = []
        collect = _collector(mod, case, records, profile, draws)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            collect()
        elapsed = time.perf_counter() - t0
        counts = collections.Counter(r.outcome for r in records)
        failures = collections.Counter(
            f"{r.outcome}: {r.detail}"[:300] for r in records if r.outcome != "ok"
        )
        examples = [r for r in records if r.outcome != "ok"][:2]
        out.append(
            dict(
                name=name,
                n=len(records),
                counts=counts,
                failures=failures,
                examples=examples,
                s=elapsed,
            )
        )
        print(f"draws {name}: {len(records)} drawn, {dict(counts)} in {elapsed:.0f}s", flush=True)
    return out


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except Exception:  # noqa: BLE001
        return "?"


def render(mod, spaces, drawn, draws, total_s, head, dirty) -> str:
    lines = [
        "# Config-space sizes and drawn-config correctness",
        "",
        f"Generated by `python -m benchmarks.space_report --draws {draws}` at commit "
        f"`{head}`"
        + (" (working tree with uncommitted compiler changes)" if dirty else "")
        + f"; torch {torch.__version__}, triton {triton.__version__}, Triton CPU interpreter; "
        f"{total_s / 60:.1f} min in all.",
        "",
        "`size()` counts the valid configs (exact when the raw product of the knob domains is "
        "<= 1e6, else raw x the valid fraction of 20,000 fixed-seed uniform draws). "
        "`_static` rows are `static_shapes=True` copies of the kernels (Helion's default "
        "setting); the others run with kcompiler's default dynamic shapes.",
        "",
        "## Spaces at a representative shape",
        "",
        "| kernel | shape | knobs | raw product | size() |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for r in spaces:
        if "error" in r:
            lines.append(
                f"| {r['name']} | {r['shape']} | - | - | trace fails: {r['error'][:160]} |"
            )
        else:
            lines.append(
                f"| {r['name']} | {r['shape']} | {len(r['space'].knobs)} | {r['raw']:,} | {r['size']:,} |"
            )
    lines += ["", "### Knobs", ""]
    for r in spaces:
        if "error" in r:
            continue
        sp = r["space"]
        knobs = "; ".join(f"`{k.name}` {k.domain()} (default {k.default!r})" for k in sp.knobs)
        lines.append(f"- **{r['name']}** ({len(sp.constraints)} constraints): {knobs}")
    if drawn:
        lines += [
            "",
            f"## Drawn configs (hypothesis `thorough` profile, max_examples={draws} per kernel)",
            "",
            "Inputs: the small odd shapes of tests/kernels/test_config_space_draws.py; each draw "
            "samples one config from the space derived for its inputs. Outcomes: ok (compiled and "
            "matched torch), compile (raised while compiling or running), wrong (mismatch), "
            "space (raised while tracing or deriving the space, before any config).",
            "",
            "| kernel | drawn | ok | compile | wrong | space | ok fraction | s |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        tot = collections.Counter()
        n_all = 0
        for r in drawn:
            c = r["counts"]
            tot.update(c)
            n_all += r["n"]
            frac = c["ok"] / r["n"] if r["n"] else 0.0
            mark = " (xfail)" if r["name"] in mod.XFAIL else ""
            lines.append(
                f"| {r['name']}{mark} | {r['n']} | {c['ok']} | {c['compile']} | {c['wrong']} | {c['space']} | {frac:.0%} | {r['s']:.0f} |"
            )
        main = [r for r in drawn if r["name"] not in mod.XFAIL]
        n_main = sum(r["n"] for r in main)
        ok_main = sum(r["counts"]["ok"] for r in main)
        lines += [
            "",
            f"All kernels: {tot['ok']}/{n_all} drawn configs compiled and matched; excluding the "
            f"known-failure (xfail) cases: {ok_main}/{n_main}"
            + (f" ({ok_main / n_main:.1%})." if n_main else "."),
        ]
        failing = [r for r in drawn if r["failures"]]
        if failing:
            lines += ["", "### Failures", ""]
            for r in failing:
                lines.append(
                    f"- **{r['name']}**"
                    + (f" (xfail: {mod.XFAIL[r['name']]})" if r["name"] in mod.XFAIL else "")
                )
                for msg, k in r["failures"].most_common(5):
                    lines.append(f"  - {k}x `{msg}`")
                for ex in r["examples"]:
                    lines.append(
                        f"  - e.g. shapes {ex.shapes}, config {dict(ex.config) if ex.config else None}"
                    )
    return "\n".join(lines).replace(f"{ROOT}/", "") + "\n"  # repository-relative paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--draws", type=int, default=50, help="configs drawn per kernel (0: sizes only)"
    )
    parser.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    parser.add_argument("--out", type=pathlib.Path, default=OUT)
    args = parser.parse_args()
    mod = draws_module()
    names = [n for n in mod.CASES if not args.cases or n in args.cases.split(",")]
    head = _git("rev-parse", "--short", "HEAD")  # where the run starts
    dirty = bool(_git("status", "--porcelain", "--", "kcompiler"))
    t0 = time.perf_counter()
    spaces = space_rows(mod, names)
    drawn = draw_rows(mod, names, args.draws) if args.draws else []
    text = render(mod, spaces, drawn, args.draws, time.perf_counter() - t0, head, dirty)
    args.out.write_text(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
