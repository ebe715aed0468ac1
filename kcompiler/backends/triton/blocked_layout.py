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
from math import prod
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


def coalesced_vector(shape: Sequence[int], num_warps: int, load_bytes: int) -> int:
    """Elements a thread holds along the contiguous dim after Triton's coalescing pass, for
    an aligned contiguous access: a 16-byte vector of the loaded dtype, but no more than the
    block's elements over the program's threads (``numElemsPerThread``)."""
    threads = num_warps * WARP_SIZE
    return max(1, min(VECTOR_BYTES // max(1, load_bytes), prod(shape) // threads))


def reduction_scratch_bytes(
    shape: Sequence[int],
    axis: int,
    num_warps: int,
    elem_bytes: int,
    contiguous: int | None = -1,
    load_bytes: int | None = None,
) -> int:
    """Shared memory a reduction of ``shape`` along ``axis`` exchanges its warps' partial
    results through (0 when one warp holds each row): one partial result per warp along the
    axis for each other element, ``elem_bytes`` each.

    Dim ``contiguous`` is the one the operand's loads read contiguously, ``load_bytes`` the
    loaded element's size: Triton's coalescing gives a thread ``coalesced_vector`` elements
    along it. With ``contiguous`` None (a gathered operand: unknown) every dim is tried with
    1 or a 16-byte vector, and the largest figure is returned."""

    worst = 0
    rank = len(shape)
    if contiguous is None:
        choices = [
            (fast, spt)
            for fast in range(rank)
            for spt in {1, max(1, min(VECTOR_BYTES // elem_bytes, shape[fast]))}
        ]
    else:
        fast = contiguous % rank
        vector = coalesced_vector(shape, num_warps, load_bytes or elem_bytes)
        choices = [(fast, max(1, min(vector, shape[fast])))]
    for fast, spt in choices:
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
