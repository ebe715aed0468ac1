"""What the traced IR says about the scratch its operations may need, computed once per module
(and per ``reduction_loops`` rewrite): reductions whose rows spread over warps, values that
move between a blocked layout of their own and a slice of a larger block's (layout
conversions), the index tiles of gathers' bounds checks, and the row masks of loads in jagged
loops. The bytes each takes at a config are ``scratch.py``'s."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.dialects.builtin import IntegerType
from xdsl.ir import Operation, SSAValue

from kcompiler.backends.triton.shared_memory.ir_walk import (
    access_positions,
    after_dot_loops,
    sequential_loops_around,
    site_of,
)
from kcompiler.dialects import tile as t
from kcompiler.passes.indexing import element_bytes, memory_ops

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


def row_reductions(module: Operation) -> list[Reduction]:
    """Each reduction whose rows may spread over several warps, whose partial results then
    cross warps through shared memory. Kernels with ``tile.dot`` have none counted: the mma
    layout keeps a row of a dot result in one warp (the package docstring)."""

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
        loops = tuple(loop.block.data for loop in sequential_loops_around(op))
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
    """Whether ``dims`` occur in ``parent`` in order (a block holding a value's dims)."""
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
            out.setdefault(key, []).append(site_of(op, positions))
    return {k: tuple(v) for k, v in out.items()}


def conversions(module: Operation, positions: dict[int, int] | None = None) -> list[Conversion]:
    """Each load or store whose value has fewer dims than a block of its region (the body
    of its loop or kernel) holding the value's dims, once per such block shape, and each
    reduction's result in kernels without ``tile.dot``."""

    positions = access_positions(module) if positions is None else positions
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
        loops = tuple(loop.block.data for loop in sequential_loops_around(op))
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
                            inner = tuple(lp.block.data for lp in sequential_loops_around(other))
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
        epilogue = dots and after_dot_loops(op)
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


def checked_indices(module: Operation) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """The index tile of each gather: the bounds check reduces its failures over the whole
    tile (``bounds.guard``), as 64-bit values; with the block symbols of the sequential loops
    around the access (the check runs there or before them)."""

    out: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    for op in module.walk():
        if isinstance(op, (t.LoadOp, t.StoreOp, t.AtomicOp)):
            loops = tuple(loop.block.data for loop in sequential_loops_around(op))
            for kind, idx in zip(op.kinds, op.indices):
                ty = idx.type
                if kind in ("gather", "outer") and isinstance(ty, t.BlockType) and ty.known:
                    out.append((tuple(ty.dims), loops))
    return out


def jagged_masks(module: Operation) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """The row mask of each load in a jagged loop (the innermost: its bound's dims by the
    loop's block, one
    byte an element), with the block symbols of the sequential loops around the load: the
    mask is computed in the layout of the index arithmetic and converted to the load's."""

    out: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    for op in module.walk():
        if not isinstance(op, t.LoadOp):
            continue
        loops = sequential_loops_around(op)
        for loop in loops:
            ub = loop.ub.type
            if loop.kind.data == "jagged" and isinstance(ub, t.BlockType) and ub.known:
                syms = tuple(lp.block.data for lp in loops)
                out.append(((*ub.dims, loop.block.data), syms))
                break  # the innermost: an outer loop's mask is carried in the load's layout
    return out
