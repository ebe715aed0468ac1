"""Smoke test of benchmarks/tune_compare.py on CPU (interpreter): every field, correct configs.

No timings are asserted; the tiny budgets (`--smoke`) keep it to seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks import tune_compare

TUNE_FIELDS = {
    "effort",
    "strategy",
    "budget_s",
    "status",
    "wall_s",
    "tuner_wall_s",
    "setup_s",
    "configs_tried",
    "configs_failed",
    "failures",
    "best_tuned_ms",
    "config",
    "config_repr",
    "overrun_s",
    "slow_benchmarks",
    "failure_kinds",
}
SUMMARY_FIELDS = {
    "quick_ms",
    "full_ms",
    "default_ms",
    "quick_over_full",
    "best_compile_helion",
    "best_compile_helion_ms",
    "speedup_vs_compile_helion",
    "best_all_peers",
    "best_all_peers_ms",
    "speedup_vs_all_peers",
    "quick_under_30s",
    "full_under_3min",
    "quick_within_3pct",
}


def test_smoke(tmp_path: Path) -> None:
    argv = ["--smoke", "--out", str(tmp_path), "--kernels", "rms_norm,softmax"]
    argv += ["--strategies", "random,pattern,no-such-strategy", "--workers", "2", "--rounds", "1"]
    assert tune_compare.main(argv) == 0
    data = json.loads((tmp_path / "tune_compare.json").read_text())
    assert data["meta"]["smoke"] and data["meta"]["efforts"]["full"]["max_configs"] > 0
    rows = {r["kernel"]: r for r in data["kernels"]}
    assert set(rows) == {"rms_norm", "softmax"}
    for row in rows.values():
        for effort in ("quick", "full"):
            rec = row[effort]
            assert TUNE_FIELDS <= rec.keys(), TUNE_FIELDS - rec.keys()
            assert rec["status"] == "ok" and rec["effort"] == effort
            assert 1 <= rec["configs_tried"] <= tune_compare.SMOKE[effort][1]
            assert rec["best_tuned_ms"] > 0 and rec["config"]
        for label in ("default", "quick", "full"):  # re-timed and checked against torch eager
            assert row["kcompiler"][label]["correct"], row["kcompiler"][label]
            assert row["kcompiler"][label]["ms"] > 0
        assert row["peers"]["torch"]["correct"]
        helion = row["peers"]["helion"]  # absent or failing here: reported, never dropped
        assert "ms" in helion or helion.get("error")
        assert SUMMARY_FIELDS <= row["summary"].keys()
        assert row["summary"]["quick_under_30s"] is True
    (block,) = data["strategies"]
    assert block["kernel"] == "softmax"
    runs = block["runs"]
    assert runs["no-such-strategy"]["status"] == "not available"
    for name in ("random", "pattern"):
        assert runs[name]["strategy"] == name and runs[name]["configs_tried"] >= 1
        assert runs[name]["retimed"]["correct"] and runs[name]["vs_best_strategy"] >= 1.0
    md = (tmp_path / "tune_compare.md").read_text()
    assert "## Quick vs full, and the peers" in md and "| rms_norm | 64x256 | fp32 |" in md
    assert "## Strategies on the same wall-clock budget" in md
