"""Config-space derivation: the tunable knobs of traced IR, their domains and constraints.

Plain data (no autotune import): the runtime turns it into an ``autotune.ConfigSpace``. Every
block value's element count must stay within Triton's limit of 2**20 whatever knobs are drawn,
so each value contributes one product constraint over the block knobs its dims use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xdsl.dialects.builtin import ModuleOp

from kcompiler.backends.triton.block_defaults import default_block_sizes
from kcompiler.backends.triton.blocks import block_elements, block_extents, dot_min_blocks
from kcompiler.dialects import tile as t
from kcompiler.dialects.tile import next_pow2


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


def derive_space(
    modules: list[ModuleOp],
    fixed: dict[str, int],
    registered: dict[str, int],
    minimums: dict[str, int] | None = None,
) -> DerivedSpace:
    """The block knobs and block products of ``modules``. ``registered``: the defaults of
    host-registered block sizes; ``minimums``: their lower bounds (``kl.register_block_size
    (min, max)``), which no config in the space goes below."""
    minimums = minimums or {}
    blocks: dict[str, BlockKnob] = {}
    products: set[tuple[tuple[str, ...], int]] = set()
    for module in modules:
        extents = block_extents(module)
        defaults = default_block_sizes(module)
        in_dots = dot_min_blocks(module)
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
                    low = max(in_dots.get(sym, 1), minimums.get(sym, 1))
                    default = max(default, low)
                    high = max(default, min(next_pow2(extent), 4096))
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
