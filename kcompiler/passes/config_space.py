"""Config-space derivation: the tunable knobs of traced IR, their domains and constraints.

Plain data (no autotune import): the runtime turns it into an ``autotune.ConfigSpace``. Every
block value's element count must stay within Triton's limit of 2**20 whatever knobs are drawn,
so each value contributes one product constraint over the block knobs its dims use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xdsl.dialects.builtin import ModuleOp

from kcompiler.dialects import tile as t
from kcompiler.passes.block_defaults import (
    _pow2,
    block_elements,
    block_extents,
    default_block_sizes,
)

TRITON_MAX_NUMEL = 1 << 20


@dataclass
class BlockKnob:
    symbol: str
    index: int  # position in Config.block_sizes
    low: int
    high: int
    default: int


@dataclass
class DerivedSpace:
    blocks: list[BlockKnob]
    # (block symbols of one value, static element factor): product(blocks) * factor <= limit
    products: list[tuple[tuple[str, ...], int]] = field(default_factory=list)


DOT_MIN_BLOCK = 16  # tl.dot needs M, N, K >= 16 on tensor cores


def dot_blocks(module: ModuleOp) -> set[str]:
    """Block symbols that are an M, N or K dim of some tile.dot."""
    out: set[str] = set()
    for op in module.walk():
        if isinstance(op, t.DotOp):
            for v in (op.lhs, op.rhs):
                if isinstance(v.type, t.BlockType) and v.type.known:
                    out.update(d for d in v.type.dims if d.startswith("block_"))
    return out


def derive_space(
    modules: list[ModuleOp], fixed: dict[str, int], registered: dict[str, int]
) -> DerivedSpace:
    blocks: dict[str, BlockKnob] = {}
    products: set[tuple[tuple[str, ...], int]] = set()
    for module in modules:
        extents = block_extents(module)
        defaults = default_block_sizes(module)
        in_dots = dot_blocks(module)
        for kernel in module.ops:
            if not isinstance(kernel, t.KernelOp):
                continue
            values = kernel.size_hints
            for op in kernel.walk():
                if isinstance(op, t.ForOp):
                    sym = op.block.data
                    if sym.isdigit() or sym in fixed:
                        continue
                    extent = extents.get(sym, 0) or 1024
                    default = registered.get(sym, defaults.get(sym, 32))
                    low = DOT_MIN_BLOCK if sym in in_dots else 1
                    default = max(default, low)
                    high = max(default, min(_pow2(extent), 4096))
                    blocks[sym] = BlockKnob(sym, int(sym.split("_")[1]), low, high, default)
                for r in op.results:
                    if isinstance(r.type, t.BlockType) and r.type.known:
                        syms = tuple(
                            sorted(
                                d for d in r.type.dims if d.startswith("block_") and d not in fixed
                            )
                        )
                        factor = block_elements(r.type.dims, values, fixed)
                        if syms:
                            products.add((syms, factor))
    ordered = sorted(blocks.values(), key=lambda b: b.index)
    return DerivedSpace(ordered, sorted(products))
