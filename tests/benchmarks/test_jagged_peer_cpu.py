"""jagged_mean's torch peers on CPU: the block-prefix form under torch.compile (fullgraph) and
eagerly against the reference and kcompiler's kernel, the reference's searchsorted on a whole
tensor, and the runner keeping the fastest correct form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch.fx.experimental.proxy_tensor import make_fx

from benchmarks import run
from benchmarks.kernels import (
    KERNELS,
    compare,
    jagged_mean,
    jagged_mean_blocked,
)
from kcompiler.kernels.jagged_mean import jagged_mean as kc_jagged_mean

BLOCK = 4  # small blocks so short inputs cross several block boundaries


def _inputs(lengths: list[int], d: int, dtype: torch.dtype = torch.float32) -> tuple:
    offsets = torch.tensor([0, *lengths], dtype=torch.int64).cumsum(0)
    g = torch.Generator().manual_seed(sum(lengths) * 31 + d)
    values = torch.randn(int(offsets[-1]), d, generator=g).to(dtype)
    return values, offsets


# Empty rows first, last, in runs, and rows shorter than, equal to and across a block; a total
# below one block; a total that is a whole number of blocks; every row empty.
CASES = [
    [0, 3, 0, 0, 9, 1, 0],
    [5, 0, 4, 4, 0, 11, 0],
    [2, 1],
    [4, 4, 4],
    [0, 0, 0],
    [13],
]


def _blocked(values: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    return jagged_mean_blocked(values, offsets, BLOCK)


@pytest.mark.parametrize("lengths", CASES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_blocked_form_matches_reference_eagerly(lengths: list[int], dtype: torch.dtype) -> None:
    values, offsets = _inputs(lengths, 6, dtype)
    ref = jagged_mean(values, offsets)
    out = _blocked(values, offsets)
    assert compare(out, ref, dtype)[1]
    assert compare(out, kc_jagged_mean(values, offsets), dtype)[1]
    empty = (offsets[1:] == offsets[:-1]).nonzero().flatten()
    assert torch.equal(out[empty], torch.zeros_like(out[empty]))  # exactly 0, as the reference


def test_blocked_form_compiles_whole_and_matches() -> None:
    """The runner's form as torch.compile takes it: one fullgraph compile (a graph break or a
    host sync raises) at the runner's cpu case sizes (B=8, D=16, up to L=32 rows a row at its
    default 64-row blocks, here longer rows so they cross blocks), then two inputs of that
    shape with empty rows first, last and in runs. Other lengths recompile (static shapes), so
    CASES stay with the eager test above."""
    d = KERNELS["jagged_mean"].cpu[0].params["D"]
    first = _inputs([0, 40, 0, 0, 64, 1, 30, 0], d)
    second = _inputs([20, 0, 65, 3, 0, 0, 47, 0], d)
    assert first[0].shape == second[0].shape
    torch._dynamo.reset()
    compiled = torch.compile(jagged_mean_blocked, fullgraph=True, dynamic=False)
    for values, offsets in (first, second):
        ref = jagged_mean(values, offsets)
        out = compiled(values, offsets)
        err, ok, _ = compare(out, ref, torch.float32)
        assert ok, err
        assert compare(out, kc_jagged_mean(values, offsets), torch.float32)[1]
        empty = offsets[1:] == offsets[:-1]
        assert torch.equal(out[empty], torch.zeros_like(out[empty]))
    torch._dynamo.reset()


def test_reference_searches_the_whole_offsets_tensor() -> None:
    """torch 2.11's Inductor ignores the storage offset of a 1-D sorted-sequence view (it read
    offsets[1:] as offsets[:-1] and crashed the GPU run): the reference must search a tensor
    that is a graph input itself."""
    values, offsets = _inputs(CASES[0], 6)
    graph = make_fx(jagged_mean)(values, offsets)
    nodes = [n for n in graph.graph.nodes if n.target == torch.ops.aten.searchsorted.Tensor]
    assert len(nodes) == 1
    assert nodes[0].args[0].op == "placeholder"


def test_runner_keeps_the_fastest_correct_form(tmp_path: Path) -> None:
    argv = ["--device", "cpu", "--impls", "torch", "--kernels", "jagged_mean", "--quick"]
    assert run.main([*argv, "--no-plots", "--out", str(tmp_path)]) == 0
    (row,) = json.loads((tmp_path / "anchors.json").read_text())["rows"]
    assert row["correct"] and set(row["forms"]) == {"block_prefix", "reference"}
    assert all(isinstance(ms, float) for ms in row["forms"].values())
    assert row["ms"] == min(row["forms"].values()) and row["form"] in row["note"]
