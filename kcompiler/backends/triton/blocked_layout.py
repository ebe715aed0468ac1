"""Where Triton's default blocked layout puts a block value's warps, for the shared-memory model.

A reduction whose operand spreads one row over several warps combines the warps' partial
results through shared memory; how many warps share a row follows from the blocked layout
Triton gives the operand. Triton builds that layout from the shape, the elements each thread
holds along the contiguous dim (``size_per_thread``: 1, or a vector of up to 16 bytes after
its coalescing pass) and the warp count: starting from the contiguous (last) dim, each dim
takes as many of the remaining threads as its extent over ``size_per_thread`` allows, lanes of
a warp first and then warps; the outermost dim takes whatever is left.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

WARP_SIZE = 32
VECTOR_BYTES = 16  # the widest access a thread issues (Triton's coalescing vector)


class Layout(NamedTuple):
    """Lanes and warps along each dim, and the elements a thread holds along the last."""

    lanes: tuple[int, ...]
    warps: tuple[int, ...]
    size_per_thread: int


def _order(rank: int, contiguous: int) -> list[int]:
    """Dims from the fastest: ``contiguous``, then the others from the last."""
    return [contiguous] + [d for d in range(rank - 1, -1, -1) if d != contiguous]


def blocked(
    shape: Sequence[int], num_warps: int, size_per_thread: int = 1, contiguous: int = -1
) -> Layout:
    """Lanes and warps along each dim of a blocked layout of ``shape`` over ``num_warps``
    warps, dim ``contiguous`` (default: the last) the fastest with ``size_per_thread``
    elements a thread along it, then the other dims from the last."""

    rank = len(shape)
    if rank == 0:
        return Layout((), (), size_per_thread)
    order = _order(rank, contiguous % rank)
    lanes = [1] * rank
    warps = [1] * rank
    threads_left = num_warps * WARP_SIZE
    lanes_left = WARP_SIZE
    warps_left = num_warps
    for i, d in enumerate(order[:-1]):
        per_thread = size_per_thread if i == 0 else 1
        threads = min(threads_left, max(1, shape[d] // per_thread))
        lanes[d] = min(threads, lanes_left)
        warps[d] = max(1, min(threads // lanes[d], warps_left))
        warps_left //= warps[d]
        lanes_left //= lanes[d]
        threads_left = max(1, threads_left // threads)
    lanes[order[-1]] = lanes_left
    warps[order[-1]] = warps_left
    return Layout(tuple(lanes), tuple(warps), size_per_thread)


def warps_per_dim(shape: Sequence[int], num_warps: int, size_per_thread: int = 1) -> list[int]:
    """Warps along each dim of ``blocked(shape, num_warps, size_per_thread)``."""
    return list(blocked(shape, num_warps, size_per_thread).warps)


def reduction_scratch_bytes(
    shape: Sequence[int],
    axis: int,
    num_warps: int,
    elem_bytes: int,
    contiguous: int | None = -1,
) -> int:
    """Shared memory a reduction of ``shape`` along ``axis`` exchanges its warps' partial
    results through (0 when one warp holds each row). Dim ``contiguous`` is the one the
    operand's loads read contiguously (None: unknown, every dim is tried); Triton gives a
    thread 1 or a 16-byte vector of elements along it: the larger figure of the choices is
    returned.

    After each thread and lane has reduced its part of a row, the partial results, one per
    warp along the axis for each other element, are moved between layouts through shared
    memory. Triton may move them in several rounds (a smaller buffer); how many depends on
    its choice of swizzling, so the figure is all of them: never below Triton's."""

    worst = 0
    rank = len(shape)
    for fast in range(rank) if contiguous is None else [contiguous % rank]:
        vector = max(1, min(VECTOR_BYTES // elem_bytes, shape[fast]))
        for spt in {1, vector}:
            layout = blocked(shape, num_warps, spt, fast)
            along = layout.warps[axis]
            if along <= 1:
                continue
            partials = along
            for d, size in enumerate(shape):
                if d != axis:
                    partials *= size
            worst = max(worst, partials * elem_bytes)
    return worst
