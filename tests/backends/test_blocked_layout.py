"""Triton's default blocked layout and the reduction scratch it implies
(backends/triton/blocked_layout.py), against the layouts and figures of Triton 3.9's sm_90
compiles of the bundled kernels (the TTGIR of benchmarks/results/cpu/spills-sm90.json)."""

from __future__ import annotations

import pytest

from kcompiler.backends.triton.blocked_layout import (
    blocked,
    linear_reduction_scratch_bytes,
    reduction_scratch_bytes,
    warps_per_dim,
)


@pytest.mark.parametrize(
    "shape,warps,spt,want",
    [
        ([8, 512], 32, 4, [8, 4]),  # sum, 8 rows in chunks of 512
        ([16, 1024], 32, 4, [4, 8]),  # rms_norm_fwd
        ([4, 1024], 16, 4, [2, 8]),  # softmax_two_pass
        ([32, 256], 4, 4, [2, 2]),  # layer_norm_fwd
        ([2, 2048], 32, 4, [2, 16]),  # sum: warps left over go to the rows
        ([4, 32, 32], 4, 4, [1, 4, 1]),  # jagged_mean's 3-d tile
        ([16, 32, 2], 32, 1, [16, 2, 1]),
    ],
)
def test_warps_follow_the_contiguous_dim_first(shape, warps, spt, want) -> None:
    assert warps_per_dim(shape, warps, spt) == want


def test_lanes_fill_before_warps() -> None:
    layout = blocked([16, 32, 16], 16, 4)  # jagged_mean: tpw [1, 8, 4], wpc [4, 4, 1]
    assert layout.lanes == (1, 8, 4) and layout.warps == (4, 4, 1)


@pytest.mark.parametrize(
    "shape,axis,warps,triton",
    [
        # (operand block, reduced dim, num_warps, Triton 3.9's scratch in bytes (sm_90 TTGIR
        # and metadata.shared of the configs in spills-sm90.json; fp32 partial results)
        ([8, 8192], 1, 32, 512),
        ([4, 8192], 1, 32, 512),
        ([16, 1024], 1, 4, 128),  # 16 rows x 4 warps, moved in two rounds of 8 rows
        ([2, 8192], 1, 4, 32),
        ([8, 512], 1, 32, 128),  # 4-element vectors: 4 warps share a row
        ([8, 2048], 1, 8, 128),
        ([16, 2048], 1, 16, 256),
        ([64, 512], 1, 16, 512),
    ],
)
def test_reduction_scratch_is_tritons(shape, axis, warps, triton) -> None:
    """The warps' partial results, in the rounds Triton's swizzled conversion takes."""
    assert reduction_scratch_bytes(shape, axis, warps, 4) == triton


def test_rounds_repeat_registers_both_layouts_hold() -> None:
    """16 rows in a thread's registers and 4 warps along the row: 64 partial results, moved
    through one 128-byte tile (a 4-row vector x 32 banks) in two rounds."""
    layout = blocked([16, 1024], 4, 4)
    assert layout.warps == (1, 4)
    assert linear_reduction_scratch_bytes([16, 1024], 1, 4, 4, layout, 1) == 16 * 4 * 4 // 2


def test_unknown_contiguity_tries_every_dim() -> None:
    """Warps fill the contiguous dim first: a 64 x 64 row sum at 8 warps, read along its
    rows in 4-element vectors (16 lanes a row), has its warps on the rows and needs no
    exchange; read across (vectors down the columns), as for a gathered operand whose
    contiguous dim the IR does not tell, up to all 8 warps share a row: every dim is
    tried."""
    assert reduction_scratch_bytes([64, 64], 1, 8, 4) == 0
    assert reduction_scratch_bytes([64, 64], 1, 8, 4, contiguous=None) == 64 * 8 * 4


def test_one_warp_along_the_row_needs_none() -> None:
    assert reduction_scratch_bytes([64, 128], 1, 1, 4) == 0
    assert reduction_scratch_bytes([64, 32], 1, 2, 4) == 0  # the warps split the rows
