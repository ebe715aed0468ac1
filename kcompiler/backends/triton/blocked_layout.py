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
BANK_BYTES = 128  # 32 banks of 4 bytes


class Layout(NamedTuple):
    """Lanes and warps along each dim, and the elements a thread holds along the last."""

    lanes: tuple[int, ...]
    warps: tuple[int, ...]
    size_per_thread: int


def blocked(shape: Sequence[int], num_warps: int, size_per_thread: int = 1) -> Layout:
    """Lanes and warps along each dim of a blocked layout of ``shape`` (row-major, the last
    dim contiguous, ``size_per_thread`` elements a thread along it) over ``num_warps``
    warps."""

    rank = len(shape)
    if rank == 0:
        return Layout((), (), size_per_thread)
    lanes = [1] * rank
    warps = [1] * rank
    threads_left = num_warps * WARP_SIZE
    lanes_left = WARP_SIZE
    warps_left = num_warps
    for d in range(rank - 1, 0, -1):
        per_thread = size_per_thread if d == rank - 1 else 1
        threads = min(threads_left, max(1, shape[d] // per_thread))
        lanes[d] = min(threads, lanes_left)
        warps[d] = max(1, min(threads // lanes[d], warps_left))
        warps_left //= warps[d]
        lanes_left //= lanes[d]
        threads_left = max(1, threads_left // threads)
    lanes[0] = lanes_left
    warps[0] = warps_left
    return Layout(tuple(lanes), tuple(warps), size_per_thread)


def warps_per_dim(shape: Sequence[int], num_warps: int, size_per_thread: int = 1) -> list[int]:
    """Warps along each dim of ``blocked(shape, num_warps, size_per_thread)``."""
    return list(blocked(shape, num_warps, size_per_thread).warps)


def reduction_scratch_bytes(
    shape: Sequence[int], axis: int, num_warps: int, elem_bytes: int
) -> int:
    """Shared memory a reduction of ``shape`` along ``axis`` exchanges its warps' partial
    results through (0 when one warp holds each row), for either ``size_per_thread`` Triton
    may pick (1 or a 16-byte vector): the larger.

    After each thread and lane has reduced its part of a row, the partial results, one per
    warp along the axis for each other element, are moved between layouts through shared
    memory. Triton moves them in rounds of one register vector (up to 16 bytes) per thread
    holding distinct partials, at least 128 bytes (the banks' width) a round; the buffer
    holds one round, or everything when that is less."""

    worst = 0
    vector = max(1, VECTOR_BYTES // elem_bytes)
    for spt in {1, vector}:
        layout = blocked(shape, num_warps, spt)
        along = layout.warps[axis]
        if along <= 1:
            continue
        partials = along
        threads = along
        for d, size in enumerate(shape):
            if d == axis:
                continue
            partials *= size
            per_thread = spt if d == len(shape) - 1 else 1
            threads *= max(1, min(layout.lanes[d] * layout.warps[d], size // per_thread))
        threads = min(threads, partials)
        vec = min(max(1, partials // threads), vector)
        round_bytes = max(BANK_BYTES, threads * vec * elem_bytes)
        worst = max(worst, min(partials * elem_bytes, round_bytes))
    return worst
