"""What the traced IR says about the buffers its loads and stores may take, computed once per
module (and per ``reduction_loops`` rewrite): the dot operands, the other loads and stores as
tiles, the stores' spans from their value's definition, and the facts that decide whether an
access really takes a tensor descriptor. No config enters here: the per-config sizes are
``operands.py``'s and ``loop_buffers.py``'s."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.ir import Operation, SSAValue

from kcompiler.backends.triton.shared_memory.ir_walk import (
    access_positions,
    after_dot_loops,
    enclosing_sequential_loop,
    loaded_from,
    sequential_loops_around,
    site_of,
)
from kcompiler.dialects import tile as t
from kcompiler.passes.indexing import element_bytes, loop_of, memory_ops, refused_args, site


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


def shared_buffers(
    module: Operation, positions: dict[int, int] | None = None
) -> list[SharedBuffer]:
    """The ``tile.dot`` operands of ``module`` that may live in shared memory.

    A loaded operand is staged through shared memory in the dtype it is loaded in (fp8 stays
    one byte). A computed operand (attention's ``p``) is written to shared memory once,
    except a left one under wgmma (the estimate decides that per config: it reads A from
    registers).
    """

    positions = access_positions(module) if positions is None else positions
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
            load = loaded_from(v)
            src = t.block_of(load.result) if load is not None else ty
            out.append(
                SharedBuffer(
                    tuple(ty.dims),
                    element_bytes(src.element_type) or 4,
                    enclosing_sequential_loop(load) if load is not None else None,
                    site=site_of(load, positions) if load is not None else None,
                    rows=rows,
                    computed=load is None,
                    lhs=v is op.lhs,
                    dot=n,
                )
            )
    return out


def accumulators(module: Operation) -> list[tuple[tuple[str, ...], str]]:
    """(result dims, loop block symbol) of each ``tile.dot`` in a sequential loop."""
    out: list[tuple[tuple[str, ...], str]] = []
    for op in module.walk():
        if isinstance(op, t.DotOp):
            loop = enclosing_sequential_loop(op)
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

    positions = access_positions(module) if positions is None else positions
    operands = {
        id(load)
        for op in module.walk()
        if isinstance(op, t.DotOp)
        for v in (op.lhs, op.rhs)
        if (load := loaded_from(v)) is not None
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
        loops = sequential_loops_around(op)
        syms = tuple(loop.block.data for loop in loops)
        span = None
        if isinstance(op, t.StoreOp) and not loops:
            span = store_span(op, positions, ordinal)
        out.append(
            MemoryTile(
                site=site_of(op, positions),
                store=isinstance(op, t.StoreOp),
                dims=dims,
                elem_bytes=element_bytes(tensor.element_type) or 8,
                descriptor=descriptor,
                loop=syms[0] if syms else None,
                loops=syms,
                scope=ordinal[id(loops[-1])] if loops else None,
                in_loop_kernel=looped,
                span=span,
                epilogue=dots and isinstance(op, t.LoadOp) and after_dot_loops(op),
            )
        )
    return out


def store_span(
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
                site_of(inner, positions) if isinstance(inner, t.StoreOp) else None
                for inner in op.walk()
                if isinstance(inner, (t.StoreOp, t.AtomicOp))
            )
            loops.append((ordinal[id(op)], held))
            continue
        for inner in op.walk():
            if isinstance(inner, (t.StoreOp, t.AtomicOp)):
                writes = True
            elif isinstance(inner, t.LoadOp):
                loads.append(site_of(inner, positions))
            elif isinstance(inner, t.ReduceOp):
                reduces = True
    return StoreSpan(tuple(loops), tuple(loads), writes, reduces)


def descriptor_accesses(module: Operation, positions: dict[int, int]) -> dict[int, Access]:
    """Per ``Config.indexing`` position, the access facts a descriptor depends on."""

    names = refused_args(module)
    refused: set[SSAValue] = set()  # tensors the launcher's descriptor guard refuses
    for k in module.walk():
        if isinstance(k, t.KernelOp):
            refused.update(a for a, n in zip(k.body.block.args, k.names) if n in names)
    out: dict[int, Access] = {}
    for op in memory_ops(module):
        pos = site_of(op, positions)
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
