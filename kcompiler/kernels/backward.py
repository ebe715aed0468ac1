"""Backward kernels of the bundled forward kernels, and their wiring: each forward kernel
declares its backward with ``Kernel.register_backward`` (runtime/custom_op.py, 'Autograd'),
so that ``loss.backward()``, ``torch.autograd.gradcheck`` and ``torch.compile`` see one
autograd-aware op per forward call. ``kcompiler.kernels`` imports this module, so importing
any bundled kernel wires them all.

Weight gradients reduce over the tiled dim (rows) across programs: each program of the
outer ``mb_cta`` loop accumulates a partial sum over its rows into ``grad_weight[mb_cta.id, :]``,
and the host sums the partials (``.sum(0)``).

Math runs in float32 for half and float32 inputs and in float64 for float64 ones
(``torch.promote_types(dtype, torch.float32)``), so that gradcheck's float64 finite differences
see float64 kernels. Device loops read that dtype off a tensor (``grad_weight.dtype``) or
compute it in the loop, not from a host local: a dtype local would be one more generic entry
in the fast-path key of every call.
"""

from __future__ import annotations

from typing import Any

import torch

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.kernels.cross_entropy import cross_entropy

# layer_norm is re-exported as it is: it calls layer_norm_fwd, whose backward is wired here.
from kcompiler.kernels.layer_norm import layer_norm, layer_norm_fwd  # noqa: F401
from kcompiler.kernels.rms_norm import rms_norm_fwd
from kcompiler.kernels.softmax import softmax, softmax_decomposed, softmax_two_pass
from kcompiler.kernels.vector_exp import vector_exp as exp_fwd

# -- exp --------------------------------------------------------------------------------------


@kc.kernel()
def exp_bwd(dy: torch.Tensor, exp_x: torch.Tensor) -> torch.Tensor:
    """
    Computes the gradient of the exponential function with respect to the input tensor.

    Args:
        dy: Gradient of the output tensor
        exp_x: Saved activation from the forward pass

    Returns:
        Gradient of the input tensor
    """
    dx = torch.empty_like(exp_x)
    for tile in kl.tile(exp_x.size()):
        dx[tile] = dy[tile] * exp_x[tile]
    return dx


@exp_fwd.register_backward(setup_context=lambda ctx, inputs, y: ctx.save_for_backward(y))
def _exp_backward(ctx: Any, grad_y: torch.Tensor) -> torch.Tensor:
    (y,) = ctx.saved_tensors
    return exp_bwd(grad_y, y)


def exp(x: torch.Tensor) -> torch.Tensor:
    """Exponential with forward and backward support."""
    return exp_fwd(x)


# -- rms_norm ---------------------------------------------------------------------------------


@kc.kernel(ignore_warnings=[kc.exc.TensorOperationInWrapper])
def rms_norm_bwd(
    grad_out: torch.Tensor,
    x: torch.Tensor,
    weight: torch.Tensor,
    rsqrt: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """
    Compute gradient for input tensor (dX) and weights (dW).

    This kernel computes per-sample gradients by performing reductions across
    the feature dimension (N) for each sample in the batch and across the batches
    in a split fashion.

    Args:
        grad_out: Gradient w.r.t rms norm output [M, N]
        x: Original input tensor [M, N]
        weight: Weight parameter [N]
        inv_rms: Inverse RMS tensor [M, 1]

    Returns:
        grad_x: Gradient w.r.t input tensor, shape [M, N]
        grad_weight: Gradient w.r.t eight tensor, shape [N]
    """
    m_block = kl.register_block_size(x.size(0))
    grad_x = torch.empty_like(x)
    acc_dtype = torch.promote_types(x.dtype, torch.float32)
    grad_weight = x.new_empty(
        [(x.size(0) + m_block - 1) // m_block, *weight.shape], dtype=acc_dtype
    )
    weight_shape = kl.specialize(weight.size(0))
    for mb_cta in kl.tile(x.size(0), block_size=m_block):
        grad_w_m = weight.new_zeros(weight_shape, dtype=grad_weight.dtype)  # acc, no key entry
        for mb in kl.tile(mb_cta.begin, mb_cta.end):
            x_m = x[mb, :].to(grad_weight.dtype)
            do_m = grad_out[mb, :].to(grad_weight.dtype)
            rsqrt_m = rsqrt[mb, :].to(grad_weight.dtype)
            grad_w_m += (x_m * do_m * rsqrt_m).sum(0)
            w_m = weight[None, :].to(grad_weight.dtype)
            grad_x[mb, :] = (
                w_m * do_m * rsqrt_m - x_m * rsqrt_m**3 * (w_m * do_m * x_m).mean(-1)[:, None]
            ).to(x.dtype)
        grad_weight[mb_cta.id, :] = grad_w_m
    return grad_x, grad_weight.sum(0).to(weight.dtype)


def _rms_norm_save(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
    x, weight, _eps = inputs
    _y, inv_rms = output
    ctx.mark_non_differentiable(inv_rms)  # a statistic of x, not a differentiable output
    ctx.save_for_backward(x, weight, inv_rms)


@rms_norm_fwd.register_backward(setup_context=_rms_norm_save)
def _rms_norm_backward(ctx: Any, grad_y: torch.Tensor, _grad_inv_rms: Any) -> tuple[Any, ...]:
    x, weight, inv_rms = ctx.saved_tensors
    grad_x, grad_weight = rms_norm_bwd(grad_y, x, weight, inv_rms)
    return grad_x, grad_weight, None


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """RMS normalization with forward + backward support."""
    return rms_norm_fwd(x, weight, eps)[0]


# -- layer_norm -------------------------------------------------------------------------------


@kc.kernel
def layer_norm_bwd(
    grad_out: torch.Tensor,
    x: torch.Tensor,
    mean: torch.Tensor,
    rstd: torch.Tensor,
    weight: torch.Tensor,
    compute_bias_grad: kl.constexpr = True,  # type: ignore[valid-type]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """
    Compute gradients for weight (dW) and optionally bias (dB) parameters.

    This kernel performs reduction across the batch dimension (M) to accumulate
    gradients for each feature dimension's weight and bias parameters.

    Args:
        grad_out: Gradient w.r.t layer norm output [M, N]
        x: Original input tensor [M, N]
        mean: Per-sample mean computed in forward pass [M]
        rstd: Per-sample reciprocal standard deviation from forward pass [M]
        weight: Weight parameter (used only for dtype/device info) [N]
        compute_bias_grad: Whether to compute bias gradient (default: True)

    Returns:
        (grad_x, grad_weight, grad_bias): Gradients for input, weight, and bias (if computed)
            grad_bias is None if compute_bias_grad is False
    """

    m_block = kl.register_block_size(x.size(0))
    n = kl.specialize(x.size(1))

    grad_x = torch.empty_like(x)
    acc_dtype = torch.promote_types(x.dtype, torch.float32)
    num_blocks = (x.size(0) + m_block - 1) // m_block
    grad_weight_blocks = x.new_empty([num_blocks, n], dtype=acc_dtype)
    grad_bias_blocks = x.new_empty([num_blocks, n], dtype=acc_dtype)

    for mb_cta in kl.tile(x.size(0), block_size=m_block):
        grad_w_acc = weight.new_zeros(n, dtype=grad_weight_blocks.dtype)
        if compute_bias_grad:
            grad_b_acc = weight.new_zeros(n, dtype=grad_weight_blocks.dtype)
        weight_cta = weight[None, :].to(grad_weight_blocks.dtype)
        for mb in kl.tile(mb_cta.begin, mb_cta.end):
            x_mb = x[mb, :].to(grad_weight_blocks.dtype)
            dy_mb = grad_out[mb, :].to(grad_weight_blocks.dtype)
            mean_mb = mean[mb].to(grad_weight_blocks.dtype)
            rstd_mb = rstd[mb].to(grad_weight_blocks.dtype)

            x_hat = (x_mb - mean_mb[:, None]) * rstd_mb[:, None]

            grad_w_acc += torch.sum(dy_mb * x_hat, dim=0)
            if compute_bias_grad:
                # pyrefly: ignore [unbound-name]
                grad_b_acc += torch.sum(dy_mb, dim=0)

            wdy = weight_cta * dy_mb
            c1 = torch.sum(x_hat * wdy, dim=-1) / n
            c2 = torch.sum(wdy, dim=-1) / n
            dx = (wdy - (x_hat * c1[:, None] + c2[:, None])) * rstd_mb[:, None]
            grad_x[mb, :] = dx.to(x.dtype)

        grad_weight_blocks[mb_cta.id, :] = grad_w_acc
        if compute_bias_grad:
            grad_bias_blocks[mb_cta.id, :] = grad_b_acc  # type: ignore[index]

    grad_weight = grad_weight_blocks.sum(0).to(weight.dtype)
    if compute_bias_grad:
        grad_bias = grad_bias_blocks.sum(0).to(weight.dtype)
        return grad_x, grad_weight, grad_bias
    return grad_x, grad_weight, None


def _layer_norm_save(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
    x, _normalized_shape, weight, bias, _eps = inputs
    _y, mean, rstd = output
    ctx.mark_non_differentiable(mean, rstd)
    ctx.save_for_backward(x, weight, bias, mean, rstd)


@layer_norm_fwd.register_backward(setup_context=_layer_norm_save)
def _layer_norm_backward(ctx: Any, grad_y: torch.Tensor, *_grad_stats: Any) -> tuple[Any, ...]:
    x, weight, bias, mean, rstd = ctx.saved_tensors
    grad_x, grad_weight, grad_bias = layer_norm_bwd(grad_y, x, mean, rstd, weight, bias is not None)
    return grad_x, None, grad_weight, grad_bias, None


# -- softmax ----------------------------------------------------------------------------------


@kc.kernel()
def softmax_bwd(grad_output: torch.Tensor, softmax_output: torch.Tensor) -> torch.Tensor:
    """
    Helion kernel implementing softmax backward pass.

    dy/dx = softmax_output * (grad_output - sum(softmax_output * grad_output))

    Args:
        grad_output (torch.Tensor): Gradient from downstream layers of shape [m, n]
        softmax_output (torch.Tensor): Output from forward softmax pass of shape [m, n]

    Returns:
        torch.Tensor: Gradient with respect to input of shape [m, n]
    """
    m, n = grad_output.size()
    grad_input = torch.empty_like(grad_output)
    for tile_m in kl.tile(m):
        acc = torch.promote_types(softmax_output.dtype, torch.float32)  # in the loop: no key entry
        sum_per_row = kl.zeros([tile_m], dtype=acc)
        for tile_n in kl.tile(n):
            sum_per_row += torch.sum(
                softmax_output[tile_m, tile_n] * grad_output[tile_m, tile_n], dim=1
            )
        for tile_n in kl.tile(n):
            grad_input[tile_m, tile_n] = softmax_output[tile_m, tile_n] * (
                grad_output[tile_m, tile_n] - sum_per_row[:, None]
            )

    return grad_input


def _save_output(ctx: Any, inputs: tuple[Any, ...], y: torch.Tensor) -> None:
    ctx.save_for_backward(y)


def _softmax_backward(ctx: Any, grad_y: torch.Tensor) -> torch.Tensor:
    (y,) = ctx.saved_tensors
    return softmax_bwd(grad_y, y)


for _k in (softmax, softmax_decomposed, softmax_two_pass):
    _k.register_backward(_softmax_backward, setup_context=_save_output)


def softmax_fwd_bwd(x: torch.Tensor) -> torch.Tensor:
    """Softmax with forward + backward support."""
    return softmax_two_pass(x)


# -- cross_entropy ----------------------------------------------------------------------------


@kc.kernel(ignore_warnings=[kc.exc.TensorOperationInWrapper])
def cross_entropy_bwd(
    grad_loss: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor, ignore_index: int = -100
) -> torch.Tensor:
    """Gradient of the mean cross-entropy loss w.r.t. the logits [N, V]:
    ``(softmax(logits) - onehot(labels)) * grad_loss / count``, where ``count`` is the number of
    rows whose label is not ``ignore_index`` (those rows get a zero gradient), as torch's
    ``cross_entropy(reduction="mean")``. The softmax is recomputed here (two passes over V,
    online max and sum first) rather than saved by the forward."""
    n, v = logits.shape
    grad_logits = torch.empty_like(logits)
    acc_dtype = torch.promote_types(logits.dtype, torch.float32)
    # grad_loss / count as a one-element tensor: read in the kernel, never synchronized here.
    count = (labels != ignore_index).sum().to(acc_dtype)
    scale = (grad_loss.to(acc_dtype) / count).reshape(1)
    for tile_n in kl.tile(n):
        acc = scale.dtype  # read off a tensor the loop keys on: no key entry of its own
        mi = kl.full([tile_n], float("-inf"), dtype=acc)
        di = kl.zeros([tile_n], dtype=acc)
        for tile_v in kl.tile(v):
            values = logits[tile_n, tile_v].to(acc)
            mi_next = torch.maximum(mi, torch.amax(values, dim=1))
            di = di * torch.exp(mi - mi_next) + torch.exp(values - mi_next[:, None]).sum(dim=1)
            mi = mi_next
        labels_tile = labels[tile_n]
        row_scale = (labels_tile != ignore_index).to(acc) * scale[0]
        for tile_v in kl.tile(v):
            values = logits[tile_n, tile_v].to(acc)
            probs = torch.exp(values - mi[:, None]) / di[:, None]
            onehot = (tile_v.index[None, :] == labels_tile[:, None]).to(acc)
            grad_logits[tile_n, tile_v] = ((probs - onehot) * row_scale[:, None]).to(logits.dtype)
    return grad_logits


def _cross_entropy_save(ctx: Any, inputs: tuple[Any, ...], loss: torch.Tensor) -> None:
    logits, labels, ignore_index = inputs
    ctx.ignore_index = ignore_index
    ctx.save_for_backward(logits, labels)


@cross_entropy.register_backward(setup_context=_cross_entropy_save)
def _cross_entropy_backward(ctx: Any, grad_loss: torch.Tensor) -> tuple[Any, ...]:
    logits, labels = ctx.saved_tensors
    return cross_entropy_bwd(grad_loss, logits, labels, ctx.ignore_index), None, None
