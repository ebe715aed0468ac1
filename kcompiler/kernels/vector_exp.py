"""Elementwise exp."""

from __future__ import annotations

import torch

import kcompiler as kc
import kcompiler.language as kl


@kc.kernel()
def vector_exp(x: torch.Tensor) -> torch.Tensor:
    # torch.exp of an integer or bool tensor is float32 (torch's default dtype), not its dtype.
    if x.dtype.is_floating_point:
        out = torch.empty_like(x)
    else:
        out = torch.empty_like(x, dtype=torch.float32)
    for tile in kl.tile(x.size()):
        out[tile] = torch.exp(x[tile])
    return out
