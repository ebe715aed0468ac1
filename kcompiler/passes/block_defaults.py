"""Default block sizes read off the IR: large enough to fill a program, small enough to fit.

A program's register footprint is roughly the largest block value it holds. Parallel loops
share a budget of ``TARGET_ELEMENTS`` with the whole-dim extents of values they index;
sequential loops get a fixed chunk.
"""

from __future__ import annotations

from xdsl.dialects.builtin import ModuleOp

from kcompiler.dialects import tile as t
from kcompiler.dialects.tile import next_pow2

TARGET_ELEMENTS = 4096
SEQUENTIAL_BLOCK = 32


def block_elements(dims: tuple[str, ...], values: dict[str, int], blocks: dict[str, int]) -> int:
    """Elements of a block value with these dims: block symbols at ``blocks`` (others count
    1), whole size symbols at the next power of two of their value, static dims likewise."""
    n = 1
    for d in dims:
        if d in blocks:
            n *= blocks[d]
        elif d in values:
            n *= next_pow2(values[d])
        elif d.isdigit():
            n *= next_pow2(int(d))
    return n


def _largest_in(kernel: t.KernelOp, blocks: dict[str, int]) -> int:
    values = kernel.size_hints
    return max(
        (
            block_elements(r.type.dims, values, blocks)
            for op in kernel.walk()
            for r in op.results
            if isinstance(r.type, t.BlockType) and r.type.known
        ),
        default=1,
    )


def block_extents(module: ModuleOp) -> dict[str, int]:
    """Iteration extent of each block symbol's loop, from the size hints (1 if unknown)."""
    out: dict[str, int] = {}
    for kernel in module.ops:
        if not isinstance(kernel, t.KernelOp):
            continue
        values = kernel.size_hints
        for op in kernel.walk():
            if isinstance(op, t.ForOp):
                ub = op.ub.owner
                extent = 0
                if isinstance(ub, t.SizeOp):
                    extent = values.get(ub.sym.data, 0)
                elif isinstance(ub, t.ConstantOp):
                    extent = int(ub.value.value.data)  # type: ignore[union-attr]
                out[op.block.data] = max(out.get(op.block.data, 0), extent)
    return out


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
        widest = _largest_in(kernel, {})
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
        # value fits the budget (1024 x 32 x 32 took 75 s to compile on an H100).
        while _largest_in(kernel, result) > TARGET_ELEMENTS:
            b = max(parallel, key=lambda p: result[p], default=None)
            if b is None or result[b] <= 1:
                break
            result[b] //= 2
        from kcompiler.passes.config_space import dot_min_blocks

        for b, low in dot_min_blocks(module).items():
            result[b] = max(result.get(b, 1), low)
    return result


def largest_block(module: ModuleOp, block_sizes: dict[str, int]) -> int:
    """Elements in the largest block value once block sizes are fixed (register pressure)."""
    kernels = [k for k in module.ops if isinstance(k, t.KernelOp)]
    return max((_largest_in(k, block_sizes) for k in kernels), default=1)


def default_num_warps(module: ModuleOp, block_sizes: dict[str, int]) -> int:
    """About 32 elements of the largest block per thread, between 4 and 16 warps."""
    per_warp = 32 * 32
    return max(4, min(16, next_pow2(largest_block(module, block_sizes) // per_warp)))
