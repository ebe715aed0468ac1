"""benchmarks/regret_rules.py on a hand-made matrix whose scores are worked out below.

A 1-D kernel ``x: float32[s0]`` swept over n = 1024, 1536, 4096, 8192, 16384; the table is
tuned at 1024 (best A), 4096 (best B) and 16384 (best A). Config C is second best at both
1024 and 4096 (0.952 of the best at each), while A and B are each twice as slow at the other
one: between them the robust choice is C, and C is what 1536 runs fastest.

Scores (best time / chosen time) at the untuned shapes:

    n     | best | A        | B         | C        | runtime | nearest | below | above | robust
    1536  | C    | 0.8 sbs  | 0.5 sbs   | 1        | B (0.5) | A (0.8) | A     | B     | C (1)
    8192  | B    | 0.5 ms   | 1         | 0.8 sbs  | A (0.5) | A (0.5) | B (1) | A     | B (1)

- runtime at 1536 (bucket 2048): 1024 and 4096 are one bucket step away each; the tie goes
  to the entry with no step below the call's size, 4096 (B). At 8192: 16384 (A) likewise.
- nearest at 1536 in log2 size: 1024 (0.585 away) over 4096 (1.415): A. At 8192, 4096 and
  16384 are one step each: the larger, 16384 (A).
- robust at 8192 over 4096 and 16384: A scores 0.5 at 4096, B 0.9875 at 16384, C 0.952
  and 0.889: B by its worst and by its geomean.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from benchmarks.regret_rules import (
    RULES,
    Matrix,
    agreement,
    candidates,
    evaluate,
    main,
    markdown,
    runtime_rule,
)

A, B, C, D = 0, 1, 2, 3  # config indices; D is the kernel's default, not a source


def key(n: int) -> dict[str, Any]:
    bucket = 1 << (n - 1).bit_length()
    divisor = n & -n
    return {"args": {"x": "float32[s0]"}, "buckets": {"s0": bucket}, "divisors": {"s0": divisor}}


def point(n: int, tuned: bool, ms: dict[int, float], sbs: dict[int, float], **kw: Any) -> dict:
    """A point whose columns are the configs in ``order`` (default A, B, C, D)."""
    order = kw.pop("order", [A, B, C, D])
    col = {c: j for j, c in enumerate(order)}
    return {
        "label": f"n{n}",
        "sizes": {"n": n},
        "key": key(n),
        "tuned": tuned,
        "cols": order,
        "ms": [ms.get(c) for c in order],
        "why": [[col[c], "rejected: spills"] for c in order if ms.get(c) is None],
        "sbs": [[col[c], t] for c, t in sbs.items()],
        "served": [col[A], col[B], col[C]],
        "default": col[D],
        **({"table": col[kw["table"]]} if "table" in kw else {}),
    }


def matrix_json() -> dict[str, Any]:
    return {
        "configs": [{"num_warps": w} for w in (1, 2, 4, 8)],
        "sources": [A, B, C],
        "pool": 3,
        "entries": [
            {"key": key(1024), "source": A},
            {"key": key(4096), "source": B},
            {"key": key(16384), "source": A},
        ],
        "points": [
            point(1024, True, {A: 1.0, B: 2.0, C: 1.05, D: 3.0}, {A: 1.0, C: 1.05}),
            point(
                1536, False, {A: 1.3, B: 2.0, C: 1.0, D: 3.0}, {A: 1.25, B: 2.0, C: 1.0}, table=B
            ),
            point(4096, True, {A: 4.0, B: 2.0, C: 2.1, D: 5.0}, {B: 2.0, C: 2.1}),
            point(
                8192,
                False,
                {A: 8.0, B: 4.0, C: 5.0, D: None},
                {B: 4.0, C: 5.0},
                order=[B, A, C, D],
                table=A,
            ),
            point(16384, True, {A: 8.0, B: 8.0, C: 9.0, D: 10.0}, {A: 7.9, B: 8.0}),
        ],
    }


@pytest.fixture
def m() -> Matrix:
    return Matrix.from_json("mod:k", matrix_json())


EXPECTED = {
    "runtime": ([B, A], 0.5),
    "nearest": ([A, A], math.sqrt(0.8 * 0.5)),
    "below": ([A, B], math.sqrt(0.8)),
    "above": ([B, A], 0.5),
    "robust-max": ([C, B], 1.0),
    "robust-geomean": ([C, B], 1.0),
    "oracle": ([C, B], 1.0),
}


@pytest.mark.parametrize("rule", list(RULES))
def test_each_rule_chooses_and_scores_as_worked_out_by_hand(m: Matrix, rule: str) -> None:
    configs, mean = EXPECTED[rule]
    score = evaluate(m, rule)
    chosen = [m.points[i].cols[col] for i, col, _ in score.per_point]
    assert chosen == configs
    assert score.geomean == pytest.approx(mean)


def test_scores_use_side_by_side_times_only_where_both_configs_have_them(m: Matrix) -> None:
    score = evaluate(m, "runtime")
    # 1536: B and C both re-timed (2.0 vs 1.0); 8192: A was not, so its benchmark time.
    assert score.basis == {"same": 0, "sbs": 1, "ms": 1}
    assert [s for _, _, s in score.per_point] == [0.5, 0.5]
    assert evaluate(m, "oracle").basis == {"same": 2, "sbs": 0, "ms": 0}


def test_runtime_rule_is_the_tables_lookup_and_falls_back_to_the_default(m: Matrix) -> None:
    assert agreement(m) == (2, 2)
    data = matrix_json()
    data["points"][1]["key"]["args"] = {"x": "float16[s0]"}  # a class no entry has
    other = Matrix.from_json("mod:k", data)
    assert other.points[1].cols[runtime_rule(other, 1)] == D
    assert agreement(other) == (1, 2)


def test_candidates_are_every_rules_choice_but_the_oracles(m: Matrix) -> None:
    assert {m.points[1].cols[c] for c in candidates(m, 1)} == {A, B, C}
    assert {m.points[3].cols[c] for c in candidates(m, 3)} == {A, B}


def test_round_trip_and_report(m: Matrix, tmp_path: Path, capsys) -> None:
    again = Matrix.from_json("mod:k", m.to_json())
    assert [evaluate(again, r).geomean for r in RULES] == [evaluate(m, r).geomean for r in RULES]
    text = markdown([("toy", m)])
    assert "| toy | 0.500 (0.50) | 0.632 (0.50) | 0.894 (0.80) |" in text
    import json

    result = {"kernel": "toy", "kc_kernel": "mod:k", "rows": [], "matrix": m.to_json()}
    (tmp_path / "regret-toy.json").write_text(json.dumps(result))
    (tmp_path / "regret-table-toy.json").write_text(json.dumps({"format": "table"}))
    assert main([*map(str, sorted(tmp_path.glob("regret-*.json"))), "--detail", "toy"]) == 0
    out = capsys.readouterr().out
    assert "| toy | 0.500" in out and "| n1536 | c1 0.500 | c0 0.800 |" in out


def test_robust_rules_differ_where_worst_and_geomean_disagree() -> None:
    """Between 1024 and 4096: X scores (1.0, 0.7), Y (0.8, 0.8), W (0.5, 1.0). The best worst
    score is Y's, the best geomean X's (0.837 against 0.8); 2048 runs X twice as fast as Y."""
    X, Y, W = 0, 1, 2

    def one(n: int, tuned: bool, sbs: dict[int, float]) -> dict[str, Any]:
        return {
            "label": f"n{n}",
            "sizes": {"n": n},
            "key": key(n),
            "tuned": tuned,
            "cols": [X, Y, W],
            "ms": [sbs[X], sbs[Y], sbs[W]],
            "sbs": [[c, t] for c, t in sbs.items()],
            "served": [X, Y, W],
            "default": W,
        }

    m = Matrix.from_json(
        "mod:k",
        {
            "configs": [{"num_warps": w} for w in (1, 2, 4)],
            "sources": [X, Y, W],
            "pool": 3,
            "entries": [{"key": key(1024), "source": X}, {"key": key(4096), "source": W}],
            "points": [
                one(1024, True, {X: 1.0, Y: 1.25, W: 2.0}),
                one(2048, False, {X: 1.0, Y: 2.0, W: 4.0}),
                one(4096, True, {X: 1 / 0.7, Y: 1.25, W: 1.0}),
            ],
        },
    )
    assert evaluate(m, "robust-max").per_point == [(1, Y, 0.5)]
    assert evaluate(m, "robust-geomean").per_point == [(1, X, 1.0)]
