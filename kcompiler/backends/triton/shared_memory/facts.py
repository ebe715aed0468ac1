"""Everything the estimate reads off the traced IR, gathered once per module and per
``reduction_loops`` rewrite (``KernelFacts``), so that the per-config sizing that a space's
constraint runs for every drawn config walks no IR."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import IntegerAttr, ModuleOp, i64
from xdsl.ir import Operation

from kcompiler.backends.triton.shared_memory.access_facts import (
    Access,
    MemoryTile,
    SharedBuffer,
    accumulators,
    descriptor_accesses,
    memory_tiles,
    shared_buffers,
)
from kcompiler.backends.triton.shared_memory.ir_walk import SITE_ATTR, access_positions
from kcompiler.backends.triton.shared_memory.scratch_facts import (
    Conversion,
    Reduction,
    checked_indices,
    conversions,
    jagged_masks,
    row_reductions,
)
from kcompiler.dialects import tile as t
from kcompiler.passes.indexing import memory_ops, sites
from kcompiler.passes.split_reductions import SplitReductionsPass


@dataclass
class KernelFacts:
    """The IR's facts the estimate sizes at a config: the dot operands (``buffers``), the
    other loads and stores (``tiles``), the reductions whose rows spread over warps, the dot
    accumulators of sequential loops (dims, loop block symbol), the layout conversions, the
    gathers' index tiles their bounds checks reduce (``checked``: dims, loops around), the
    descriptor facts per ``Config.indexing`` position (``accesses``) and the row masks of
    loads in jagged loops (dims, loops around)."""

    buffers: list[SharedBuffer]
    tiles: list[MemoryTile]
    reductions: list[Reduction]
    accumulators: list[tuple[tuple[str, ...], str]]
    conversions: list[Conversion]
    checked: list[tuple[tuple[str, ...], tuple[str, ...]]]
    accesses: dict[int, Access]
    jagged_masks: list[tuple[tuple[str, ...], tuple[str, ...]]]


def kernel_facts(module: Operation, chunks: dict[str, int]) -> KernelFacts:
    """What the estimate counts, on ``module`` as ``split-reductions`` rewrites it for
    ``chunks`` (a clone; its loads and stores keep their ``Config.indexing`` position)."""

    work = module
    if chunks and isinstance(module, ModuleOp):
        work = module.clone()
        for i, op in enumerate(memory_ops(work)):
            op.attributes[SITE_ATTR] = IntegerAttr(i, i64)
        try:
            SplitReductionsPass(dim=tuple(chunks), chunk=tuple(chunks.values())).apply(
                Context(), work
            )
        except Exception:  # noqa: BLE001 - the compile reports it; count whole rows here
            work = module
    positions = access_positions(work)
    return KernelFacts(
        shared_buffers(work, positions),
        memory_tiles(work, positions),
        row_reductions(work),
        accumulators(work),
        conversions(work, positions),
        checked_indices(work),
        descriptor_accesses(work, positions),
        jagged_masks(work),
    )


def may_take_shared_memory(module: Operation) -> bool:
    """Whether some config could give ``module`` a shared-memory buffer the estimate counts:
    a ``tile.dot``, an access a tensor descriptor may take, a sequential loop (its
    ``range_num_stages`` pipelines its loads), a reduction, or a layout conversion."""

    return bool(
        shared_buffers(module)
        or any("tensor_descriptor" in s.modes for s in sites(module))
        or any(isinstance(op, t.ForOp) and op.parallel is None for op in module.walk())
        or row_reductions(module)
        or conversions(module)
        or checked_indices(module)
    )
