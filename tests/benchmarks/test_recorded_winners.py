"""Every config that won a recorded H100/H200 tuning run (benchmarks/results/**/*.json) is
still allowed by the static constraints calibrated against ptxas (register budget, dot
registers, shared memory; runtime/tuning.py), at the shape it won at."""

from __future__ import annotations

from benchmarks.recorded_winners import check, winners


def test_recorded_winners_stay_in_their_spaces() -> None:
    found = winners()
    assert len(found) >= 50, "the recorded results moved: update benchmarks/recorded_winners.py"
    assert {"matmul", "attention", "fp8_gemm", "layer_norm"} <= {w.kernel for w in found}
    spaces: dict = {}
    rejected = {
        f"{w.kernel} {dict(w.params)} {w.dtype} {w.config} ({w.source})": bad
        for w in found
        if (bad := check(w, spaces))
    }
    assert rejected == {}
