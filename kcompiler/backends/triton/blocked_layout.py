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

WARP_SIZE = 32


def warps_per_dim(shape: Sequence[int], num_warps: int, size_per_thread: int = 1) -> list[int]:
    """Warps along each dim of a blocked layout of ``shape`` (row-major, the last dim
    contiguous, ``size_per_thread`` elements a thread along it) over ``num_warps`` warps."""

    rank = len(shape)
    if rank == 0:
        return []
    warps = [1] * rank
    threads_left = num_warps * WARP_SIZE
    lanes_left = WARP_SIZE
    warps_left = num_warps
    for d in range(rank - 1, 0, -1):
        per_thread = size_per_thread if d == rank - 1 else 1
        threads = min(threads_left, max(1, shape[d] // per_thread))
        lanes = min(threads, lanes_left)
        warps[d] = max(1, min(threads // lanes, warps_left))
        warps_left //= warps[d]
        lanes_left //= lanes
        threads_left = max(1, threads_left // threads)
    warps[0] = warps_left
    return warps


def cross_warp_elements(shape: Sequence[int], axis: int, num_warps: int, vector: int) -> int:
    """The partial results a reduction of ``shape`` along ``axis`` exchanges through shared
    memory: the operand's elements with ``axis`` replaced by the warps along it (0 when one
    warp holds each row). Triton picks ``size_per_thread`` 1 or a vector (``vector``
    elements); the larger count of the two is returned, so the figure bounds both."""

    worst = 0
    for spt in {1, max(1, vector)}:
        along = warps_per_dim(shape, num_warps, spt)[axis]
        if along <= 1:
            continue
        n = along
        for d, size in enumerate(shape):
            if d != axis:
                n *= size
        worst = max(worst, n)
    return worst
