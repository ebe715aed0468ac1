"""GEGLU, ``gelu(a) * b`` with GELU's tanh form (``torch.nn.functional.gelu(a,
approximate="tanh")``), forward and backward.

With ``u = k * (a + c * a**3)``, ``k = sqrt(2 / pi)``, ``c = 0.044715`` and ``t = tanh(u)``:
``gelu(a) = 0.5 * a * (1 + t)`` and ``gelu'(a) = 0.5 * (1 + t) + 0.5 * a * (1 - t**2) * k *
(1 + 3 * c * a**2)``, so for ``out = gelu(a) * b`` and an upstream gradient ``g``:
``grad_a = g * b * gelu'(a)`` and ``grad_b = g * gelu(a)``. Math in float32 (float64 for
float64 inputs), results in the inputs' dtypes; ``a`` and ``b`` have one shape.
"""

from __future__ import annotations

import math
from typing import Any

import torch

import kcompiler as kc
import kcompiler.language as kl

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
CUBIC = 0.044715


@kc.kernel()
def geglu(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    assert a.shape == b.shape, f"geglu: a and b must have one shape, got {a.shape} and {b.shape}"
    out = torch.empty_like(a, dtype=torch.promote_types(a.dtype, b.dtype))
    for tile in kl.tile(a.size()):
        acc = torch.promote_types(out.dtype, torch.float32)  # in the loop: no key entry
        a_t = a[tile].to(acc)
        t = torch.tanh(SQRT_2_OVER_PI * (a_t + CUBIC * a_t * a_t * a_t))
        out[tile] = (0.5 * a_t * (1.0 + t) * b[tile].to(acc)).to(out.dtype)
    return out


@kc.kernel()
def geglu_bwd(
    grad_out: torch.Tensor, a: torch.Tensor, b: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    grad_a = torch.empty_like(a)
    grad_b = torch.empty_like(b)
    for tile in kl.tile(a.size()):
        acc = torch.promote_types(torch.promote_types(a.dtype, b.dtype), torch.float32)
        a_t = a[tile].to(acc)
        g = grad_out[tile].to(acc)
        a2 = a_t * a_t
        t = torch.tanh(SQRT_2_OVER_PI * (a_t + CUBIC * a2 * a_t))
        gelu = 0.5 * a_t * (1.0 + t)
        d_gelu = 0.5 * (1.0 + t) + 0.5 * a_t * (1.0 - t * t) * SQRT_2_OVER_PI * (
            1.0 + 3.0 * CUBIC * a2
        )
        grad_b[tile] = (g * gelu).to(grad_b.dtype)
        grad_a[tile] = (g * b[tile].to(acc) * d_gelu).to(grad_a.dtype)
    return grad_a, grad_b


def _save_inputs(ctx: Any, inputs: tuple[Any, ...], output: torch.Tensor) -> None:
    ctx.save_for_backward(*inputs)


@geglu.register_backward(setup_context=_save_inputs)
def _geglu_backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    a, b = ctx.saved_tensors
    return geglu_bwd(grad_out, a, b)
