"""Matrix multiplication with a fused epilogue (bias, activation), in Helion's examples' form.

The accumulator is a float32 block carried through the loop over K; each step is one
``torch.addmm`` (a ``tile.dot``, ``tl.dot`` in Triton). The epilogue runs on the accumulator
before the single cast and store, so bias and activation cost no extra pass over memory.
"""

from __future__ import annotations

import torch

import kcompiler as kc
import kcompiler.language as kl

ACTIVATIONS = ("none", "relu", "gelu", "gelu_tanh")


@kc.kernel
def matmul(
    x: torch.Tensor,
    y: torch.Tensor,
    bias: torch.Tensor | None = None,
    activation: str = "none",
) -> torch.Tensor:
    """``activation(x @ y + bias)``: x [m, k], y [k, n], bias [n] or None."""
    m, k = x.size()
    k2, n = y.size()
    assert k == k2, f"size mismatch {k} != {k2}"
    assert activation in ACTIVATIONS, f"unknown activation {activation!r}"
    if bias is not None:
        assert bias.size(0) == n, f"bias size mismatch {bias.size(0)} != {n}"
    out = torch.empty([m, n], dtype=torch.promote_types(x.dtype, y.dtype), device=x.device)
    for tile_m, tile_n in kl.tile([m, n]):
        acc = kl.zeros([tile_m, tile_n], dtype=torch.float32)
        for tile_k in kl.tile(k):
            acc = torch.addmm(acc, x[tile_m, tile_k], y[tile_k, tile_n])
        if bias is not None:
            acc = acc + bias[tile_n].to(torch.float32)
        if activation == "relu":
            acc = torch.relu(acc)
        elif activation == "gelu":
            acc = torch.nn.functional.gelu(acc)
        elif activation == "gelu_tanh":
            acc = torch.nn.functional.gelu(acc, approximate="tanh")
        out[tile_m, tile_n] = acc
    return out


@kc.kernel
def matmul_dot(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``x @ y`` with ``kl.dot`` (Helion's ``hl.dot``) accumulating in float32."""
    m, k = x.size()
    k2, n = y.size()
    assert k == k2, f"size mismatch {k} != {k2}"
    out = torch.empty([m, n], dtype=torch.promote_types(x.dtype, y.dtype), device=x.device)
    for tile_m, tile_n in kl.tile([m, n]):
        acc = kl.zeros([tile_m, tile_n], dtype=torch.float32)
        for tile_k in kl.tile(k):
            acc = kl.dot(x[tile_m, tile_k], y[tile_k, tile_n], acc=acc)
        out[tile_m, tile_n] = acc
    return out


def matmul_reference(
    x: torch.Tensor, y: torch.Tensor, bias: torch.Tensor | None = None, activation: str = "none"
) -> torch.Tensor:
    """The same computation in torch, in float32, rounded to the output dtype once."""
    acc = x.float() @ y.float()
    if bias is not None:
        acc = acc + bias.float()
    if activation == "relu":
        acc = torch.relu(acc)
    elif activation == "gelu":
        acc = torch.nn.functional.gelu(acc)
    elif activation == "gelu_tanh":
        acc = torch.nn.functional.gelu(acc, approximate="tanh")
    return acc.to(torch.promote_types(x.dtype, y.dtype))
