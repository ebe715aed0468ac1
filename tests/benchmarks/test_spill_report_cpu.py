"""benchmarks/spill_report.py's summary over synthetic rows (the compiles themselves are
tests/backends/test_target_compile.py's business)."""

from __future__ import annotations

from benchmarks.spill_report import render, summarize
from kcompiler.runtime.tuning import DOT_SPILL_ALLOWANCE


def _row(kernel: str, origin: str, spill: int, shared: int, estimate: int, dot: bool = False):
    return dict(
        kernel=kernel,
        shape="s",
        origin=origin,
        dot=dot,
        spill_bytes=spill,
        registers=255 if spill else 64,
        shared=shared,
        estimate=estimate,
        seconds=1.0,
    )


def test_summary_counts_spills_allowance_and_estimate_gaps() -> None:
    rows = [
        _row("softmax", "default", 0, 0, 0),
        _row("softmax", "draw", 8, 0, 0),
        _row("softmax", "draw", 0, 1024, 1000),  # estimate below Triton's
        _row("softmax", "draw", 0, 1000, 1500),  # 50 % over
        _row("matmul", "start", 300, 98304, 98304, dot=True),
        _row("matmul", "draw", DOT_SPILL_ALLOWANCE, 65536, 65536, dot=True),
        _row("matmul", "draw", DOT_SPILL_ALLOWANCE + 4, 65536, 70000, dot=True),
        dict(kernel="matmul", shape="s", origin="draw", dot=True, error="generate: boom"),
    ]
    soft, mm = summarize(rows)
    assert (soft["draws"], soft["spilling_draws"], soft["rejected_draws"]) == (3, 1, 1)
    assert (soft["smem_below"], round(soft["smem_max_over"], 2)) == (1, 0.5)
    assert (mm["draws"], mm["spilling_draws"], mm["rejected_draws"], mm["errors"]) == (2, 2, 1, 1)
    assert mm["starts_spilling"] == 1 and mm["max_spill"] == 300
    meta = dict(target="sm_90", draws=3, seed=0, commit="abc", machine="m", triton="3.9", seconds=1)
    text = render([soft, mm], meta)
    assert "Drawn configs that spill: 3 of 5 (60.0 %)" in text
    assert "| softmax | 4 | 0 | 1/3 (33 %) | 1 | 0 | 8 |" in text


def test_summary_ratios_and_winners_table() -> None:
    rows = [
        _row("softmax", "draw", 0, 1024, 1000),
        _row("softmax", "draw", 0, 1000, 1500),
        _row("softmax", "draw", 0, 0, 0),  # no shared memory: no ratio
    ]
    (soft,) = summarize(rows)
    assert (round(soft["smem_ratio_min"], 3), soft["smem_ratio_max"]) == (0.977, 1.5)
    meta = dict(target="sm_90", draws=3, seed=0, commit="abc", machine="m", triton="3.9",
                seconds=1, winners={"softmax": (3, 2)})  # fmt: skip
    text = render([soft], meta)
    assert "| 0.98-1.50 |" in text
    assert "| softmax | 3 | 2 |" in text


def test_launch_specs_or_error_records_what_does_not_generate() -> None:
    import torch

    from benchmarks.spill_report import launch_specs_or_error
    from kcompiler.kernels.vector_exp import vector_exp

    args = (torch.empty(4096),)
    space = vector_exp.config_space(*args)
    row: dict = {}
    specs = launch_specs_or_error(vector_exp, args, space.default(), row)
    assert specs and "error" not in row
    # A config the code generator refuses (a block size that is not a power of two).
    bad = space.to_config({**space.to_flat(space.default()), "block_sizes[0]": 3})
    assert launch_specs_or_error(vector_exp, args, bad, row) is None
    assert row["error"].startswith("generate: ")


def test_representative_kernels_compile_for_the_target_in_workers() -> None:
    """The path spill_report and smem_exclusions share: a representative kernel's launches
    compiled for sm_90 in a compile-pool worker, one outcome per job with ptxas's figures."""
    from benchmarks.space_report import representative_kernels
    from benchmarks.spill_report import compile_for_target, launch_specs_or_error

    ((name, label, kernel, args),) = representative_kernels(["vector_exp"])
    assert name == "vector_exp" and label and kernel.fn.__name__ == "vector_exp"
    specs = launch_specs_or_error(kernel, args, kernel.config_space(*args).default(), {})
    (outcome,) = compile_for_target([(7, specs)], "sm_90", workers=1, timeout_s=300.0)
    assert outcome.key == 7 and outcome.error is None
    (binary,) = outcome.result
    assert binary.error is None and binary.registers > 0 and binary.spill_bytes == 0
