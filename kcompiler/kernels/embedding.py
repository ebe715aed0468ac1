"""Embedding lookup: a gather of rows of ``weight`` at the indices in ``x``."""

from __future__ import annotations

import torch

import kcompiler as kc
import kcompiler.language as kl


@kc.kernel()
def embedding(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    x_flat = x.reshape(-1)
    _, embedding_dim = weight.size()
    out = torch.empty([x_flat.size(0), embedding_dim], dtype=weight.dtype, device=weight.device)
    for tile_b, tile_e in kl.tile([x_flat.size(0), embedding_dim]):
        out[tile_b, tile_e] = weight[x_flat[tile_b], tile_e]
    return out.view(*x.size(), embedding_dim)
