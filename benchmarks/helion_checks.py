"""Checks the Helion-examples report adds where an example's own check cannot fail.

``jagged_hstu_attn``'s driver compares its kernel with its reference at ``atol=0.1``, while
the outputs at the report's sizes are below 0.002 (alpha = 1/head_dim**2 and scale =
1/max_seq_len shrink them): an all-zero output passes, and so does its kernel, which masks
the diagonal out (``q > kv``) where the reference keeps it (``tril(diagonal=0)``). Its row
therefore also runs :func:`jagged_hstu_causal`: the example's kernel against the same
attention recomputed in float64 with the kernel's own strict mask, at a tolerance scaled to
the output, on sequence lengths chosen so that each sequence's last q tile runs past its end
(into the next sequence's rows, and past the tensor for the last one).

:func:`jagged_hstu_overruns` recomputes, in plain torch, the rows that kernel's programs index
outside their own sequence: the facts the report's note states, checkable without a kernel.
"""

from __future__ import annotations

from typing import Any

import torch


def strict_causal_reference(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, offsets: torch.Tensor, max_seq_len: int
) -> torch.Tensor:
    """HSTU attention as the example's kernel defines it: per sequence and head,
    ``silu(q k^T * alpha) * scale`` with positions attending strictly earlier ones, times v;
    in float64."""
    out = torch.zeros_like(v, dtype=torch.float64)
    alpha, scale = 1.0 / v.size(2) ** 2, 1.0 / max_seq_len
    for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True):
        qs, ks, vs = (x[a:b].double() for x in (q, k, v))
        scores = torch.nn.functional.silu(torch.einsum("qhd,khd->hqk", qs, ks) * alpha) * scale
        earlier = torch.ones(b - a, b - a, dtype=torch.bool, device=q.device).tril(-1)
        out[a:b] = torch.einsum("hqk,khd->qhd", scores * earlier, vs)
    return out


def jagged_hstu_overruns(
    lengths: list[int], max_seq_len: int, block_q: int, block_kv: int
) -> dict[str, list[tuple[int, int]]]:
    """The (sequence, row) pairs the example's kernel reads or writes outside sequence
    ``sequence``, for q tiles of ``block_q`` and k/v tiles of ``block_kv``, as its source
    computes them: a program (sequence b, q tile from ``begin``) runs when ``begin < len_b``;
    its lanes are ``begin + arange(block_q)`` below ``max_seq_len`` (the tile's own mask), and
    it loads q and stores out at ``start_b + lane`` for all of them; its k/v loop covers
    ``0 .. min(begin + block_q, max_seq_len)`` in tiles of ``block_kv``, loading rows
    ``start_b + kv`` for every kv below that end. Returns the rows (as absolute row numbers)
    under ``"q"`` (also those ``out`` is written at), ``"kv"``, each paired with the sequence
    whose program touches them."""
    starts = torch.tensor([0, *lengths]).cumsum(0)
    found: dict[str, list[tuple[int, int]]] = {"q": [], "kv": []}
    for b, n in enumerate(lengths):
        for begin in range(0, max_seq_len, block_q):
            if begin >= n:
                continue
            lanes = torch.arange(begin, min(begin + block_q, max_seq_len))
            end = int(lanes[-1]) + 1
            kv = torch.arange(0, -(-end // block_kv) * block_kv)
            kv = kv[kv < end]
            for key, rows in (("q", lanes), ("kv", kv)):
                past = rows[rows >= n] + starts[b]
                found[key] += [(b, int(r)) for r in past]
    return found


def jagged_hstu_causal(kernel: Any, device: torch.device, repeats: int = 1) -> None:
    """Run ``kernel`` (the example's ``_helion_jagged_attention_kernel``) ``repeats`` times and
    require every result to match :func:`strict_causal_reference` within 1e-4 of the output's
    largest magnitude; raise AssertionError (the report's FAIL) otherwise."""
    gen = torch.Generator().manual_seed(0)
    max_seq_len, heads, dim = 37, 2, 32
    lengths = [22, 20, 31]  # none a multiple of the q tile: every last tile runs past its end
    offsets = torch.tensor([0, *torch.tensor(lengths).cumsum(0).tolist()], dtype=torch.int32)
    total = int(offsets[-1])
    q, k, v = (torch.randn(total, heads, dim, generator=gen) for _ in range(3))
    want = strict_causal_reference(q, k, v, offsets, max_seq_len)
    args = [x.to(device) for x in (q, k, v, offsets)]
    bound = 1e-4 * want.abs().max().item()
    for i in range(repeats):
        got = kernel(max_seq_len, 1.0 / dim**2, *args).double().cpu()
        diff = (got - want).abs().amax(dim=(1, 2))
        rows = (diff > bound).nonzero().flatten().tolist()
        assert not rows, (
            f"jagged_hstu_causal: call {i}: rows {rows[:8]} differ from the strict-causal "
            f"recomputation by up to {diff.max().item():.3g} (bound {bound:.3g})"
        )
