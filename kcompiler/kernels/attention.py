"""Flash attention forward (online softmax over K/V blocks), causal or not, in Helion's form.

One program per (batch, head, block of queries). Scores of a K/V block come from one
``tl.dot`` in float32; the running row max ``m_i`` and row sum ``l_i`` rescale the float32
output accumulator as each block arrives, so scores never reach memory. Base-2 exponentials
with ``log2(e)`` folded into the scale, as in Triton's and Helion's kernels. K is read through
a transposed view (``k.transpose(2, 3)``), so ``Q @ K^T`` is a plain ``[m, d] @ [d, n]``
product. With ``causal``, the K/V loop stops at the end of the query block: blocks above the
diagonal are never loaded.
"""

from __future__ import annotations

import math

import torch

import kcompiler as kc
import kcompiler.language as kl

_LOG2E = 1.4426950408889634


@kc.kernel(float_inputs=["q", "k", "v"])
def attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False
) -> torch.Tensor:
    """softmax(q @ k^T / sqrt(d), causal mask aligned top-left as in SDPA) @ v.

    q [B, H, S_q, D], k and v [B, H, S_k, D]; output [B, H, S_q, D] in q's dtype.
    """
    b, h, m_dim, head_dim = q.size()
    n_dim = k.size(2)
    assert k.size() == v.size(), f"k {tuple(k.size())} and v {tuple(v.size())} differ"
    assert k.size(0) == b and k.size(1) == h and k.size(3) == head_dim, "q and k do not match"
    k_t = k.transpose(2, 3)  # a view [B, H, D, S_k]: K^T tiles load directly
    out = torch.empty_like(q)
    qk_scale = _LOG2E / math.sqrt(head_dim)
    for tile_b, tile_h, tile_m in kl.tile([b, h, m_dim], block_size=[1, 1, None]):
        bi = tile_b.begin
        hi = tile_h.begin
        m_i = kl.full([tile_m], float("-inf"), dtype=torch.float32)
        l_i = kl.zeros([tile_m], dtype=torch.float32)
        acc = kl.zeros([tile_m, head_dim], dtype=torch.float32)
        q_blk = q[bi, hi, tile_m, :]
        if causal:
            n_end = torch.clamp(tile_m.end, max=n_dim)  # n_dim may be a static int
        else:
            n_end = n_dim
        for tile_n in kl.tile(n_end):
            qk = kl.dot(q_blk, k_t[bi, hi, :, tile_n], out_dtype=torch.float32) * qk_scale
            if causal:
                qk = torch.where(tile_m.index[:, None] >= tile_n.index[None, :], qk, float("-inf"))
            m_ij = torch.maximum(m_i, torch.amax(qk, -1))
            p = torch.exp2(qk - m_ij[:, None])
            alpha = torch.exp2(m_i - m_ij)
            l_i = l_i * alpha + torch.sum(p, -1)
            acc = acc * alpha[:, None]
            acc = torch.addmm(acc, p.to(v.dtype), v[bi, hi, tile_n, :])
            m_i = m_ij
        out[bi, hi, tile_m, :] = acc / l_i[:, None]
    return out


def attention_reference(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False
) -> torch.Tensor:
    """SDPA in float32, rounded to q's dtype once."""
    out = torch.nn.functional.scaled_dot_product_attention(
        q.float(), k.float(), v.float(), is_causal=causal
    )
    return out.to(q.dtype)
