"""Default block sizes read off the IR: large enough to fill a program, small enough to fit.

A program's register footprint is roughly the largest block value it holds. Parallel loops
share a budget of ``TARGET_ELEMENTS`` with the whole-dim extents of values they index;
sequential loops get a fixed chunk.
"""

from __future__ import annotations

from xdsl.dialects.builtin import ModuleOp

from kcompiler.backends.triton.blocks import (
    block_extents,
    dot_min_blocks,
    largest_block,
    largest_in_kernel,
)
from kcompiler.dialects import tile as t
from kcompiler.dialects.tile import next_pow2

TARGET_ELEMENTS = 4096
SEQUENTIAL_BLOCK = 32


def default_block_sizes(module: ModuleOp) -> dict[str, int]:
    extents = block_extents(module)
    result: dict[str, int] = {}
    for kernel in module.ops:
        if not isinstance(kernel, t.KernelOp):
            continue
        parallel = [
            op.block.data for op in kernel.walk() if isinstance(op, t.ForOp) and op.parallel
        ]
        parallel = [b for b in parallel if not b.isdigit()]
        # The widest whole-dim extent any value carries next to the tiles.
        widest = largest_in_kernel(kernel, {})
        budget = max(1, TARGET_ELEMENTS // widest) if widest > 1 else 1024
        per_dim = budget
        if len(parallel) > 1:
            per_dim = max(1, next_pow2(int(budget ** (1 / len(parallel)))))
        for b in parallel:
            result[b] = max(1, min(per_dim, next_pow2(extents.get(b, 1) or 1)))
        for op in kernel.walk():
            if isinstance(op, t.ForOp) and not op.parallel and not op.block.data.isdigit():
                b = op.block.data
                extent = extents.get(b, 0) or SEQUENTIAL_BLOCK  # jagged: unknown extent
                result.setdefault(b, min(SEQUENTIAL_BLOCK, next_pow2(extent)))
        # Values that combine parallel tiles with sequential chunks (jagged_mean's
        # [rows, k, m] slice) multiply both: halve the largest parallel block until the largest
        # value fits the budget (a value far over it takes Triton minutes to compile).
        while largest_in_kernel(kernel, result) > TARGET_ELEMENTS:
            b = max(parallel, key=lambda p: result[p], default=None)
            if b is None or result[b] <= 1:
                break
            result[b] //= 2
        for b, low in dot_min_blocks(module).items():
            result[b] = max(result.get(b, 1), low)
    return result


def default_num_warps(module: ModuleOp, block_sizes: dict[str, int]) -> int:
    """About 32 elements of the largest block per thread, between 4 and 16 warps."""
    per_warp = 32 * 32
    return max(4, min(16, next_pow2(largest_block(module, block_sizes) // per_warp)))
