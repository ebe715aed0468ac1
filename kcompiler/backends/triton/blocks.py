"""Element counts of the block values in traced IR, and the smallest blocks ``tl.dot`` takes.

What the resource models, the default block sizes and the config space share: a block value's
element count is the product of its dims (block symbols at their chosen size, whole size symbols
and static dims at their next power of two), and Triton refuses a value of more than
``target.TRITON_MAX_NUMEL`` elements.
"""

from __future__ import annotations

from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation

from kcompiler.dialects import tile as t
from kcompiler.dialects.tile import next_pow2
from kcompiler.passes.indexing import element_bytes
from kcompiler.target import TRITON_MAX_NUMEL

__all__ = [
    "DOT_MIN_BLOCK",
    "DOT_MIN_K_8BIT",
    "TRITON_MAX_NUMEL",
    "block_elements",
    "block_extents",
    "dot_blocks",
    "dot_min_blocks",
    "largest_block",
    "largest_in_kernel",
]


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


def largest_in_kernel(kernel: t.KernelOp, blocks: dict[str, int]) -> int:
    """Elements in the largest block value of ``kernel`` at these block sizes."""
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


def largest_block(module: ModuleOp, block_sizes: dict[str, int]) -> int:
    """Elements in the largest block value once block sizes are fixed (register pressure)."""
    kernels = [k for k in module.ops if isinstance(k, t.KernelOp)]
    return max((largest_in_kernel(k, block_sizes) for k in kernels), default=1)


DOT_MIN_BLOCK = 16  # tl.dot needs M, N, K >= 16 on tensor cores
DOT_MIN_K_8BIT = 32  # ... and K >= 32 for 8-bit operands (fp8: "at 44:13" CompilationError)


def dot_min_blocks(module: Operation) -> dict[str, int]:
    """Smallest legal size of each block symbol that is an M, N or K dim of some tile.dot."""
    out: dict[str, int] = {}
    for op in module.walk():
        if not isinstance(op, t.DotOp):
            continue
        for i, v in enumerate((op.lhs, op.rhs)):
            if not (isinstance(v.type, t.BlockType) and v.type.known):
                continue
            k_axis = v.type.rank - 1 if i == 0 else v.type.rank - 2
            one_byte = element_bytes(v.type.element_type) == 1
            for axis, d in enumerate(v.type.dims):
                if d.startswith("block_"):
                    low = DOT_MIN_K_8BIT if one_byte and axis == k_axis else DOT_MIN_BLOCK
                    out[d] = max(out.get(d, 1), low)
    return out


def dot_blocks(module: ModuleOp) -> set[str]:
    """Block symbols that are an M, N or K dim of some tile.dot."""
    return set(dot_min_blocks(module))
