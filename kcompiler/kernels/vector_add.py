"""Elementwise add with broadcasting."""

from __future__ import annotations

import torch

import kcompiler as kc
import kcompiler.language as kl


@kc.kernel()
def vector_add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if x.shape != y.shape:  # broadcasting costs host time on every call; skip it when moot
        x, y = torch.broadcast_tensors(x, y)
    out = torch.empty(x.shape, dtype=torch.promote_types(x.dtype, y.dtype), device=x.device)
    for tile in kl.tile(out.size()):
        out[tile] = x[tile] + y[tile]
    return out
