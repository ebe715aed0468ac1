"""The nine kernels in Helion's language (helion 1.5.0), forward only, as a peer to measure.

Each function takes the same arguments as the torch reference in `benchmarks.kernels` and
returns the same tensor. Patterned on Helion's own examples/ (one program per row block, the
whole row in registers unless Helion's config splits it); the autotune effort comes from
HELION_AUTOTUNE_EFFORT, which the runner sets before importing this module.
"""

from __future__ import annotations

import math

import helion
import helion.language as hl
import torch

_WRAPPER_OPS = [helion.exc.TensorOperationInWrapper]


@helion.kernel()
def vector_add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in hl.tile(out.size()):
        out[tile] = x[tile] + y[tile]
    return out


@helion.kernel()
def vector_exp(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in hl.tile(x.size()):
        out[tile] = torch.exp(x[tile])
    return out


@helion.kernel()
def embedding(idx: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    flat = idx.reshape(-1)
    _, dim = weight.size()
    out = torch.empty([flat.size(0), dim], dtype=weight.dtype, device=weight.device)
    for tile_b, tile_d in hl.tile([flat.size(0), dim]):
        out[tile_b, tile_d] = weight[flat[tile_b], tile_d]
    return out.view(*idx.size(), dim)


@helion.kernel()
def sum(x: torch.Tensor) -> torch.Tensor:  # noqa: A001 - the kernel's name
    m, _ = x.size()
    out = torch.empty([m], dtype=x.dtype, device=x.device)
    for tile_m in hl.tile(m):
        out[tile_m] = x[tile_m, :].sum(-1)
    return out


@helion.kernel()
def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    m, _ = x.size()
    out = torch.empty_like(x)
    for tile_m in hl.tile(m):
        row = x[tile_m, :].to(torch.float32)
        inv_rms = torch.rsqrt(torch.mean(row * row, dim=-1) + eps)
        out[tile_m, :] = (row * inv_rms[:, None] * weight[:].to(torch.float32)).to(out.dtype)
    return out


@helion.kernel()
def layer_norm(
    x: torch.Tensor,
    normalized_shape: list[int],
    weight: torch.Tensor,
    bias: torch.Tensor,
    eps: float = 1e-5,
) -> torch.Tensor:
    m, n = x.size()
    assert normalized_shape[0] == n
    out = torch.empty_like(x)
    for tile_m in hl.tile(m):
        row = x[tile_m, :].to(torch.float32)
        mean = torch.sum(row, dim=-1) / n
        centered = row - mean[:, None]
        rstd = torch.rsqrt(torch.sum(centered * centered, dim=-1) / n + eps)
        y = centered * rstd[:, None] * weight[:].to(torch.float32) + bias[:].to(torch.float32)
        out[tile_m, :] = y.to(out.dtype)
    return out


@helion.kernel()
def softmax(x: torch.Tensor) -> torch.Tensor:
    """Two passes over each row: online max and rescaled sum, then normalize (examples/softmax.py)."""
    m, n = x.size()
    out = torch.empty_like(x)
    block_m = hl.register_block_size(m)
    block_n = hl.register_block_size(n)
    for tile_m in hl.tile(m, block_size=block_m):
        row_max = hl.full([tile_m], float("-inf"), dtype=torch.float32)
        denom = hl.zeros([tile_m], dtype=torch.float32)
        for tile_n in hl.tile(n, block_size=block_n):
            vals = x[tile_m, tile_n].to(torch.float32)
            new_max = torch.maximum(row_max, torch.amax(vals, dim=1))
            denom = denom * torch.exp(row_max - new_max) + torch.exp(vals - new_max[:, None]).sum(
                dim=1
            )
            row_max = new_max
        for tile_n in hl.tile(n, block_size=block_n):
            vals = x[tile_m, tile_n].to(torch.float32)
            out[tile_m, tile_n] = (torch.exp(vals - row_max[:, None]) / denom[:, None]).to(
                out.dtype
            )
    return out


@helion.kernel(ignore_warnings=_WRAPPER_OPS)
def cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-row logsumexp minus the target logit, then the mean on the host (examples/cross_entropy.py)."""
    n, v = logits.shape
    losses = torch.empty([n], dtype=torch.float32, device=logits.device)
    flat = logits.view(-1)
    for tile_n in hl.tile(n):
        target_logit = hl.load(flat, [tile_n.index * v + targets[tile_n]]).to(torch.float32)
        rows = logits[tile_n, :].to(torch.float32)
        row_max = torch.amax(rows, dim=-1, keepdim=True)
        sum_exp = torch.sum(torch.exp(rows - row_max), dim=-1, keepdim=True)
        lse = row_max.squeeze(-1) + torch.log(sum_exp.squeeze(-1))
        losses[tile_n] = lse - target_logit
    return losses.mean().to(logits.dtype)


@helion.kernel()
def jagged_mean(values: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Row b averages values[offsets[b]:offsets[b+1]]; empty rows give 0 (examples/jagged_mean.py)."""
    num_rows = offsets.size(0) - 1
    dim = hl.specialize(values.size(1))
    out = torch.empty([num_rows, dim], dtype=values.dtype, device=values.device)
    flat = values.view(-1)
    for tile_b in hl.tile(num_rows):
        starts = offsets[tile_b]
        lengths = offsets[tile_b.index + 1] - starts
        for tile_d in hl.tile(dim):
            acc = hl.zeros([tile_b, tile_d], dtype=torch.float32)
            for tile_k in hl.jagged_tile(lengths):
                rows = starts[:, None] + tile_k.index[None, :]
                index = rows[:, :, None] * dim + tile_d.index[None, None, :]
                acc = acc + hl.load(flat, [index]).to(torch.float32).sum(dim=1)
            count = lengths.to(torch.float32)[:, None]
            mean = torch.where(count > 0, acc / count, 0.0)
            out[tile_b, tile_d] = mean.to(out.dtype)
    return out


# The tensor-core kernels (benchmarks/tensor_core.py's specs). Helion's matmul examples use
# static shapes, which its docs recommend for matmuls; the same here.
@helion.kernel(static_shapes=True)
def matmul(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    m, k = x.size()
    _, n = y.size()
    out = torch.empty([m, n], dtype=x.dtype, device=x.device)
    for tile_m, tile_n in hl.tile([m, n]):
        acc = hl.zeros([tile_m, tile_n], dtype=torch.float32)
        for tile_k in hl.tile(k):
            acc = torch.addmm(acc, x[tile_m, tile_k], y[tile_k, tile_n])
        out[tile_m, tile_n] = acc.to(out.dtype)
    return out


@helion.kernel(static_shapes=True)
def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Non-causal flash attention forward over [B, H, S, D] (online softmax in base 2)."""
    s_q, d = q.size(-2), hl.specialize(q.size(-1))
    s_k = k.size(-2)
    qf = q.reshape([-1, s_q, d])
    kf = k.reshape([-1, s_k, d]).transpose(1, 2)
    vf = v.reshape([-1, s_k, d])
    out = torch.empty_like(qf)
    scale = 1.4426950408889634 / math.sqrt(d)
    for tile_bh, tile_m in hl.tile([qf.size(0), s_q]):
        row_max = hl.full([tile_bh, tile_m], float("-inf"), dtype=torch.float32)
        row_sum = hl.zeros([tile_bh, tile_m], dtype=torch.float32)
        acc = hl.zeros([tile_bh, tile_m, d], dtype=torch.float32)
        q_blk = qf[tile_bh, tile_m, :]
        for tile_n in hl.tile(s_k):
            scores = torch.bmm(q_blk, kf[tile_bh, :, tile_n]) * scale
            new_max = torch.maximum(row_max, torch.amax(scores, -1))
            p = torch.exp2(scores - new_max[:, :, None])
            alpha = torch.exp2(row_max - new_max)
            row_sum = row_sum * alpha + torch.sum(p, -1)
            acc = torch.baddbmm(acc * alpha[:, :, None], p.to(v.dtype), vf[tile_bh, tile_n, :])
            row_max = new_max
        out[tile_bh, tile_m, :] = (acc / row_sum[:, :, None]).to(out.dtype)
    return out.view(q.size())
