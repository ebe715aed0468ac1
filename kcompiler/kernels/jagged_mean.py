"""Per-row mean of a jagged tensor (values [total, D], offsets [B+1])."""

from __future__ import annotations

import torch

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.exc import not_float


@kc.kernel()
def jagged_mean_kernel(
    x_data: torch.Tensor,
    x_offsets: torch.Tensor,
    x_feature_counts: torch.Tensor,
    max_M: int,  # noqa: N803 - Helion's name
) -> torch.Tensor:
    num_rows = x_offsets.size(0) - 1
    out = torch.zeros([num_rows, max_M], dtype=x_data.dtype, device=x_data.device)
    x_flat = x_data.view(-1)
    for tile_b in kl.tile(num_rows):
        starts = x_offsets[tile_b]
        ends = x_offsets[tile_b.index + 1]
        nnz = ends - starts
        feature_counts = x_feature_counts[tile_b]
        for tile_m in kl.jagged_tile(feature_counts):
            row_sums = kl.zeros([tile_b, tile_m], dtype=x_data.dtype)
            for tile_k in kl.jagged_tile(nnz):
                flat_indices = (starts[:, None] + tile_k.index[None, :])[:, :, None] * max_M
                flat_indices = flat_indices + tile_m.index[None, None, :]
                x_slice = kl.load(x_flat, [flat_indices])
                row_sums = row_sums + x_slice.sum(dim=1)
            nnz_float = nnz.to(x_data.dtype)
            nnz_expanded = nnz_float[:, None]
            result = torch.where(nnz_expanded > 0, row_sums / nnz_expanded, 0.0)
            out[tile_b, tile_m] = result
    return out


def jagged_mean(values: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Mean over each row's slice ``values[offsets[i]:offsets[i+1]]``; empty rows give 0."""
    if not values.dtype.is_floating_point:
        raise not_float("jagged_mean", "values", values.dtype)
    d = values.size(1)
    counts = torch.full((offsets.numel() - 1,), d, dtype=torch.int32, device=values.device)
    return jagged_mean_kernel(values, offsets, counts, d)


def _autotune(args, **options):  # noqa: ANN001, ANN202
    values, offsets = args
    d = values.size(1)
    counts = torch.full((offsets.numel() - 1,), d, dtype=torch.int32, device=values.device)
    return jagged_mean_kernel.autotune((values, offsets, counts, d), **options)


jagged_mean.autotune = _autotune  # type: ignore[attr-defined]
