"""benchmarks/aot_regret.py end to end under the interpreter, on shrunk shapes: the table is
built from the tuned shapes only, the others are served by the runtime's rule, and the
scores compare the two configs' times."""

from __future__ import annotations

import json
import math

import pytest

from benchmarks.aot_regret import SWEEPS, main, tiny
from benchmarks.regret_rules import Matrix, agreement, evaluate
from kcompiler.config import Config
from kcompiler.runtime.config_table import Table


def test_every_sweep_has_twenty_shapes_whose_last_is_tuned() -> None:
    for name, cases in SWEEPS.items():
        assert len(cases) >= 20, name
        assert (len(cases) - 1) % 4 == 0, name  # every fourth from the first ends on the last
        sizes = [sorted(c.params.items()) for c in cases]
        assert len({str(s) for s in sizes}) == len(sizes), name


def test_tiny_keeps_uneven_sizes_uneven() -> None:
    case = SWEEPS["sum"][3]  # 4096 x 724
    small = tiny(case)
    assert small.params["n"] % 2 == 1 or small.params["n"] & (small.params["n"] - 1) != 0
    assert max(small.params.values()) <= 128


def test_regret_run_builds_the_table_from_tuned_shapes_and_scores_the_rest(tmp_path) -> None:
    assert (
        main(
            [
                "--out",
                str(tmp_path),
                "--tiny",
                "--kernels",
                "sum",
                "--pool",
                "3",
                "--shapes",
                "9",
                "--workers",
                "1",
                "--rounds",
                "1",
            ]
        )
        == 0
    )
    result = json.loads((tmp_path / "regret-sum.json").read_text())
    rows = result["rows"]
    assert [r["tuned_here"] for r in rows] == [i % 4 == 0 for i in range(9)]
    table = Table.load(tmp_path / "regret-table-sum.json")
    tuned_keys = {r["key"] for r in rows if r["tuned_here"]}
    assert {e.key.ident for e in table.entries} == tuned_keys
    for row in rows:
        if row["tuned_here"]:
            assert "score" not in row
            continue
        assert row["table_config"] != "None"  # every shape has an entry of its class
        if row["table_config"] == row["best_config"]:
            assert row["score"] == 1.0
        else:
            assert row["score"] == row["best_retimed_ms"] / row["table_ms"]
    assert math.isfinite(result["geomean_score"])
    shipped = Table.load(tmp_path / "tables" / "kcompiler.kernels.sum.sum.json")
    assert {e.key.ident for e in shipped.entries} == {r["key"] for r in rows}
    assert "| sum |" in (tmp_path / "regret.md").read_text()
    check_matrix(result, table)


def check_matrix(result: dict, table: Table) -> None:
    """The recorded matrix: a time or a reason per column, each source's column, the table's
    entries as sources, the online choice re-timed side by side, and the runtime's rule
    offline giving the same choices and the same score."""
    data = result["matrix"]
    m = Matrix.from_json(result["kc_kernel"], data)
    assert data["pool"] == result["pool"]
    configs = [Config(c) for c in data["configs"]]
    sources = [configs[s] for s in m.sources]
    assert {(e.key, e.config) for e in table.entries} == {(k, sources[s]) for k, s in m.entries}
    for row, p in zip(result["rows"], m.points):
        assert p.label == row["shape"] and p.tuned == row["tuned_here"]
        assert len(p.cols) == len(p.ms) == row["configs"] and len(p.served) == len(sources)
        assert all(math.isfinite(t) or c in p.why for c, t in enumerate(p.ms))
        assert repr(configs[p.cols[p.best()]]) == row["best_config"]
        if p.tuned:
            continue
        assert repr(configs[p.cols[p.table]]) == row["table_config"]
        assert len(p.sbs) < 2 or p.table in p.sbs  # timed beside the best
    assert agreement(m) == (len(m.untuned()), len(m.untuned()))
    assert evaluate(m, "runtime").geomean == pytest.approx(result["geomean_score"], rel=1e-4)
    assert evaluate(m, "oracle").geomean == 1.0
