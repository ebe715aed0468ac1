"""Row sum over the last dim."""

from __future__ import annotations

import torch

import kcompiler as kc
import kcompiler.language as kl


@kc.kernel()
def sum(x: torch.Tensor) -> torch.Tensor:  # noqa: A001 - the operator's name
    m, n = x.shape
    out = torch.empty([m], dtype=x.dtype, device=x.device)
    for tile_m in kl.tile(m):
        out[tile_m] = x[tile_m, :].sum(-1)
    return out
