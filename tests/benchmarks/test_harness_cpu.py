"""Smoke test of the benchmark harness on CPU: rows, files, the kcompiler adapter; no timings asserted."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest
import torch

from benchmarks import run
from benchmarks.kernels import KERNELS

# PERF-ANCHORS.md: (kernel, case index, ms, % of 3,027 GB/s); the bytes formulas must reproduce them.
ANCHORS = [
    ("vector_add", 0, 0.525, 101),
    ("embedding", 0, 0.188, 94.1),
    ("sum", 0, 0.0514, 86.3),
    ("rms_norm", 0, 0.185, 95.9),
    ("rms_norm", 1, 0.0502, 88.4),
    ("layer_norm", 1, 0.179, 96.1),
    ("softmax", 1, 0.0498, 89.0),
    ("cross_entropy", 0, 0.694, 102),
    ("cross_entropy", 1, 0.618, 56.2),
]


@pytest.mark.parametrize(("kernel", "index", "ms", "pct"), ANCHORS)
def test_min_bytes_match_perf_anchors(kernel: str, index: int, ms: float, pct: float) -> None:
    spec = KERNELS[kernel]
    case = spec.anchors[index]
    args = spec.make_inputs(case.params, case.dtype, torch.device("meta"))
    nbytes = spec.min_bytes(args, spec.reference(*args))
    assert nbytes / (ms * 1e-3) / 1e9 / 3027 * 100 == pytest.approx(pct, rel=0.01)


def _fake_kcompiler(monkeypatch: pytest.MonkeyPatch) -> None:
    """A kcompiler.kernels.sum with an autotune method; other kernels stay missing."""

    def kernel(x: torch.Tensor) -> torch.Tensor:
        return x.sum(-1)

    kernel.autotune = lambda args, effort: {"tried": 3, "wall_s": 0.5, "config": "block=64"}  # type: ignore[attr-defined]
    module = types.ModuleType("kcompiler.kernels.sum")
    module.sum = kernel  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "kcompiler.kernels.sum", module)


def test_cpu_dry_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_kcompiler(monkeypatch)
    argv = ["--device", "cpu", "--impls", "torch,kcompiler,liger", "--quick", "--no-plots"]
    argv += ["--kernels", "vector_add,sum,softmax"]
    assert run.main([*argv, "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "anchors.json").read_text())["rows"]
    eager = [r for r in rows if r["impl"] == "torch"]
    assert len(eager) == 4  # vector_add, sum, softmax fp32 and bf16
    assert all(r["correct"] and r["ms"] > 0 and r["gbps"] > 0 for r in eager)
    kc = {r["kernel"]: r for r in rows if r["impl"] == "kcompiler"}
    assert set(kc) == {"vector_add", "sum", "softmax"}
    assert kc["sum"]["correct"] and kc["sum"]["tune"]["configs_tried"] == 3
    assert kc["sum"]["tune"]["tune_s"] == 0.5
    assert kc["sum"]["speedup_vs"].keys() == {"torch"}
    assert kc["vector_add"]["status"] in ("not available", "error", "ok")
    assert {r["kernel"] for r in rows if r["impl"] == "liger"} == {"softmax"}
    md = (tmp_path / "anchors.md").read_text()
    assert "kcompiler vs the best peer" in md and "| sum | 64x1000 | fp32 | torch |" in md


def test_cpu_small(tmp_path: Path) -> None:
    assert run.main(["--device", "cpu", "--small", "--impls", "torch", "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "small.json").read_text())["rows"]
    assert rows[0]["impl"] == "torch" and rows[0]["us_per_call"] > 0
    triton = {"triton-bare", "triton-bare+alloc", "triton-run", "triton-empty-run"}
    graphs = {"torch-graph-100", "torch-graph-1", "triton-empty-graph-100"}
    assert {r["impl"] for r in rows} == {"torch", *triton, *graphs}
    # No CUDA: the bare launches and the graphs are rows saying why they did not run.
    assert all(r["status"] == "not available" for r in rows if r["impl"] != "torch")
    md = (tmp_path / "small.md").read_text()
    assert "| torch-graph-100 |" in md and "× launch floor" in md


def test_small_ratios_are_to_the_bare_launch_and_the_floor() -> None:
    rows = [
        {"impl": "kcompiler", "us_per_call": 24.0},
        {"impl": "triton-bare", "us_per_call": 25.0},
        {"impl": "triton-empty-run", "us_per_call": 4.0},
        {"impl": "kcompiler-graph-100", "us_per_call": 2.0},
        {"impl": "helion", "status": "error"},
    ]
    run.add_ratios(rows)
    assert rows[0]["vs_triton_bare"] == pytest.approx(0.96)
    assert rows[3]["vs_launch_floor"] == pytest.approx(0.5)
    assert "vs_triton_bare" not in rows[4]
    bare = [{"impl": "kcompiler", "us_per_call": 24.0}]  # neither base ran: no ratio
    run.add_ratios(bare)
    assert set(bare[0]) == {"impl", "us_per_call"}


@pytest.mark.parametrize("checks", ["on", "off"])
def test_index_checks_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, checks: str) -> None:
    # --index-checks sets KCOMPILER_INDEX_CHECKS for the run (and its child processes) and the
    # results say which it was; embedding's gather is checked or not accordingly.
    monkeypatch.setenv("KCOMPILER_INDEX_CHECKS", "1")
    argv = ["--device", "cpu", "--impls", "kcompiler", "--quick", "--no-plots", "--no-isolate"]
    argv += ["--kernels", "embedding", "--kc-effort", "none", "--index-checks", checks]
    assert run.main([*argv, "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "anchors.json").read_text())
    assert result["meta"]["kc_index_checks"] is (checks == "on")
    assert all(r["status"] == "ok" and r["correct"] for r in result["rows"]), result["rows"]
