"""SwiGLU, ``silu(a) * b`` (the gated unit of LLaMA-style MLPs), forward and backward.

With ``s = sigmoid(a)``: ``silu(a) = a * s`` and ``silu'(a) = s * (1 + a * (1 - s))``, so for
``out = silu(a) * b`` and an upstream gradient ``g``: ``grad_a = g * b * silu'(a)`` and
``grad_b = g * silu(a)``. Math in float32 (float64 for float64 inputs), results in the inputs'
dtypes; ``a`` and ``b`` have one shape (any rank, any strides).
"""

from __future__ import annotations

from typing import Any

import torch

import kcompiler as kc
import kcompiler.language as kl


@kc.kernel()
def swiglu(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    assert a.shape == b.shape, f"swiglu: a and b must have one shape, got {a.shape} and {b.shape}"
    out = torch.empty_like(a, dtype=torch.promote_types(a.dtype, b.dtype))
    for tile in kl.tile(a.size()):
        acc = torch.promote_types(out.dtype, torch.float32)  # in the loop: no key entry
        a_t = a[tile].to(acc)
        out[tile] = (a_t * torch.sigmoid(a_t) * b[tile].to(acc)).to(out.dtype)
    return out


@kc.kernel()
def swiglu_bwd(
    grad_out: torch.Tensor, a: torch.Tensor, b: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    grad_a = torch.empty_like(a)
    grad_b = torch.empty_like(b)
    for tile in kl.tile(a.size()):
        acc = torch.promote_types(torch.promote_types(a.dtype, b.dtype), torch.float32)
        a_t = a[tile].to(acc)
        g = grad_out[tile].to(acc)
        s = torch.sigmoid(a_t)
        silu = a_t * s
        grad_b[tile] = (g * silu).to(grad_b.dtype)
        grad_a[tile] = (g * b[tile].to(acc) * s * (1.0 + a_t * (1.0 - s))).to(grad_a.dtype)
    return grad_a, grad_b


def _save_inputs(ctx: Any, inputs: tuple[Any, ...], output: torch.Tensor) -> None:
    ctx.save_for_backward(*inputs)


@swiglu.register_backward(setup_context=_save_inputs)
def _swiglu_backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    a, b = ctx.saved_tensors
    return swiglu_bwd(grad_out, a, b)
