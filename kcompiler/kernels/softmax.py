"""Softmax over the last dim: the one-line form and the two-pass online form (backward:
kcompiler/kernels/backward.py)."""

from __future__ import annotations

import torch

import kcompiler as kc
import kcompiler.language as kl


@kc.kernel(float_inputs=["x"])
def softmax(x: torch.Tensor) -> torch.Tensor:
    n, _m = x.size()
    out = torch.empty_like(x)
    for tile_n in kl.tile(n):
        out[tile_n, :] = torch.nn.functional.softmax(x[tile_n, :], dim=1)
    return out


@kc.kernel(float_inputs=["x"])
def softmax_decomposed(x: torch.Tensor) -> torch.Tensor:
    n, _m = x.size()
    out = torch.empty_like(x)
    for tile_n in kl.tile(n):
        values = x[tile_n, :]
        amax = torch.amax(values, dim=1, keepdim=True)
        exp = torch.exp(values - amax)
        sum_exp = torch.sum(exp, dim=1, keepdim=True)
        out[tile_n, :] = exp / sum_exp
    return out


@kc.kernel(float_inputs=["x"])
def softmax_two_pass(x: torch.Tensor) -> torch.Tensor:
    m, n = x.size()
    out = torch.empty_like(x)
    block_size_m = kl.register_block_size(m)
    block_size_n = kl.register_block_size(n)
    for tile_m in kl.tile(m, block_size=block_size_m):
        # float64 inputs keep float64 sums; computed in the loop, the dtype is no key entry
        acc = torch.promote_types(x.dtype, torch.float32)
        mi = kl.full([tile_m], float("-inf"), dtype=acc)
        di = kl.zeros([tile_m], dtype=acc)
        for tile_n in kl.tile(n, block_size=block_size_n):
            values = x[tile_m, tile_n]
            local_amax = torch.amax(values, dim=1)
            mi_next = torch.maximum(mi, local_amax)
            di = di * torch.exp(mi - mi_next) + torch.exp(values - mi_next[:, None]).sum(dim=1)
            mi = mi_next
        for tile_n in kl.tile(n, block_size=block_size_n):
            values = x[tile_m, tile_n]
            out[tile_m, tile_n] = torch.exp(values - mi[:, None]) / di[:, None]
    return out
