"""Elementwise exp."""

from __future__ import annotations

import torch

import kcompiler as kc
import kcompiler.language as kl


@kc.kernel()
def vector_exp(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size()):
        out[tile] = torch.exp(x[tile])
    return out
