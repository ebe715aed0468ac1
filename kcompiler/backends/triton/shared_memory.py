"""Estimated shared memory of one program: the buffers Triton allocates in shared memory.

A config whose total exceeds the device's per-block limit
(``target.current().shared_memory_per_block``) fails to compile ("out of resource: shared
memory"), so the derived space excludes it and the backend rejects it naming the knobs. The
estimate is meant to be an upper bound of Triton's figure (``metadata.shared``) that is as
tight as the IR and the config allow: too low lets failing configs through, too high excludes
good ones.

Triton's allocation is the peak, over the program, of the buffers live at once: explicit ones
(``ttg.local_alloc``: dot operands, pipelined loads, tensor-descriptor buffers), which live
from their allocation to their last use, and the scratch of one operation at a time
(reductions and layout conversions). The rules below were read off the TTGIR of Triton 3.9's
sm_90 compiles of the bundled kernels' drawn configs (benchmarks/spill_report.py,
benchmarks/results/cpu/spills-sm90*.md); those marked 3.6 come from Triton 3.6 on an H100
(benchmarks/results/h100/shared_memory_calibration.md and the refusals of
tests/backends/test_shared_memory_tma.py) and apply to Triton before 3.9
(``TRANSIENT_TMA_BUFFERS``).

Dot operands (``tl.dot``), in the dtype they are loaded in:

* a dot of M rows, M a multiple of 64, at whole warp groups runs as wgmma: a loop keeps
  ``stages`` copies of each operand it loads (``range_num_stages``, else ``num_stages``),
  and reads a computed left operand (attention's ``p``) from registers;
* otherwise mma v2 reads both operands into registers, which hold one stage: ``stages - 1``
  copies (at least one), and a computed operand is staged once;
* an unrolled pipelined loop keeps its copies per unrolled body and one more (its
  remainder's); operands loaded outside loops take one buffer each, for the whole program;
* in a one-stage loop the operands of different dots are not live together (attention's K
  and V), and (3.9) mma v2 reads a tensor-descriptor left operand, and an fp8 operand it
  widens to fp16, into registers right after staging it, before the other operand is
  staged (the larger of the two);
* ``range_multi_buffers`` adds nothing on Hopper (the accumulator stays in registers); 3.6
  could add the accumulator's tile, and kept ``stages`` copies for mma v2 too;
* the epilogue runs after the loop and reuses its memory: (3.9) a tensor-descriptor load
  there (a bias row) with its barrier, beside only the resident operands and a persistent
  kernel's kept store; the result's tile, staged for a tensor-descriptor store, or
  converted from the mma layout for a pointer store through a swizzled tile that may take
  several rounds (``mma_conversion.py``); a persistent
  kernel (``pid_type``) at ``num_stages`` >= 2 keeps its descriptor store's buffer allocated
  next to the loop's: Triton places buffers largest first (ties in program order, where the
  kept store, allocated before the loop, comes first), so a store at least as large as each
  operand buffer lies below them and a smaller one above them all, at its NVMMA layout's
  alignment (8 rows of its swizzle width: 512 bytes for 64-byte rows).

Other loads and stores:

* a tensor-descriptor load or store lands in shared memory (a load with an 8-byte mbarrier),
  only where the launch takes a descriptor: no element-wise mask, a last dim of at least 16
  bytes, and a block no larger than the tensor at the traced sizes (otherwise the launcher
  runs the pointer kernel for all of them, ``indexing.descriptor_check``); buffers are then
  padded to TMA's 128-byte alignment, and a config with a descriptor takes at least 128 bytes;
* outside loops, and (3.9) in an unpipelined loop, one descriptor buffer is live at a time
  (a load's is read into registers, a store's drained before the next), though each load's
  barrier may stay beside it: Triton places buffers largest first, so the 8-byte barriers
  follow the last tile's own bytes (inside its padding to TMA's alignment), except where a
  store's buffer allocated before the loop lives through it: first-fit placement puts that
  small long-lived buffer above the loop's barriers, at TMA's alignment, so each barrier
  then takes 128 bytes; 3.6 kept a loop's buffers together;
* (3.9) at ``num_stages`` >= 2 a descriptor store in a loop is hoisted out of it, so one
  iteration's store drains while the next computes: its buffer lives through the program;
* (3.9) a descriptor store outside loops gets its buffer where its value is defined
  (Triton's instruction reordering moves the allocation up to it) unless an operation with
  known memory writes lies between: a descriptor load, another store, a loop whose stores
  all use pointers (a loop with a descriptor store does not stop it). The buffer then lives
  through the loops between and beside their scratch; otherwise it is allocated at the
  store, after them;
* a loop with ``range_num_stages`` >= 2 pipelines every load (pointer ones through cp.async):
  (3.9) ``stages - 1`` copies per unrolled body (one stage is in registers), a pointer
  load's copies in one buffer (aligned as a whole, not per copy); an unrolled outer loop
  runs its copies of the inner loop one after another; 3.6: ``stages x unroll`` copies (+ 1
  when unrolled); (3.9) a descriptor load of a tile under 128 bytes is not pipelined (one
  buffer at a time, as in an unpipelined loop);
* (3.9) in a kernel without dot operands, the buffers a loop keeps live through it (its
  pipelined copies, its largest unpipelined descriptor tile, its barriers) are placed
  largest first, each at its own alignment above the last: 16 bytes for a pointer load's
  copies (cp.async), TMA's 128 for a descriptor tile, 8 for a barrier; a loop with a store's
  buffer hoisted out of it or allocated before it is counted as a sum of 128-byte units;
* buffers of different top-level loops are never live together; pointer loads elsewhere stay
  in registers.

Scratch (an operation's temporary buffer, live only while it runs; the largest is counted):

* a reduction whose rows spread over several warps moves its warps' partial results into
  lanes through shared memory (kernels without ``tl.dot``: the mma layout keeps a dot
  result's row in one warp). Triton 3.9 does it as a swizzled layout conversion that may
  take several rounds through the same tile; ``blocked_layout.py`` models the operand's
  blocked layout (coalesced along the dim its loads read contiguously: 16-byte vectors, at
  most elements / threads; a gather whose index steps by one along its last dim reads that
  dim contiguously) as bases of bits and counts the tile's elements over its rounds;
* a load or store of fewer dims than the block it is combined with (each block of more
  dims holding its dims in its region may be one: the largest such conversion counts), and
  a reduction's result, move between a blocked layout of their own and the slice of the
  block's layout,
  when the two differ in what a lane or warp holds (the same swizzled tile; none where
  every warp keeps its elements and the lanes trade one bit with the registers: warp
  shuffles, ``blocked_layout.warp_shuffle``); a load of fewer elements than the program's
  threads is instead repeated in its users' layouts (Triton's rematerialization), unless
  it has several users and bounds a jagged loop (when every jagged loop's block is one
  element, such a load moves at most 4 bytes an element, at more than one warp); a load
  whose own layout every warp holds whole moves into a slice within each warp when its lane
  and register bits pass the warp-shuffle test; a value accessed at its
  full width (64-bit indices) keeps that access's vector, a narrower index widened to 64
  bits may keep its load's; in a dot kernel, one
  after the loops holding its dots (a bias row added to the result) reuses their freed
  buffers; a reduction's result is converted only where it is used with a block of another
  shape at the config's sizes (a second loop's tile of the same size has the same layout)
  that a pointer access lays out (a block read and written only through tensor descriptors
  is loaded into whatever layout its users have: the reduced row's);
  and a gather's index tile, whose bounds check reduces it; (3.9) in a jagged loop nest
  flattened into one pipelined loop whose jagged block is one element wide, the load's
  rows x 1 mask, converted to the load's layout beside its copies; a value stored after an
  inner loop whose tile has fewer elements than the program's threads (such a load anchors
  no layout, so the accumulator takes the store's), converted in that loop, beside its
  copies;
* scratch starts at a 128-byte boundary after the buffers live beside it: dot operands,
  hoisted buffers, the pipelined copies of the loops it runs in (a pipelined loop's buffers
  are allocated before it and freed after it: a conversion after an inner loop reuses
  them), and a store's buffer allocated before the loop or reduction; an unpipelined
  descriptor load's buffer is read into registers and its barrier invalidated before its
  value is used, and an unpipelined loop's store buffer is allocated once its value is
  computed and drained within the iteration; a reduced row used in a later loop is
  invariant there, so its conversion runs before that loop, ahead of the store buffer
  hoisted out of it.

Loads and stores are counted on the IR as ``split-reductions`` rewrites it for the config's
``reduction_loops`` (a chunk loop's tile is rows x chunk), with the config's ``indexing``;
a descriptor on a tensor with a stride-0 dim or a last stride other than 1 (``tile.kernel``'s
``broadcast_args`` and ``strided_args``) makes the launcher take the pointer kernel. A loop
nest flattened from an outer loop (``range_flattens``) is one loop, pipelined at the most
stages its loops ask for.

What stays loose (an upper bound only; benchmarks/results/cpu/spills-sm90-notes.md has the
figures): the operand buffers of some one-stage
mma v2 loops, which Triton does not keep together; pipelined copies of unrolled loops; a
few bytes of conversions at one warp; descriptor stores that a pipelined loop does not
hoist; and launches that take the pointer kernel for a reason the IR does not show (a
misaligned base or stride: the estimate counts the descriptor kernel's buffers).
"""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from math import prod
from typing import Any

from xdsl.context import Context
from xdsl.dialects.builtin import IntegerAttr, IntegerType, ModuleOp, i64
from xdsl.ir import Operation, SSAValue

from kcompiler.backends.triton.blocked_layout import (
    WARP_SIZE,
    coalesced_vector,
    reduction_scratch_bytes,
    slice_conversion_bytes,
)
from kcompiler.backends.triton.blocks import block_elements
from kcompiler.backends.triton.loop_knobs import range_options
from kcompiler.backends.triton.mma_conversion import dot_store_conversion_bytes
from kcompiler.dialects import tile as t
from kcompiler.passes.indexing import (
    TMA_MIN_BYTES,
    element_bytes,
    loop_of,
    memory_ops,
    normalize_indexing,
    per_access_modes,
    refused_args,
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
    """A ``tl.dot`` operand staged in shared memory: ``dims`` (block symbols, size symbols,
    static ints) of ``elem_bytes`` each; ``loop`` is the sequential loop that loads it, None
    when it is loaded once. ``site``: the load's position in ``Config.indexing`` (None for a
    computed operand). ``rows``: the dot's M dim (whether Hopper's wgmma runs it depends on
    it); ``computed``/``lhs``: the operand is not a load / is the dot's left one."""

    dims: tuple[str, ...]
    elem_bytes: int
    loop: str | None
    site: int | None = None
    rows: str = "1"
    computed: bool = False
    lhs: bool = False
    dot: int = 0


@dataclass(frozen=True)
class MemoryTile:
    """A load or store that is not a dot operand, as ``shared_memory_estimator`` counts it:
    its tile (``dims`` of ``elem_bytes``), its ``Config.indexing`` position ``site``,
    whether a tensor descriptor is legal for it (``descriptor``), its innermost sequential
    loop ``loop`` (``rblock_*`` for a chunk loop), the sequential loops around it
    (``loops``, innermost first) and the top-level one ``scope`` (its position among the
    module's loops; None: outside sequential loops); ``in_loop_kernel``: the module has a
    sequential loop. A store outside sequential loops also records what lies between its
    value's definition and it in their block (``StoreSpan``): Triton may allocate its
    buffer right after the definition. ``epilogue``: a load outside sequential loops that
    runs after the loops holding dots, whose buffers are free by then."""

    site: int | None
    store: bool
    dims: tuple[str, ...]
    elem_bytes: int
    descriptor: bool
    loop: str | None
    loops: tuple[str, ...]
    scope: int | None
    in_loop_kernel: bool = False
    span: StoreSpan | None = None
    epilogue: bool = False


@dataclass(frozen=True)
class StoreSpan:
    """What runs between a store's value's definition and the store, in their block:
    ``loops``, the top-level sequential loops there (their positions among the module's
    loops, as ``MemoryTile.scope``), with the ``Config.indexing`` positions of the stores
    each holds (an atomic: None); ``loads``, the positions of the loads outside them;
    ``writes``, whether a store or atomic runs outside them; ``reduces``, whether a
    reduction runs outside them (its scratch would sit beside the buffer)."""

    loops: tuple[tuple[int, tuple[int | None, ...]], ...] = ()
    loads: tuple[int | None, ...] = ()
    writes: bool = False
    reduces: bool = False


@dataclass(frozen=True)
class Access:
    """What decides whether a load or store really takes a tensor descriptor: its tile per
    tensor dim (``block``), the tensor's dims (``extent``), its element size, whether it has
    an element-wise mask (descriptors take none: pointers then), whether its tensor has a
    stride-0 dim or a last stride other than 1 (``pointer_launch``: the launch then runs the
    pointer kernel)."""

    block: tuple[str, ...]
    extent: tuple[str, ...]
    elem_bytes: int
    masked: bool
    pointer_launch: bool = False


@dataclass(frozen=True)
class Reduction:
    """A reduction of a ``dims`` block along ``axis``, ``elem_bytes`` a partial result;
    ``contiguous``: the dim its operand's loads read contiguously (None: unknown);
    ``load_bytes``: the widest element those loads read (their coalesced vector's unit);
    ``loops``: the block symbols of the sequential loops around it, innermost first."""

    dims: tuple[str, ...]
    axis: int
    elem_bytes: int
    contiguous: int | None = -1
    load_bytes: int | None = None
    loops: tuple[str, ...] = ()


_ELEMENTWISE = (t.BinaryOp, t.UnaryOp, t.CastOp, t.SelectOp)


def _steps_by_one(index: SSAValue) -> bool:
    """Whether a gather's index block grows by one along its last dim: a tile's indices
    (``tile.index``), reshaped with unit dims in front, plus values constant along that dim
    (of size 1 there, or scalars)."""

    ty = index.type
    if not (isinstance(ty, t.BlockType) and ty.known and ty.rank >= 1):
        return False
    op = index.owner
    if isinstance(op, t.TileIndexOp):
        return True
    if isinstance(op, t.ReshapeOp):
        src = op.operand.type
        return (
            isinstance(src, t.BlockType)
            and src.known
            and src.rank >= 1
            and src.dims[-1] == ty.dims[-1]
            and _steps_by_one(op.operand)
        )
    if isinstance(op, t.BinaryOp) and op.kind.data == "add":
        sides = [op.lhs, op.rhs]

        def constant(v: SSAValue) -> bool:
            vt = v.type
            return isinstance(vt, t.BlockType) and vt.known and (vt.rank == 0 or vt.dims[-1] == "1")

        return any(_steps_by_one(a) and constant(b) for a, b in (sides, sides[::-1]))
    return False


def _contiguous_dim(value: SSAValue) -> tuple[int | None, int | None]:
    """The dim of ``value`` that the loads it is computed from read contiguously: the last
    when every such load indexes its tensor's last dim with a tile or the whole dim (Triton
    specializes a unit last stride), None when a load gathered along its last dim, a reshape
    or a permutation on the way leaves it unknown; and the widest element those loads read
    (None: no load)."""

    seen: set[int] = set()
    widest: int | None = None
    todo = [value]
    rank = value.type.rank if isinstance(value.type, t.BlockType) else 0
    while todo:
        v = todo.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        op = v.owner
        if isinstance(op, t.LoadOp):
            ty = op.result.type
            # A gather along other dims keeps the last one contiguous (its index is a tile
            # or the whole dim), as does a gather whose index steps by one along its last
            # dim; any other indexed last dim leaves the order unknown.
            last = op.kinds[-1] if op.kinds else ""
            if last not in ("tile", "full") and not (
                last == "gather" and _steps_by_one(op.indices[-1])
            ):
                return None, None
            if not (isinstance(ty, t.BlockType) and ty.rank == rank):
                return None, None
            nbytes = element_bytes(ty.element_type) or 8
            widest = max(widest or 0, nbytes)
            continue
        if isinstance(op, _ELEMENTWISE):
            # Values of fewer dims are broadcast: the full-rank operands set the layout.
            todo.extend(
                o for o in op.operands if isinstance(o.type, t.BlockType) and o.type.rank == rank
            )
            continue
        if isinstance(op, t.PermuteOp):
            return None, None
        if isinstance(op, t.ReshapeOp) and op.operand.type.rank >= rank:
            return None, None
        # Anything else (a broadcast or reshaped row of fewer dims, a constant, a loop-carried
        # value) takes the layout of the full-rank operands it is combined with.
    return -1, widest


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
    """The ``tile.dot`` operands of ``module`` that may live in shared memory.

    A loaded operand is staged through shared memory in the dtype it is loaded in (fp8 stays
    one byte). A computed operand (attention's ``p``) is written to shared memory once,
    except a left one under wgmma (the estimate decides that per config: it reads A from
    registers).
    """

    positions = _positions(module) if positions is None else positions
    out: list[SharedBuffer] = []
    dots = [op for op in module.walk() if isinstance(op, t.DotOp)]
    for n, op in enumerate(dots):
        lhs_ty = op.lhs.type
        rows = "1"
        if isinstance(lhs_ty, t.BlockType) and lhs_ty.known and lhs_ty.rank >= 2:
            rows = lhs_ty.dims[-2]
        for v in (op.lhs, op.rhs):
            ty = v.type
            if not (isinstance(ty, t.BlockType) and ty.known):
                continue
            load = _loaded(v)
            src = t.block_of(load.result) if load is not None else ty
            out.append(
                SharedBuffer(
                    tuple(ty.dims),
                    element_bytes(src.element_type) or 4,
                    _enclosing_sequential_loop(load) if load is not None else None,
                    site=_site_of(load, positions) if load is not None else None,
                    rows=rows,
                    computed=load is None,
                    lhs=v is op.lhs,
                    dot=n,
                )
            )
    return out


def _accumulators(module: Operation) -> list[tuple[tuple[str, ...], str]]:
    """(result dims, loop block symbol) of each ``tile.dot`` in a sequential loop."""
    out: list[tuple[tuple[str, ...], str]] = []
    for op in module.walk():
        if isinstance(op, t.DotOp):
            loop = _enclosing_sequential_loop(op)
            res = op.result.type
            if loop is not None and isinstance(res, t.BlockType) and res.known:
                out.append((tuple(res.dims), loop))
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
    looped = any(isinstance(op, t.ForOp) and op.parallel is None for op in module.walk())
    dots = any(isinstance(op, t.DotOp) for op in module.walk())
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
        span = None
        if isinstance(op, t.StoreOp) and not loops:
            span = _store_span(op, positions, ordinal)
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
                in_loop_kernel=looped,
                span=span,
                epilogue=dots and isinstance(op, t.LoadOp) and _after_dot_loops(op),
            )
        )
    return out


def _store_span(
    store: t.StoreOp, positions: dict[int, int], ordinal: dict[int, int]
) -> StoreSpan | None:
    """``StoreSpan`` of a store outside sequential loops (None: its value is defined in
    another block or by a loop, so nothing of its block runs in between)."""

    block = store.parent_block()
    if block is None:
        return None
    ops = list(block.ops)
    owner = store.value.owner
    if isinstance(owner, Operation):
        defined = block.find_ancestor_op_in_block(owner)
        if defined is None or isinstance(defined, t.ForOp):
            return None
        start = ops.index(defined) + 1
    else:
        start = 0  # a block argument: defined before everything in its block
    loops: list[tuple[int, tuple[int | None, ...]]] = []
    loads: list[int | None] = []
    writes = reduces = False
    for op in ops[start : ops.index(store)]:
        if isinstance(op, t.ForOp) and op.parallel is None:
            held = tuple(
                _site_of(inner, positions) if isinstance(inner, t.StoreOp) else None
                for inner in op.walk()
                if isinstance(inner, (t.StoreOp, t.AtomicOp))
            )
            loops.append((ordinal[id(op)], held))
            continue
        for inner in op.walk():
            if isinstance(inner, (t.StoreOp, t.AtomicOp)):
                writes = True
            elif isinstance(inner, t.LoadOp):
                loads.append(_site_of(inner, positions))
            elif isinstance(inner, t.ReduceOp):
                reduces = True
    return StoreSpan(tuple(loops), tuple(loads), writes, reduces)


def _accesses(module: Operation, positions: dict[int, int]) -> dict[int, Access]:
    """Per ``Config.indexing`` position, the access facts a descriptor depends on."""

    names = refused_args(module)
    refused: set[SSAValue] = set()  # tensors the launcher's descriptor guard refuses
    for k in module.walk():
        if isinstance(k, t.KernelOp):
            refused.update(a for a, n in zip(k.body.block.args, k.names) if n in names)
    out: dict[int, Access] = {}
    for op in memory_ops(module):
        pos = _site_of(op, positions)
        tensor = op.tensor.type
        assert isinstance(tensor, t.TensorType)
        if pos is None or not all(k in ("tile", "full") for k in op.kinds):
            continue
        out[pos] = Access(
            _indexed_dims(op),
            tuple(tensor.dims),
            element_bytes(tensor.element_type) or 8,
            getattr(op, "mask", None) is not None,
            op.tensor in refused,
        )
    return out


def _row_reductions(module: Operation) -> list[Reduction]:
    """Each reduction whose rows may spread over several warps, whose partial results then
    cross warps through shared memory. Kernels with ``tile.dot`` have none counted: the mma
    layout keeps a row of a dot result in one warp (the module docstring)."""

    if any(isinstance(op, t.DotOp) for op in module.walk()):
        return []
    out: list[Reduction] = []
    for op in module.walk():
        if not isinstance(op, t.ReduceOp):
            continue
        src = op.operand.type
        if not (isinstance(src, t.BlockType) and src.known):
            continue
        axis = op.dim.value.data
        if not 0 <= axis < src.rank:
            continue
        size = max(4, element_bytes(src.element_type) or 8)
        if op.kind.data in ("argmax", "argmin"):
            size += 8  # the index travels with the value
        fast, widest = _contiguous_dim(op.operand)
        loops = tuple(loop.block.data for loop in _sequential_loops(op))
        out.append(Reduction(tuple(src.dims), axis, size, fast, widest, loops))
    return out


@dataclass(frozen=True)
class Conversion:
    """A ``dims`` value of ``elem_bytes`` an element that Triton may move between layouts
    through shared memory: a load or store of fewer dims than a block ``parent`` it is
    combined with (a row's weight broadcast over rows, a per-row value, a row statistic
    stored per row), or a reduction's result (``reduced``: the reduced dim of ``parent``).
    The access keeps a blocked layout of its own while the arithmetic uses a slice of the
    parent's (``blocked_layout.slice_conversion_bytes``). ``trailing``: the value's dims are
    the parent's last ones; ``parent_bytes``: the widest element the parent's loads read;
    ``load``: the value is loaded and Triton may load it again in its users' slice
    layouts instead (one user, or several that bound no jagged loop); ``others``: the
    blocks of other dims a reduction's result is used with (unit dims dropped), and
    ``other_sites`` for each the ``Config.indexing`` positions of
    the loads and stores of that block (None: not numbered); ``epilogue``: it runs after a
    dot kernel's loops, whose buffers are free by then; ``loops``: the block symbols of the
    sequential loops around the access, innermost first (None: a reduced row's conversion,
    which may run wherever it is used); ``access_bytes``: the element size the access
    reads or writes in memory (None: unknown); ``inner``: for a store, the loops of the
    parent block when they are deeper than the store's (a sum accumulated in an inner loop),
    where the conversion runs when that block anchors no layout; ``loaded``: the value is
    a load's result, so it moves from its own layout into the parent's slice."""

    dims: tuple[str, ...]
    elem_bytes: int
    parent: tuple[str, ...]
    trailing: bool
    reduced: int | None = None
    parent_bytes: int | None = None
    load: bool = False
    others: tuple[tuple[str, ...], ...] = ()
    epilogue: bool = False
    other_sites: tuple[tuple[int | None, ...], ...] = ()
    loops: tuple[str, ...] | None = ()
    access_bytes: int | None = None
    inner: tuple[str, ...] | None = None
    loaded: bool = False


def _contains(parent: tuple[str, ...], dims: tuple[str, ...]) -> bool:
    it = iter(parent)
    return all(d in it for d in dims)


def _other_parents(
    module: Operation, dims: tuple[str, ...], parent: tuple[str, ...]
) -> tuple[tuple[str, ...], ...]:
    """The blocks of ``module`` of more dims than ``dims`` holding them, other than
    ``parent`` (unit dims aside: ``dims`` reshaped with unit dims to broadcast is not
    another), each once."""
    core = tuple(d for d in parent if d != "1")
    own = tuple(d for d in dims if d != "1")
    out: list[tuple[str, ...]] = []
    for op in module.walk():
        for r in op.results:
            rt = r.type
            if not (isinstance(rt, t.BlockType) and rt.known and rt.rank > len(dims)):
                continue
            other = tuple(d for d in rt.dims if d != "1")
            if _contains(tuple(rt.dims), dims) and other not in (core, own) and other not in out:
                out.append(other)
    return tuple(out)


def _access_sites(
    module: Operation, positions: dict[int, int]
) -> dict[tuple[str, ...], tuple[int | None, ...]]:
    """Per block shape (unit dims dropped), the ``Config.indexing`` positions of the loads and
    stores that move a block of that shape."""

    out: dict[tuple[str, ...], list[int | None]] = {}
    for op in memory_ops(module):
        value = op.result if isinstance(op, t.LoadOp) else op.value
        ty = value.type
        if isinstance(ty, t.BlockType) and ty.known:
            key = tuple(d for d in ty.dims if d != "1")
            out.setdefault(key, []).append(_site_of(op, positions))
    return {k: tuple(v) for k, v in out.items()}


def _conversions(module: Operation, positions: dict[int, int] | None = None) -> list[Conversion]:
    """Each load or store whose value has fewer dims than a block of its region (the body
    of its loop or kernel) holding the value's dims, once per such block shape, and each
    reduction's result in kernels without ``tile.dot``."""

    positions = _positions(module) if positions is None else positions
    accessed = _access_sites(module, positions)
    out: list[Conversion] = []
    dots = any(isinstance(op, t.DotOp) for op in module.walk())
    for op in module.walk():
        if isinstance(op, t.ReduceOp) and not dots:
            # A reduced row used with a block of another shape (a second loop's tile) moves
            # from the slice of its operand's layout to another; with its operand's shape only
            # (broadcast back, carried across iterations) it keeps the slice layout. Stores
            # of it are counted below (a dot's rows stay in the mma layout).
            ty, src = op.result.type, op.operand.type
            if isinstance(ty, t.BlockType) and ty.known and isinstance(src, t.BlockType):
                others = _other_parents(module, ty.dims, src.dims) if src.known else ()
                if ty.rank >= 1 and others:
                    nbytes = max(4, element_bytes(ty.element_type) or 8)
                    axis = op.dim.value.data
                    trailing = tuple(src.dims[axis + 1 :]) == tuple(ty.dims) and axis == 0
                    widest = _contiguous_dim(op.operand)[1]
                    out.append(
                        Conversion(
                            tuple(ty.dims),
                            nbytes,
                            tuple(src.dims),
                            trailing,
                            axis,
                            widest,
                            others=others,
                            other_sites=tuple(accessed.get(o, ()) for o in others),
                            loops=None,
                        )
                    )
            continue
        if not isinstance(op, (t.LoadOp, t.StoreOp)):
            continue
        value = op.result if isinstance(op, t.LoadOp) else op.value
        ty = value.type
        region = op.parent_op()
        if not (isinstance(ty, t.BlockType) and ty.known and ty.rank >= 1) or region is None:
            continue
        dims = tuple(ty.dims)
        # Every block of more dims holding the value's (unit dims aside) may be one it is
        # combined with: Triton converts it to the slice of each such block's layout.
        parents: dict[
            tuple[str, ...],
            tuple[tuple[str, ...], int | None, tuple[str, ...], tuple[str, ...] | None],
        ] = {}
        loops = tuple(loop.block.data for loop in _sequential_loops(op))
        for other in region.walk():
            for r in other.results:
                rt = r.type
                if not (isinstance(rt, t.BlockType) and rt.known):
                    continue
                if rt.rank > ty.rank and _contains(tuple(rt.dims), dims):
                    core = tuple(d for d in rt.dims if d != "1")
                    if core not in parents or len(parents[core][0]) < rt.rank:
                        inner = None
                        if isinstance(op, t.StoreOp):
                            inner = tuple(lp.block.data for lp in _sequential_loops(other))
                        parents[core] = (tuple(rt.dims), _contiguous_dim(r)[1], loops, inner)
        # Integer values (indices) may be widened to 64-bit index arithmetic first.
        elem = element_bytes(ty.element_type) or 8
        nbytes = max(8 if isinstance(ty.element_type, IntegerType) else 4, elem)
        # A load Triton may repeat in its users' layouts: one user, or several that do not
        # bound a jagged loop (whose bounds check and masks take the value in a layout of
        # their own: a value several users read in different layouts is converted).
        loaded = isinstance(op, t.LoadOp) and (
            len(list(op.result.uses)) == 1 or not _bounds_jagged_loop(op.result)
        )
        epilogue = dots and _after_dot_loops(op)
        tensor = op.tensor.type
        access = element_bytes(tensor.element_type) if isinstance(tensor, t.TensorType) else None
        for parent, widest, loops, inner in parents.values():
            out.append(
                Conversion(
                    dims,
                    nbytes,
                    parent,
                    parent[len(parent) - len(dims) :] == dims,
                    None,
                    widest,
                    loaded,
                    epilogue=epilogue,
                    loops=loops,
                    access_bytes=access,
                    inner=inner if inner != loops else None,
                    loaded=isinstance(op, t.LoadOp),
                )
            )
    return out


def _bounds_jagged_loop(value: SSAValue) -> bool:
    """Whether ``value``, or an element-wise result computed from it, is the upper bound of
    a jagged loop."""

    seen: set[int] = set()
    todo = [value]
    while todo:
        v = todo.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        for use in v.uses:
            user = use.operation
            if isinstance(user, t.ForOp) and user.kind.data == "jagged" and user.ub is v:
                return True
            if isinstance(user, (t.BinaryOp, t.UnaryOp, t.CastOp, t.SelectOp)):
                todo.extend(user.results)
    return False


def _after_dot_loops(op: Operation) -> bool:
    """Whether ``op`` runs after the sequential loops that hold dots, outside any sequential
    loop: in its block, such a loop comes before it and no sequential loop after it."""

    if _sequential_loops(op):
        return False
    block = op.parent_block()
    if block is None:
        return False
    ops = list(block.ops)
    at = ops.index(op)

    def sequential(o: Operation) -> bool:
        return isinstance(o, t.ForOp) and o.parallel is None

    before = any(sequential(o) and any(isinstance(d, t.DotOp) for d in o.walk()) for o in ops[:at])
    return before and not any(sequential(o) for o in ops[at + 1 :])


def _checked_indices(module: Operation) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """The index tile of each gather: the bounds check reduces its failures over the whole
    tile (``bounds.guard``), as 64-bit values; with the block symbols of the sequential loops
    around the access (the check runs there or before them)."""

    out: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    for op in module.walk():
        if isinstance(op, (t.LoadOp, t.StoreOp, t.AtomicOp)):
            loops = tuple(loop.block.data for loop in _sequential_loops(op))
            for kind, idx in zip(op.kinds, op.indices):
                ty = idx.type
                if kind in ("gather", "outer") and isinstance(ty, t.BlockType) and ty.known:
                    out.append((tuple(ty.dims), loops))
    return out


def _jagged_masks(module: Operation) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """The row mask of each load in a jagged loop (the innermost: its bound's dims by the
    loop's block, one
    byte an element), with the block symbols of the sequential loops around the load: the
    mask is computed in the layout of the index arithmetic and converted to the load's."""

    out: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    for op in module.walk():
        if not isinstance(op, t.LoadOp):
            continue
        loops = _sequential_loops(op)
        for loop in loops:
            ub = loop.ub.type
            if loop.kind.data == "jagged" and isinstance(ub, t.BlockType) and ub.known:
                syms = tuple(lp.block.data for lp in loops)
                out.append(((*ub.dims, loop.block.data), syms))
                break  # the innermost: an outer loop's mask is carried in the load's layout
    return out


@dataclass
class _Layout:
    buffers: list[SharedBuffer]
    tiles: list[MemoryTile]
    reductions: list[Reduction]
    accumulators: list[tuple[tuple[str, ...], str]]
    conversions: list[Conversion]
    checked: list[tuple[tuple[str, ...], tuple[str, ...]]]
    accesses: dict[int, Access]
    jagged_masks: list[tuple[tuple[str, ...], tuple[str, ...]]]


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
        shared_buffers(work, positions),
        memory_tiles(work, positions),
        _row_reductions(work),
        _accumulators(work),
        _conversions(work, positions),
        _checked_indices(work),
        _accesses(work, positions),
        _jagged_masks(work),
    )


def may_take_shared_memory(module: Operation) -> bool:
    """Whether some config could give ``module`` a shared-memory buffer the estimate counts:
    a ``tile.dot``, an access a tensor descriptor may take, a sequential loop (its
    ``range_num_stages`` pipelines its loads), a reduction, or a layout conversion."""

    return bool(
        shared_buffers(module)
        or any("tensor_descriptor" in s.modes for s in sites(module))
        or any(isinstance(op, t.ForOp) and op.parallel is None for op in module.walk())
        or _row_reductions(module)
        or _conversions(module)
        or _checked_indices(module)
    )


TMA_MIN_SHARED = 128  # bytes: TMA's alignment of a shared-memory buffer
SCRATCH_ALIGN = 128  # bytes: Triton's alignment of an operation's scratch buffer
CP_ASYNC_ALIGN = 16  # bytes: alignment of a pipelined pointer load's buffer (cp.async)


def _allocated_early(span: StoreSpan, picked: set[int]) -> bool:
    """Whether Triton 3.9 allocates a descriptor store's buffer right after its value is
    defined rather than at the store. Its instruction reordering moves a ``local_alloc`` of
    a value up to the value's definition unless an operation in between writes memory with
    known effects: a descriptor load (its barrier and copy), any store outside loops, or a
    loop whose stores all use pointers. A loop that stores through a descriptor holds
    operations of unknown effects (the fences and waits around the copy), which do not stop
    the move."""

    if span.writes or any(p in picked for p in span.loads):
        return False
    return not any(held and not any(p in picked for p in held) for _, held in span.loops)


def _triton_version() -> tuple[int, ...]:
    try:
        text = importlib.metadata.version("triton")
    except importlib.metadata.PackageNotFoundError:
        return (0,)
    return tuple(int(p) for p in re.findall(r"\d+", text)[:2])


# Triton 3.9 frees a tensor-descriptor buffer of an unpipelined loop once its load is read
# into registers or its store is drained (sm_90 compiles: a chunk loop's load and store
# tiles share one buffer); Triton 3.6 kept them all (H100 refusals,
# tests/backends/test_shared_memory_tma.py). Versions between are counted as 3.6.
TRANSIENT_TMA_BUFFERS = _triton_version() >= (3, 9)
WGMMA_ROWS = 64  # Hopper's wgmma: M a multiple of 64 rows, a warp group of 4 warps
WARP_GROUP = 4


def round_up(nbytes: int, align: int) -> int:
    """The first offset at or above ``nbytes`` that is a multiple of ``align``: where a
    buffer of that alignment placed after ``nbytes`` of others starts."""
    return -(-nbytes // align) * align


def _stacked(pieces: list[tuple[int, int]]) -> int:
    """The end of buffers (bytes, alignment) that are all live together, as Triton places
    them: largest first, each at the first offset of its alignment above the last. Ties
    follow program order, which is not known here: the worse of the two orders by alignment."""
    ends = []
    for sign in (1, -1):
        end = 0
        for size, align in sorted(pieces, key=lambda p: (-p[0], sign * p[1])):
            if size:
                end = round_up(end, align) + size
        ends.append(end)
    return max(ends)


def _nvmma_alignment(row_bytes: int) -> int:
    """The alignment Triton gives a tensor-descriptor buffer (an NVMMA shared layout) whose
    rows are ``row_bytes`` long: its swizzle pattern of 8 rows of the swizzle width (the
    largest of 128, 64, 32 bytes dividing a row), or 128 bytes unswizzled."""

    swizzle = next((w for w in (128, 64, 32) if row_bytes % w == 0), 0)
    return 8 * swizzle if swizzle else TMA_MIN_SHARED


def _uses_wgmma(rows: int, num_warps: int | None) -> bool:
    """Whether Triton runs a dot of ``rows`` (M) rows with Hopper's wgmma: M a multiple of
    64 and whole warp groups; otherwise it runs mma.sync (mma v2), whose operands go from
    shared memory to registers."""

    return rows % WGMMA_ROWS == 0 and (num_warps or WARP_GROUP) % WARP_GROUP == 0


def shared_memory_estimator(module: Operation) -> Callable[..., int]:
    """``estimate(block_sizes, num_stages, range_num_stages=None, range_unroll_factors=None,
    range_multi_buffers=None, *, indexing=None, reduction_loops=None, num_warps=None,
    pid_type=None)`` for ``module`` (the traced IR; per-loop dicts keyed by block symbol, as
    ``loop_knobs.range_options`` gives them; ``indexing``, ``reduction_loops`` and
    ``pid_type`` as in a Config), with the IR walked once per ``reduction_loops`` value (a
    space's constraint calls it for every drawn config). See ``shared_memory_bytes``."""

    hints: dict[str, int] = {}
    for k in module.walk():
        if isinstance(k, t.KernelOp):
            hints.update(k.size_hints)
    layouts: dict[tuple[tuple[str, int], ...], _Layout] = {}
    accesses = len(memory_ops(module))

    def estimate(
        block_sizes: dict[str, int],
        num_stages: int,
        range_num_stages: dict[str, int] | None = None,
        range_unroll_factors: dict[str, int] | None = None,
        range_multi_buffers: dict[str, bool | None] | None = None,
        range_flattens: dict[str, bool | None] | None = None,
        *,
        indexing: Any = None,
        reduction_loops: Any = None,
        num_warps: int | None = None,
        pid_type: str | None = None,
    ) -> int:
        stages_of = range_num_stages or {}
        flat_of = range_flattens or {}
        unroll_of = range_unroll_factors or {}
        chunks = chunks_from_reduction_loops(module, reduction_loops)
        key = tuple(sorted(chunks.items()))
        if key not in layouts:
            layouts[key] = _layout(module, chunks)
        layout = layouts[key]
        sizes = dict(block_sizes)
        sizes.update({chunk_symbol(d): c for d, c in chunks.items()})
        modes = normalize_indexing(indexing)
        if len(modes) > accesses:  # numbered Helion's way: one mode per source access
            modes = per_access_modes(module, modes, tuple(chunks))

        def elements(dims: tuple[str, ...]) -> int:
            return block_elements(dims, hints, sizes)

        def chosen(pos: int | None) -> bool:
            if pos is None or not modes:
                return False
            mode = modes[0] if len(modes) == 1 else (modes[pos] if pos < len(modes) else "")
            return mode == "tensor_descriptor"

        def legal(a: Access) -> bool:
            return not a.masked and elements(a.block[-1:]) * a.elem_bytes >= TMA_MIN_BYTES

        picked = {p for p, a in layout.accesses.items() if chosen(p) and legal(a)}

        # The launcher runs the kernel with pointers when a descriptor's block is larger
        # than its tensor at these sizes (``indexing.descriptor_check``).
        def extent(d: str) -> int:
            return hints.get(d, int(d) if d.isdigit() else elements((d,)))

        # So does it when a descriptor would read a tensor with a stride-0 dim or a last
        # stride other than 1.
        if any(
            elements((b,)) > extent(e)
            for p in picked
            for b, e in zip(layout.accesses[p].block, layout.accesses[p].extent)
        ) or any(layout.accesses[p].pointer_launch for p in picked):
            picked = set()

        pads: list[int] = []

        def aligned(nbytes: int) -> int:
            # With tensor descriptors, buffers start at TMA's 128-byte alignment: each is
            # padded to it, but for the one placed last (its padding is subtracted below).
            if not picked:
                return nbytes
            padded = round_up(nbytes, TMA_MIN_SHARED)
            pads.append(padded - nbytes)
            return padded

        def stages(loop: str | None) -> int:
            return max(1, stages_of.get(loop) or num_stages) if loop is not None else 1

        def unroll(loop: str | None) -> int:
            return max(1, unroll_of.get(loop) or 1) if loop is not None else 1

        # Dot operands: resident ones (loaded once, or computed) add up, and so do the copies
        # a pipelined loop keeps of each operand it loads. An unpipelined loop (one stage)
        # keeps one buffer of each operand of a dot until that dot has run: its dots' buffers
        # are not live together.
        persistent = (pid_type or "flat").startswith("persistent")
        resident = pipelined = 0
        largest = 0  # the largest operand allocation (Triton places buffers largest first)
        single: dict[int, int] = {}
        staged: dict[int, int] = {}  # one-stage mma v2 operands read one at a time, per dot
        operand_copies: list[tuple[int, int]] = []  # pipelined: (one copy, all with barriers)
        for b in layout.buffers:
            size = aligned(elements(b.dims) * b.elem_bytes)
            largest = max(largest, size)
            wgmma = _uses_wgmma(elements((b.rows,)), num_warps)
            if b.computed:
                resident += 0 if b.lhs and wgmma else size
                continue
            barrier = TMA_BARRIER_BYTES if b.site in picked else 0
            if b.loop is None:
                resident += size + barrier
                continue
            s, u = stages(b.loop), unroll(b.loop)
            if s == 1 and u == 1 and TRANSIENT_TMA_BUFFERS:
                upcast = b.elem_bytes < 2  # fp8: widened to fp16 in registers for mma v2
                if not wgmma and (upcast or (b.lhs and b.site in picked)):
                    # mma v2 reads a descriptor left operand's buffer, and an operand it
                    # widens, into registers right after it is written, before the other
                    # operand needs memory.
                    staged[b.dot] = max(staged.get(b.dot, 0), size + barrier)
                else:
                    single[b.dot] = single.get(b.dot, 0) + size + barrier
                continue
            # mma v2 reads operands into registers, which hold one stage of the pipeline.
            kept = s if wgmma or not TRANSIENT_TMA_BUFFERS else max(1, s - 1)
            copies = kept * u + (1 if u > 1 and s > 1 else 0)  # an unrolled loop's remainder
            pipelined += copies * (size + barrier)
            operand_copies.append((size, copies * (size + barrier)))
            largest = max(largest, kept * size)
        pipelined += max(
            (max(single.get(d, 0), staged.get(d, 0)) for d in {*single, *staged}), default=0
        )
        if not TRANSIENT_TMA_BUFFERS:
            # 3.6 (H100): range_multi_buffers=True could multi-buffer a loop's accumulator.
            multi_of = range_multi_buffers or {}
            for dims, loop in layout.accumulators:
                if multi_of.get(loop) is True:
                    pipelined += elements(dims) * 4
        total = resident + pipelined
        kept_store = 0  # a persistent kernel's descriptor store buffer, through the program
        # A dot kernel's epilogue runs after its pipelined loop and reuses that loop's shared
        # memory, except a persistent kernel's tensor-descriptor store, whose buffer stays
        # allocated across its tiles.
        if layout.buffers:
            epilogue = 0
            for m in layout.tiles:
                if m.store and m.scope is None:
                    tile = aligned(elements(m.dims) * m.elem_bytes)
                    if persistent and num_stages >= 2 and m.site in picked:
                        # Triton places buffers largest first (ties in program order, where
                        # the kept store comes first): a store at least as large as every
                        # operand buffer sits below them, a smaller one above the larger
                        # ones and their barriers (it lives beside each), at its swizzled
                        # layout's alignment, and the pipelined copies of smaller operands
                        # above it.
                        if tile >= largest:
                            total += tile
                        else:
                            align = _nvmma_alignment(elements(m.dims[-1:]) * m.elem_bytes)
                            small = sum(n for one, n in operand_copies if one < tile)
                            total = round_up(total - small, align) + tile + small
                        kept_store += tile
                        continue
                    if m.site not in picked and len(m.dims) == 2 and num_warps:
                        # A pointer store converts the result from its mma layout, in
                        # rounds through a part of the tile.
                        shape = [elements((d,)) for d in m.dims]
                        wgmma = _uses_wgmma(shape[0], num_warps)
                        tile = dot_store_conversion_bytes(shape, num_warps, wgmma, m.elem_bytes)
                    epilogue = max(epilogue, tile)
            total = max(total, epilogue)
        # Per top-level loop (None: outside loops): the pipelined loads' copies, which live
        # through the loop, and the tensor-descriptor buffers of unpipelined accesses, each
        # read into registers (a load) or drained (a store) before the next is needed where
        # the Triton reuses them (``TRANSIENT_TMA_BUFFERS``), else all live together.
        pipelined_in: dict[int | None, int] = {}
        # The same per top-level loop and pipelined loop (the outermost of a flattened nest):
        # Triton allocates a pipelined loop's buffers before it and frees them after it.
        pipelined_by: dict[tuple[int | None, str | None], int] = {}
        staged_in: dict[int | None, int] = {}
        hoisted: dict[int | None, int] = {}
        barrier_count: dict[int | None, int] = {}  # unpipelined descriptor loads, per loop
        barriers: dict[int | None, int] = {}
        largest_staged: dict[int | None, int] = {}  # unpipelined descriptor tiles, raw bytes
        spanning: dict[int | None, int] = {}  # stores' buffers allocated before a loop
        # Per loop: the (bytes, alignment) of each buffer live through it, for the loops
        # whose buffers are placed one above the other (``stacked`` below); ``loose``: loops
        # with a buffer that placement does not model (a hoisted or early store).
        pieces: dict[int | None, list[tuple[int, int]]] = {}
        loose: set[int | None] = set()
        after_loads = 0  # descriptor loads after a dot kernel's loops, with their barriers
        for m in layout.tiles:
            if layout.buffers and m.store and m.scope is None:
                continue  # counted in the epilogue above
            tma = m.site in picked
            if tma and m.epilogue and layout.buffers and TRANSIENT_TMA_BUFFERS:
                # (3.9) It runs after the dot loops, in their freed memory: only the resident
                # operands and a persistent kernel's kept store buffer stay beside it.
                raw = aligned(elements(m.dims) * m.elem_bytes) + TMA_BARRIER_BYTES
                after_loads = max(after_loads, raw)
                continue
            u = 1
            for sym in m.loops:
                u *= unroll(sym)
            s = stages_of.get(m.loop) or 0 if m.loop is not None else 0
            # A loop nest flattened from an outer loop (``range_flattens``) is one loop,
            # pipelined at the most stages its loops ask for.
            fused = next(
                (i for i in range(len(m.loops) - 1, 0, -1) if flat_of.get(m.loops[i])), None
            )
            host = m.loop
            if fused is not None:
                s = max(stages_of.get(sym) or 0 for sym in m.loops[: fused + 1])
                host = m.loops[fused]
            raw = elements(m.dims) * m.elem_bytes
            barrier = 0 if m.store else TMA_BARRIER_BYTES
            if tma and not m.store and raw < TMA_MIN_SHARED and TRANSIENT_TMA_BUFFERS:
                # (3.9) A descriptor load of a tile under 128 bytes is not pipelined: the loop
                # reads it through one buffer at a time, as at one stage.
                s = 0
            if not m.store and s >= 2 and not tma and TRANSIENT_TMA_BUFFERS:
                # Triton 3.9 keeps stages - 1 copies of a pipelined pointer load that no dot
                # reads (one stage is in registers) in one buffer, one buffer per unrolled
                # copy of the body: the buffer, not each copy, starts at an aligned offset.
                # An unrolled outer loop runs its copies of this loop one after another: only
                # the pipelined loop's own unrolling multiplies its buffers.
                inner = unroll(m.loop)
                need = inner * aligned((s - 1) * raw)
                pieces.setdefault(m.scope, []).extend([((s - 1) * raw, CP_ASYNC_ALIGN)] * inner)
                pipelined_in[m.scope] = pipelined_in.get(m.scope, 0) + need
                pipelined_by[m.scope, host] = pipelined_by.get((m.scope, host), 0) + need
                continue
            tile = aligned(raw)
            if not m.store and s >= 2:
                # Triton 3.9 keeps stages - 1 copies of a pipelined descriptor load (one stage
                # is in registers), one set per unrolled copy of the body, each copy a whole
                # number of TMA's 128-byte units.
                inner = unroll(m.loop)
                if TRANSIENT_TMA_BUFFERS:
                    copies = (s - 1) * inner
                else:
                    copies = s * u + (1 if u > 1 else 0)
                need = copies * (tile + (barrier if tma else 0))
                if tma and TRANSIENT_TMA_BUFFERS:
                    need += inner * barrier  # and a barrier per unrolled copy of the body
                    pieces.setdefault(m.scope, []).extend(
                        [(raw, TMA_MIN_SHARED)] * copies
                        + [(barrier, TMA_BARRIER_BYTES)] * (copies + inner)
                    )
                else:
                    loose.add(m.scope)
                pipelined_in[m.scope] = pipelined_in.get(m.scope, 0) + need
                pipelined_by[m.scope, host] = pipelined_by.get((m.scope, host), 0) + need
            elif tma and TRANSIENT_TMA_BUFFERS:
                if m.store and m.scope is None:
                    staged_in[None] = max(staged_in.get(None, 0), tile)
                    if m.span is not None and _allocated_early(m.span, picked):
                        # Its buffer lives from the value's definition: through the loops
                        # and beside the reductions between it and the store.
                        for k, _ in m.span.loops:
                            spanning[k] = spanning.get(k, 0) + tile
                            loose.add(k)
                        if m.span.reduces:
                            spanning[None] = spanning.get(None, 0) + tile
                    continue
                if m.store and stages(m.loop) >= 2 and num_stages >= 2:
                    # A pipelined loop's store: the buffer may be hoisted just out of the
                    # loop, so that one iteration's store drains while the next computes (it
                    # lives through that loop).
                    hoisted[m.scope] = hoisted.get(m.scope, 0) + tile
                    loose.add(m.scope)
                else:
                    # One buffer at a time, but each load's barrier may stay allocated beside
                    # it. Placed after every larger buffer, the barriers follow the last
                    # tile's bytes, inside its padding to TMA's alignment (the padding of the
                    # buffer placed last is not counted, below).
                    staged_in[m.scope] = max(staged_in.get(m.scope, 0), tile)
                    barriers[m.scope] = barriers.get(m.scope, 0) + barrier
                    largest_staged[m.scope] = max(largest_staged.get(m.scope, 0), raw)
                    if barrier:
                        barrier_count[m.scope] = barrier_count.get(m.scope, 0) + 1
                        pieces.setdefault(m.scope, []).append((barrier, TMA_BARRIER_BYTES))
            elif tma:
                loose.add(m.scope)
                need = u * (tile + barrier)
                if m.scope is None:
                    staged_in[m.scope] = max(staged_in.get(m.scope, 0), need)
                else:
                    staged_in[m.scope] = staged_in.get(m.scope, 0) + need
        scopes = {*pipelined_in, *staged_in, *hoisted, *spanning}

        def barrier_bytes(k: int | None) -> int:
            # A store's buffer allocated before a loop lives through it; Triton's first-fit
            # placement puts such a small, long-lived buffer above the loop's buffers and
            # barriers, at TMA's 128-byte alignment: each barrier takes 128 bytes.
            if k is not None and spanning.get(k):
                return barrier_count.get(k, 0) * TMA_MIN_SHARED
            return barriers.get(k, 0)

        # What may stay allocated while a reduction or conversion runs: the dot operands, the
        # hoisted buffers, the copies of the pipelined loops it runs in (``loops``; None:
        # wherever it may run), and a store's buffer allocated before the loop or reduction.
        # A reduced row (None) is invariant in the loops after the one computing it: its
        # conversion is hoisted before such a loop, ahead of the store buffer hoisted there.
        # An unpipelined descriptor load's buffer is read into registers, and its barrier
        # invalidated, before its value is used; an unpipelined store's buffer is allocated
        # once its value is computed and drained within the iteration.
        base = total

        def pipelined_beside(k: int | None, loops: tuple[str, ...] | None) -> int:
            if loops is None:
                return pipelined_in.get(k, 0)
            return sum(v for (kk, host), v in pipelined_by.items() if kk == k and host in loops)

        def kept(loops: tuple[str, ...] | None) -> int:
            return base + max(
                (
                    pipelined_beside(k, loops)
                    + spanning.get(k, 0)
                    + (hoisted.get(k, 0) if k is not None and loops is not None else 0)
                    for k in scopes
                ),
                default=0,
            )

        # Without dot operands below them, a loop's buffers are all live through it: Triton
        # places them largest first, each at its alignment above the last (its
        # unpipelined descriptor tiles, one at a time, as their largest).
        stacked = {
            k: _stacked([*pieces.get(k, []), (largest_staged.get(k, 0), TMA_MIN_SHARED)])
            for k in scopes
            if picked and TRANSIENT_TMA_BUFFERS and not total and k is not None
            if k not in loose
        }
        total += max(
            (
                pipelined_in.get(k, 0)
                + staged_in.get(k, 0)
                + barrier_bytes(k)
                + (hoisted.get(k, 0) + spanning.get(k, 0) if k is not None else 0)
                for k in scopes
                if k not in stacked
            ),
            default=0,
        )
        if after_loads:
            total = max(total, resident + kept_store + after_loads)
        if picked:
            total = max(total - min(pads, default=0), TMA_MIN_SHARED, *stacked.values())
        if not num_warps:
            return total  # the scratch below depends on the warps (counted when given)
        warps = num_warps
        after = 0
        scratch: list[tuple[int, tuple[str, ...] | None]] = []  # (bytes, loops) per operation
        for r in layout.reductions:
            shape = [elements((d,)) for d in r.dims]
            need = reduction_scratch_bytes(
                shape, r.axis, warps, r.elem_bytes, r.contiguous, r.load_bytes
            )
            scratch.append((need, r.loops))
        for c in layout.conversions:
            # The value's dims within its parent block: all but the reduced one for a
            # reduction's result, else its dims in order.
            if c.reduced is not None:
                axes = [d for d in range(len(c.parent)) if d != c.reduced]
            else:
                axes, at = [], 0
                for d in c.dims:
                    while c.parent[at] != d:
                        at += 1
                    axes.append(at)
                    at += 1
            shape = [elements((d,)) for d in c.parent]
            core = [n for d, n in zip(c.parent, shape) if d != "1"]
            if c.reduced is not None and all(
                [elements((d,)) for d in o] == core or (sites and picked.issuperset(sites))
                for o, sites in zip(c.others, c.other_sites or [()] * len(c.others))
            ):
                # The other blocks have the operand's shape at this config (Triton gives them
                # the same blocked layout, whose slice the reduced row already has), or are
                # read and written only through tensor descriptors: their registers take any
                # layout (``local_load``), so no access sets one and the reduced row's layout
                # carries into their arithmetic.
                continue
            own = [shape[d] for d in axes]
            if c.load and prod(own) < warps * WARP_SIZE:
                # A load of fewer elements than threads is cheap to repeat: Triton loads it
                # in the slice layout its users need (removing the conversion).
                continue
            # The parent's layout is its loads' (unknown: the value's element size); the value's
            # own access moves its elements (an index widened to 64 bits was loaded at 32;
            # one accessed at its full width keeps that access's vector).
            load = c.parent_bytes or min(4, c.elem_bytes)
            widths = {c.elem_bytes, min(4, c.elem_bytes)}
            if c.access_bytes is not None and c.access_bytes >= c.elem_bytes:
                widths = {c.elem_bytes}
            elem = c.elem_bytes
            # A per-row load of fewer elements than threads that bounds jagged loops whose
            # blocks are all one element (each index a splat): the bounds are compared in
            # the load's own layout and the load is repeated in the address's slice, so
            # only narrow values move (32-bit counts, f32 lengths, i1 masks), never the
            # 64-bit ones. At one warp Triton does move 64-bit values.
            if (
                c.loaded
                and not c.load
                and warps > 1
                and prod(own) < warps * WARP_SIZE
                and layout.jagged_masks
                and all(elements(d[-1:]) == 1 for d, _ in layout.jagged_masks)
            ):
                elem = min(4, elem)
                widths = {min(4, w) for w in widths}
            for width in widths:
                need = slice_conversion_bytes(
                    shape,
                    axes,
                    warps,
                    elem,
                    coalesced_vector(shape, warps, load),
                    coalesced_vector(own, warps, width),
                    from_own=c.loaded,
                )
                if c.epilogue:
                    after = max(after, need)
                else:
                    loops = c.loops
                    if c.inner is not None and prod(shape) < warps * WARP_SIZE:
                        # A parent block of fewer elements than threads (an inner loop's
                        # tile) anchors no layout: the value stored after that loop keeps
                        # the store's, and each iteration's result is converted into it.
                        loops = c.inner
                    scratch.append((need, loops))
        for dims, loops in layout.checked:
            n = elements(dims)
            scratch.append((reduction_scratch_bytes([n], 0, warps, 8), loops))
        for dims, loops in layout.jagged_masks:
            # (3.9) In a loop nest flattened into one pipelined loop, a load's row mask over
            # a one-element block of its jagged loop (rows x 1) is converted to the load's
            # layout beside its copies (in the loop and in the prologue, after the copies
            # are allocated).
            flat = any(flat_of.get(sym) for sym in loops[1:])
            if (
                TRANSIENT_TMA_BUFFERS
                and flat
                and elements(dims[-1:]) == 1
                and any(pipelined_beside(k, loops) for k in scopes)
            ):
                scratch.append((elements(dims), loops))
        if after:
            # After a dot kernel's loops only the resident operands and a persistent store's
            # buffer stay allocated.
            live = resident + kept_store
            total = max(total, round_up(live, SCRATCH_ALIGN) + after)
        # Scratch starts at a 128-byte boundary after the buffers live beside it.
        for need, loops in scratch:
            if need:
                total = max(total, round_up(kept(loops), SCRATCH_ALIGN) + need)
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
        ranges["range_flattens"],
        indexing=config.get("indexing"),
        reduction_loops=config.get("reduction_loops"),
        num_warps=config.get("num_warps"),
        pid_type=config.get("pid_type"),
    )


def shared_memory_bytes(
    module: Operation,
    block_sizes: dict[str, int],
    num_stages: int,
    range_num_stages: dict[str, int] | None = None,
    range_unroll_factors: dict[str, int] | None = None,
    range_multi_buffers: dict[str, bool | None] | None = None,
    range_flattens: dict[str, bool | None] | None = None,
    *,
    indexing: Any = None,
    reduction_loops: Any = None,
    num_warps: int | None = None,
    pid_type: str | None = None,
) -> int:
    """Estimated shared memory of one program in bytes, for the traced IR ``module``.

    The rules are the module docstring's. ``stages`` of a loop is its ``range_num_stages``
    entry when set, else ``num_stages``; ``unroll`` its ``range_unroll_factors`` entry
    (matmul with wgmma: ``num_stages * (BLOCK_M * BLOCK_K + BLOCK_K * BLOCK_N) * element
    size``). ``indexing`` (a Config's field) picks the tensor-descriptor accesses,
    ``reduction_loops`` (None: the default chunks) the chunk loops the tiles are counted in,
    ``pid_type`` whether a persistent kernel keeps its epilogue's buffer; the scratch of
    reductions and layout conversions is counted only when ``num_warps`` is given.

    Block symbols count at ``block_sizes``; whole size symbols at the next power of two of
    their traced value (as for registers), so the estimate is for the traced shapes.
    """
    return shared_memory_estimator(module)(
        block_sizes,
        num_stages,
        range_num_stages,
        range_unroll_factors,
        range_multi_buffers,
        range_flattens,
        indexing=indexing,
        reduction_loops=reduction_loops,
        num_warps=num_warps,
        pid_type=pid_type,
    )
