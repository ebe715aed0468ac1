"""Estimated shared memory of one program: the tiles Triton keeps in shared memory.

Triton's software pipeliner keeps ``num_stages`` copies of every tile a loop loads for a
``tl.dot`` in shared memory (multi-buffering); a config whose total exceeds the device's
per-block limit (``target.current().shared_memory_per_block``) fails to compile ("out of
resource: shared memory"), so the derived space excludes it and the backend rejects it naming
the knobs.

What takes shared memory, the rule the estimate keeps (each point checked against Triton's own
allocation: benchmarks/results/h100/shared_memory_calibration.md, shared_memory_draws.json and
tune-compare-prelim/ there):

* a dot operand loaded in a sequential loop: ``stages x unroll`` buffers of its tile (each
  unrolled copy has its own), one more when a pipelined loop is unrolled (its remainder
  loop's); ``range_multi_buffers=True`` (the accumulator may be multi-buffered) can add the
  accumulator's tile. At 1-2 stages Triton may instead allocate the epilogue's layout
  conversion of the accumulator when that is larger; the estimate leaves it out;
* row reductions of dot results (attention's max and sum): nothing (the mma layout keeps a row
  in one warp);
* a tensor-descriptor (TMA) load always lands in shared memory: one buffer of its tile and an
  8-byte mbarrier. ``num_stages`` does not multiply it in a loop without ``tl.dot`` (Triton
  pipelines the loads of such a loop only when the loop has its own ``num_stages``, i.e.
  ``range_num_stages``);
* a tensor-descriptor store stages its tile in shared memory; with ``num_stages`` >= 2 a store
  in a loop keeps its buffer while the loop's loads have theirs;
* a loop with ``range_num_stages`` >= 2 pipelines every load it has (pointer ones through
  cp.async): ``stages x unroll`` buffers of each, as for dot operands;
* pointer and block_ptr loads elsewhere stay in registers;
* a config with a tensor descriptor takes at least 128 bytes: TMA needs its shared-memory
  buffers 128-byte aligned, and Triton allocates at least one such unit however small the
  tiles are.

The estimate sums, conservatively: the dot buffers above; every buffer outside sequential
loops; the largest sum of one top-level sequential loop's buffers (chunk loops of
``reduction_loops`` included; buffers of different loops are never live together); and the
scratch of the largest whole-row reduction (rows x the warps along the row x 4 bytes), a margin
(Triton may reuse memory for it). Conservative where it is not exact: a store outside loops is
counted next to the loads (Triton may reuse their memory), and so is a dot kernel's descriptor
store of its result after the loop. Loads and stores are counted on the IR as
``split-reductions`` rewrites it for the config's ``reduction_loops`` (a chunk loop's tile is
rows x chunk), with the config's ``indexing``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from xdsl.context import Context
from xdsl.dialects.builtin import IntegerAttr, ModuleOp, i64
from xdsl.ir import Operation, SSAValue

from kcompiler.backends.triton.blocks import block_elements
from kcompiler.backends.triton.loop_knobs import range_options
from kcompiler.dialects import tile as t
from kcompiler.passes.indexing import (
    element_bytes,
    loop_of,
    memory_ops,
    normalize_indexing,
    site,
    sites,
)
from kcompiler.passes.split_reductions import (
    SplitReductionsPass,
    chunk_symbol,
    chunks_from_reduction_loops,
)

TMA_BARRIER_BYTES = 8  # one mbarrier per tensor-descriptor load buffer
_SITE = "kc.site"  # marks each load/store of a clone with its Config.indexing position


@dataclass(frozen=True)
class SharedBuffer:
    """A ``tl.dot`` operand held in shared memory (``accumulator`` False), or a dot result that
    a loop may multi-buffer (True): ``dims`` (block symbols, size symbols, static ints) of
    ``elem_bytes`` each; ``loop`` is the sequential loop that loads (or accumulates) it, None
    when it is loaded once. ``site``: the load's position in ``Config.indexing`` (None for a
    computed operand or an accumulator)."""

    dims: tuple[str, ...]
    elem_bytes: int
    loop: str | None
    accumulator: bool = False
    site: int | None = None


@dataclass(frozen=True)
class MemoryTile:
    """A load or store that is not a dot operand, as ``shared_memory_estimator`` counts it:
    its tile (``dims`` of ``elem_bytes``), its ``Config.indexing`` position ``site``,
    whether a tensor descriptor is legal for it (``descriptor``), its innermost sequential
    loop ``loop`` (``rblock_*`` for a chunk loop), the sequential loops around it
    (``loops``, innermost first) and the top-level one ``scope`` (its position among the
    module's loops; None: outside sequential loops)."""

    site: int | None
    store: bool
    dims: tuple[str, ...]
    elem_bytes: int
    descriptor: bool
    loop: str | None
    loops: tuple[str, ...]
    scope: int | None


def _loaded(v: SSAValue) -> t.LoadOp | None:
    """The load a dot operand comes from, through casts and reshapes (None: computed)."""
    op = v.owner
    while isinstance(op, (t.CastOp, t.ReshapeOp)):
        op = op.operand.owner
    return op if isinstance(op, t.LoadOp) else None


def _sequential_loops(op: Operation) -> list[t.ForOp]:
    """The sequential ``tile.for`` loops around ``op``, innermost first."""
    out: list[t.ForOp] = []
    parent = op.parent_op()
    while parent is not None:
        if isinstance(parent, t.ForOp) and parent.parallel is None:
            out.append(parent)
        parent = parent.parent_op()
    return out


def _enclosing_sequential_loop(op: Operation) -> str | None:
    parent = op.parent_op()
    while parent is not None:
        if isinstance(parent, t.ForOp):
            return None if parent.parallel is not None else parent.block.data
        parent = parent.parent_op()
    return None


def _site_of(op: Operation, positions: dict[int, int]) -> int | None:
    attr = op.attributes.get(_SITE)
    if isinstance(attr, IntegerAttr):
        return int(attr.value.data)
    return positions.get(id(op))


def _positions(module: Operation) -> dict[int, int]:

    return {id(op): i for i, op in enumerate(memory_ops(module))}


def shared_buffers(
    module: Operation, positions: dict[int, int] | None = None
) -> list[SharedBuffer]:
    """The ``tile.dot`` operands of ``module`` that live in shared memory, and the results of
    dots in sequential loops (accumulators).

    A loaded operand is staged through shared memory in the dtype it is loaded in (fp8 stays
    one byte). A computed left operand (attention's ``p``) stays in registers (Hopper's wgmma
    reads A from registers); a computed right operand is written to shared memory once.
    """

    positions = _positions(module) if positions is None else positions
    out: list[SharedBuffer] = []
    for op in module.walk():
        if not isinstance(op, t.DotOp):
            continue
        for v in (op.lhs, op.rhs):
            ty = v.type
            if not (isinstance(ty, t.BlockType) and ty.known):
                continue
            load = _loaded(v)
            if load is None and v is op.lhs:
                continue
            src = t.block_of(load.result) if load is not None else ty
            loop = _enclosing_sequential_loop(load) if load is not None else None
            site = _site_of(load, positions) if load is not None else None
            out.append(
                SharedBuffer(tuple(ty.dims), element_bytes(src.element_type) or 4, loop, site=site)
            )
        res = op.result.type
        loop = _enclosing_sequential_loop(op)
        if loop is not None and isinstance(res, t.BlockType) and res.known:
            out.append(SharedBuffer(tuple(res.dims), 4, loop, accumulator=True))
    return out


def _indexed_dims(op: t.LoadOp | t.StoreOp) -> tuple[str, ...]:
    """The tile a load or store moves, one entry per tensor dim (a tile index: its loop's
    block symbol; a full index: the dim's size), for accesses a descriptor may take."""

    ty = op.tensor.type
    assert isinstance(ty, t.TensorType)
    dims: list[str] = []
    indices = iter(op.indices)
    for kind, size in zip(op.kinds, ty.dims):
        if kind == "full":
            dims.append(size)
            continue
        loop = loop_of(next(indices)) if kind == "tile" else None
        dims.append(loop.block.data if loop is not None else "1")
    return tuple(dims)


def memory_tiles(module: Operation, positions: dict[int, int] | None = None) -> list[MemoryTile]:
    """The loads and stores of ``module`` that are not dot operands (see ``MemoryTile``)."""

    positions = _positions(module) if positions is None else positions
    operands = {
        id(load)
        for op in module.walk()
        if isinstance(op, t.DotOp)
        for v in (op.lhs, op.rhs)
        if (load := _loaded(v)) is not None
    }
    # Two chunk loops of one dim share a block symbol: a top-level loop is told by its position.
    ordinal = {id(op): i for i, op in enumerate(module.walk()) if isinstance(op, t.ForOp)}
    out: list[MemoryTile] = []
    for op in memory_ops(module):
        if id(op) in operands:
            continue
        tensor = op.tensor.type
        assert isinstance(tensor, t.TensorType)
        descriptor = "tensor_descriptor" in site(op).modes
        if descriptor:
            dims = _indexed_dims(op)
        else:
            value = op.result if isinstance(op, t.LoadOp) else op.value
            if not (isinstance(value.type, t.BlockType) and value.type.known):
                continue
            dims = tuple(value.type.dims)
        loops = _sequential_loops(op)
        syms = tuple(loop.block.data for loop in loops)
        out.append(
            MemoryTile(
                site=_site_of(op, positions),
                store=isinstance(op, t.StoreOp),
                dims=dims,
                elem_bytes=element_bytes(tensor.element_type) or 8,
                descriptor=descriptor,
                loop=syms[0] if syms else None,
                loops=syms,
                scope=ordinal[id(loops[-1])] if loops else None,
            )
        )
    return out


def _row_reductions(module: Operation) -> list[tuple[tuple[str, ...], str, int]]:
    """(result dims, reduced dim, bytes per element) of each reduction over a whole dim or a
    chunk of one (``rblock_*``), whose partial results cross warps through shared memory.
    Kernels with ``tile.dot`` have none counted: the mma layout keeps a row in one warp (the
    module docstring)."""

    if any(isinstance(op, t.DotOp) for op in module.walk()):
        return []
    out: list[tuple[tuple[str, ...], str, int]] = []
    for op in module.walk():
        if not isinstance(op, t.ReduceOp):
            continue
        src, res = op.operand.type, op.result.type
        if not (isinstance(src, t.BlockType) and src.known and isinstance(res, t.BlockType)):
            continue
        if not res.known:
            continue
        axis = op.dim.value.data
        if not 0 <= axis < src.rank:
            continue
        d = src.dims[axis]
        if d.startswith("block_"):
            continue
        size = max(4, element_bytes(src.element_type) or 8)
        if op.kind.data in ("argmax", "argmin"):
            size += 8  # the index travels with the value
        out.append((tuple(res.dims), d, size))
    return out


@dataclass
class _Layout:
    buffers: list[SharedBuffer]
    tiles: list[MemoryTile]
    reductions: list[tuple[tuple[str, ...], str, int]]


def _layout(module: Operation, chunks: dict[str, int]) -> _Layout:
    """What the estimate counts, on ``module`` as ``split-reductions`` rewrites it for
    ``chunks`` (a clone; its loads and stores keep their ``Config.indexing`` position)."""

    work = module
    if chunks and isinstance(module, ModuleOp):
        work = module.clone()
        for i, op in enumerate(memory_ops(work)):
            op.attributes[_SITE] = IntegerAttr(i, i64)
        try:
            SplitReductionsPass(dim=tuple(chunks), chunk=tuple(chunks.values())).apply(
                Context(), work
            )
        except Exception:  # noqa: BLE001 - the compile reports it; count whole rows here
            work = module
    positions = _positions(work)
    return _Layout(
        shared_buffers(work, positions), memory_tiles(work, positions), _row_reductions(work)
    )


def may_take_shared_memory(module: Operation) -> bool:
    """Whether some config could give ``module`` a shared-memory buffer the estimate counts:
    a ``tile.dot``, an access a tensor descriptor may take, a sequential loop (its
    ``range_num_stages`` pipelines its loads), or a whole-row reduction."""

    return bool(
        shared_buffers(module)
        or any("tensor_descriptor" in s.modes for s in sites(module))
        or any(isinstance(op, t.ForOp) and op.parallel is None for op in module.walk())
        or _row_reductions(module)
    )


TMA_MIN_SHARED = 128  # bytes: TMA's alignment of a shared-memory buffer


def shared_memory_estimator(module: Operation) -> Callable[..., int]:
    """``estimate(block_sizes, num_stages, range_num_stages=None, range_unroll_factors=None,
    range_multi_buffers=None, *, indexing=None, reduction_loops=None, num_warps=None)`` for
    ``module`` (the traced IR; per-loop dicts keyed by block symbol, as
    ``loop_knobs.range_options`` gives them; ``indexing`` and ``reduction_loops`` as in a
    Config), with the IR walked once per ``reduction_loops`` value (a space's constraint calls
    it for every drawn config). See ``shared_memory_bytes``."""

    hints: dict[str, int] = {}
    for k in module.walk():
        if isinstance(k, t.KernelOp):
            hints.update(k.size_hints)
    layouts: dict[tuple[tuple[str, int], ...], _Layout] = {}

    def estimate(
        block_sizes: dict[str, int],
        num_stages: int,
        range_num_stages: dict[str, int] | None = None,
        range_unroll_factors: dict[str, int] | None = None,
        range_multi_buffers: dict[str, bool | None] | None = None,
        *,
        indexing: Any = None,
        reduction_loops: Any = None,
        num_warps: int | None = None,
    ) -> int:
        stages_of = range_num_stages or {}
        unroll_of = range_unroll_factors or {}
        multi_of = range_multi_buffers or {}
        chunks = chunks_from_reduction_loops(module, reduction_loops)
        key = tuple(sorted(chunks.items()))
        if key not in layouts:
            layouts[key] = _layout(module, chunks)
        layout = layouts[key]
        sizes = dict(block_sizes)
        sizes.update({chunk_symbol(d): c for d, c in chunks.items()})
        modes = normalize_indexing(indexing)

        def descriptor(site: int | None) -> bool:
            if site is None or not modes:
                return False
            mode = modes[0] if len(modes) == 1 else (modes[site] if site < len(modes) else "")
            return mode == "tensor_descriptor"

        total = 0
        for b in layout.buffers:
            size = block_elements(b.dims, hints, sizes) * b.elem_bytes
            if b.accumulator:
                total += size if b.loop is not None and multi_of.get(b.loop) is True else 0
                continue
            copies = 1
            if b.loop is not None:
                unroll = max(1, unroll_of.get(b.loop) or 1)
                stages = max(1, stages_of.get(b.loop) or num_stages)
                copies = stages * unroll
                # A pipelined loop unrolled keeps one buffer more (its remainder loop's).
                copies += 1 if unroll > 1 and stages > 1 else 0
            total += copies * size
            if descriptor(b.site):
                total += copies * TMA_BARRIER_BYTES
        # A dot kernel's epilogue runs after its pipelined loop and reuses that loop's shared
        # memory: the result tile's layout conversion (or its tensor-descriptor store) needs
        # its own bytes only where they exceed the pipeline buffers.
        if layout.buffers:
            epilogue = 0
            for m in layout.tiles:
                if m.store and m.scope is None:
                    epilogue = max(epilogue, block_elements(m.dims, hints, sizes) * m.elem_bytes)
            total = max(total, epilogue)
        per_scope: dict[int | None, int] = {}
        for m in layout.tiles:
            if layout.buffers and m.store and m.scope is None:
                continue  # counted in the epilogue above
            tma = m.descriptor and descriptor(m.site)
            unroll = 1
            for sym in m.loops:
                unroll *= max(1, unroll_of.get(sym) or 1)
            stages = stages_of.get(m.loop) or 0 if m.loop is not None else 0
            tile = block_elements(m.dims, hints, sizes) * m.elem_bytes
            barrier = 0 if m.store else TMA_BARRIER_BYTES
            if not m.store and stages >= 2:
                copies = stages * unroll + (1 if unroll > 1 else 0)
                need = copies * (tile + (barrier if tma else 0))
            elif tma:
                need = unroll * (tile + barrier)
            else:
                continue
            per_scope[m.scope] = per_scope.get(m.scope, 0) + need
        total += per_scope.pop(None, 0) + max(per_scope.values(), default=0)
        if any(descriptor(m.site) for m in layout.tiles):
            total = max(total, TMA_MIN_SHARED)
        if num_warps and layout.reductions:
            # Partial results of the warps along the reduced dim: a warp spans >= 32 of its
            # elements (Triton's blocked layouts fill the contiguous dim first).
            total += max(
                block_elements(dims, hints, sizes)
                * min(num_warps, max(1, block_elements((d,), hints, sizes) // 32))
                * size
                for dims, d, size in layout.reductions
            )
        return total

    return estimate


def shared_memory_of_config(module: Operation, config: Mapping[str, Any]) -> int:
    """``shared_memory_bytes`` for the knobs of a Config (or its dict): block_sizes,
    num_stages, the range_* loop knobs, indexing, reduction_loops, num_warps."""

    ranges = range_options(module, config)
    return shared_memory_bytes(
        module,
        {f"block_{i}": v for i, v in enumerate(config["block_sizes"])},
        config.get("num_stages") or 1,
        ranges["range_num_stages"],
        ranges["range_unroll_factors"],
        ranges["range_multi_buffers"],
        indexing=config.get("indexing"),
        reduction_loops=config.get("reduction_loops"),
        num_warps=config.get("num_warps"),
    )


def shared_memory_bytes(
    module: Operation,
    block_sizes: dict[str, int],
    num_stages: int,
    range_num_stages: dict[str, int] | None = None,
    range_unroll_factors: dict[str, int] | None = None,
    range_multi_buffers: dict[str, bool | None] | None = None,
    *,
    indexing: Any = None,
    reduction_loops: Any = None,
    num_warps: int | None = None,
) -> int:
    """Estimated shared memory of one program in bytes, for the traced IR ``module``.

    Each dot operand loaded in a sequential loop takes ``stages x unroll`` buffers of its
    tile (one more when ``stages`` > 1 and ``unroll`` > 1: the remainder loop's): ``stages``
    is the loop's ``range_num_stages`` entry when set, else ``num_stages``; ``unroll`` its
    ``range_unroll_factors`` entry (matmul: ``num_stages * (BLOCK_M * BLOCK_K + BLOCK_K *
    BLOCK_N) * element size``). Other operands take one buffer; a loop with
    ``range_multi_buffers`` True adds its dot accumulator's tile (4 bytes an element).

    Other loads and stores (the module docstring): a ``tensor_descriptor`` access (by
    ``indexing``, a Config's field) takes one buffer of its tile (+ an 8-byte barrier for a
    load, + one per dot-operand buffer), any load of a loop with ``range_num_stages`` >= 2
    ``stages x unroll`` buffers (a pipelined unrolled loop: one more, its remainder loop's);
    buffers outside sequential loops add up, and of the loops the largest counts. Whole-row
    reductions add ``rows x warps x 4`` bytes when ``num_warps`` is given (warps along the
    row: at most one per 32 of its elements). ``reduction_loops`` (a Config's field; None:
    the default chunks) picks the chunk loops the tiles are counted in.

    Block symbols count at ``block_sizes``; whole size symbols at the next power of two of
    their traced value (as for registers), so the estimate is for the traced shapes.
    """
    return shared_memory_estimator(module)(
        block_sizes,
        num_stages,
        range_num_stages,
        range_unroll_factors,
        range_multi_buffers,
        indexing=indexing,
        reduction_loops=reduction_loops,
        num_warps=num_warps,
    )
