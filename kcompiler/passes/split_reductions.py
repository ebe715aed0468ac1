"""split-reductions: compute whole-dim reductions in a loop over chunks instead of one block.

A value loaded with a ``full`` index over a size dim ``s`` (``x[tile_m, :]``) lives in
registers as one block of ``next_pow2(N)``. For large ``N`` that spills; this pass rewrites the
body of a parallel ``tile.for`` so that no value carries ``s`` any more:

* every ``tile.reduce`` over ``s`` (a *root*) is computed by a sequential ``tile.for`` over a
  new block symbol ``rblock_<s>`` (the chunk), with the accumulator as an ``iter_arg``:
  ``sum`` adds, ``max``/``min`` take the maximum/minimum, ``argmax``/``argmin`` carry the best
  value and its index. The chunk recomputes, from re-issued loads, exactly the ops the
  reduction needs (its *cone*);
* a ``tile.store`` of an ``s``-valued value is a root too: it is recomputed chunk by chunk;
* ``sum(exp(a - M))`` where ``M`` is a ``max`` over ``s`` in the same loop is fused into one
  pass (online softmax): ``m' = max(m, max(chunk))``, ``l' = l * exp(m - m') + sum(exp(a - m'))``;
* mean and variance (Welford): ``sum((x - c)**2)`` whose center ``c`` (constant along ``s``)
  comes from an earlier root of the loop (``c = sum(x) / n``) joins that loop as running
  statistics of ``x`` merged chunk by chunk (Chan et al.: shift ``K`` = the first chunk's
  mean, mean of ``x - K``, ``M2``); after the loop ``sum(x) = n (K + mean)`` and
  ``sum((x - c)**2) = M2 + n ((K - c) + mean)**2``. No sum of squares cancels, and the mean
  keeps its low bits for rows with a large mean.

Roots are grouped in program order: a root joins the loop of the previous group when every
value its cone reads from outside is already available where that loop starts and no store or
nested loop lies in between; otherwise it starts a new loop just before itself. So rms_norm
becomes two loops (sum of squares, then the store), layer_norm two (Welford mean and variance,
store), softmax two (online max/sum, store), cross_entropy one.

Anything else (an ``s``-valued value used by an op this pass does not know, by a nested loop,
twice-``s`` dims, ``prod``) leaves the loop untouched. The rewrite runs on a clone of the
kernel, which replaces the original only if it verifies and no ``s`` value is left.

Options: ``split-reductions{dim=s1 chunk=256}`` chunks the named dims; without ``dim``, the
``chunk`` list is read like Helion's ``reduction_loops``: one entry per whole dim reduced in the
kernel (``reduction_dims``, first-use order), 0 keeps that dim in registers.

Loads and stores re-issued in a loop copy their source's attributes, the ``indexing`` mode
included; a source that carries ``indexing_chunks`` (``CHUNK_MODES``) gives each copy the mode
listed for its loop instead. ``chunk_loops`` is the plan without the rewrite.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from xdsl.context import Context
from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    FloatAttr,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    i64,
)
from xdsl.ir import Attribute, Block, BlockArgument, Operation, OpResult, SSAValue
from xdsl.passes import ModulePass

from kcompiler import settings
from kcompiler.dialects import tile as t
from kcompiler.exc import InvalidConfig

_HALF = (t.f16, t.bf16)
_ELEMENTWISE = (t.BinaryOp, t.UnaryOp, t.CastOp, t.SelectOp, t.ReshapeOp, t.FullOp)
_SUPPORTED_REDUCTIONS = ("sum", "max", "min", "argmax", "argmin")


def chunk_symbol(dim: str) -> str:
    """The block symbol of the chunk loop over ``dim`` (codegen names it ``BLOCK_<dim>``)."""
    return f"rblock_{dim}"


def _loop_blocks(module: Operation) -> set[str]:
    return {op.block.data for op in module.walk() if isinstance(op, t.ForOp)}


def reduction_dims(module: Operation) -> list[str]:
    """Whole (non-block) dims reduced by some ``tile.reduce``, in first-use order.

    ``Config.reduction_loops[i]`` refers to ``reduction_dims(module)[i]``.
    """
    blocks = _loop_blocks(module)
    out: list[str] = []
    for op in module.walk():
        if isinstance(op, t.ReduceOp) and isinstance(op.operand.type, t.BlockType):
            ty = op.operand.type
            if not ty.known or not 0 <= op.axis < ty.rank:
                continue
            d = ty.dims[op.axis]
            if d != "1" and d not in blocks and not d.startswith("rblock_") and d not in out:
                out.append(d)
    return out


# Rows wider than this (after rounding up to a power of two) spill registers when a program
# holds them whole: by default they are reduced in a loop over DEFAULT_CHUNK elements. Rows up
# to WIDE_ROW stay whole (benchmarks/results/h100/SUMMARY.md: cross_entropy and rms_norm).
WIDE_ROW = 32768
DEFAULT_CHUNK = 4096


def default_reduction_chunk(extent: int) -> int | None:
    """The default ``reduction_loops`` entry for a reduced dim of ``extent`` elements."""
    return DEFAULT_CHUNK if extent > WIDE_ROW else None


def default_reduction_loops(module: Operation) -> list[int | None]:
    """``reduction_loops`` of a config that does not set it: wide rows loop, others don't."""
    hints: dict[str, int] = {}
    for op in module.walk():
        if isinstance(op, t.KernelOp):
            hints.update(op.size_hints)
    return [
        default_reduction_chunk(hints.get(d, int(d) if d.isdigit() else 0))
        for d in reduction_dims(module)
    ]


def chunks_from_reduction_loops(
    module: Operation, reduction_loops: Sequence[int | None] | None
) -> dict[str, int]:
    """``{dim: chunk}`` for the config's ``reduction_loops`` (None or 0 = keep in registers;
    a config without the field gets ``default_reduction_loops``)."""
    dims = reduction_dims(module)
    if reduction_loops is None:
        reduction_loops = default_reduction_loops(module)
    out: dict[str, int] = {}
    for d, v in zip(dims, list(reduction_loops)):
        if v is None or v == 0:
            continue
        if isinstance(v, bool) or not isinstance(v, int) or v < 1 or v & (v - 1):
            raise InvalidConfig(f"reduction_loops entry {v!r} for dim {d}: must be a power of two")
        out[d] = v
    return out


def apply_reduction_loops(
    module: ModuleOp, reduction_loops: Sequence[int | None] | None
) -> dict[str, int]:
    """Rewrite ``module`` in place for the config; returns block sizes of the new symbols."""
    chunks = chunks_from_reduction_loops(module, reduction_loops)
    if not chunks:
        return {}
    SplitReductionsPass(dim=tuple(chunks), chunk=tuple(chunks.values())).apply(Context(), module)
    present = _loop_blocks(module)
    return {chunk_symbol(d): c for d, c in chunks.items() if chunk_symbol(d) in present}


@dataclass(frozen=True)
class SplitReductionsPass(ModulePass):
    name = "split-reductions"

    dim: tuple[str, ...] = ()
    chunk: tuple[int, ...] = ()

    def chunks(self, module: ModuleOp) -> dict[str, int]:
        if self.dim:
            if len(self.chunk) not in (1, len(self.dim)):
                raise ValueError("split-reductions: give one chunk, or one per dim")
            sizes = self.chunk * len(self.dim) if len(self.chunk) == 1 else self.chunk
            return {d: c for d, c in zip(self.dim, sizes) if c}
        return chunks_from_reduction_loops(module, list(self.chunk))

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        chunks = self.chunks(op)
        for kernel in list(op.ops):
            if not isinstance(kernel, t.KernelOp):
                continue
            for dim, size in chunks.items():
                if size & (size - 1) or size < 1:
                    raise ValueError(f"split-reductions: chunk {size} is not a power of two")
                kernel = _split_kernel(kernel, dim, size)
            for mem in kernel.walk():  # per-loop modes of accesses left whole are moot
                mem.attributes.pop(CHUNK_MODES, None)


def _split_kernel(kernel: t.KernelOp, dim: str, size: int) -> t.KernelOp:
    """Returns the kernel to keep: a rewritten clone, or ``kernel`` itself."""
    clone = kernel.clone()
    changed = False
    try:
        for loop in [op for op in clone.walk() if isinstance(op, t.ForOp) and op.parallel]:
            changed |= _Splitter(loop.body.block, dim, size).run()
        if not changed:
            return kernel
        clone.verify()
    except _Unsupported:
        if settings.current().debug_passes:
            raise
        return kernel
    except Exception:  # noqa: BLE001 - any failure leaves the IR as it was
        if settings.current().debug_passes:
            raise
        return kernel
    parent = kernel.parent_block()
    assert parent is not None
    parent.insert_op_before(clone, kernel)
    parent.erase_op(kernel)
    return clone


class _Unsupported(Exception):
    pass


# The indexing pass's per-access mode (``passes/indexing.py``), which re-issued loads and
# stores copy; and, on a load or store of the traced IR, ``{dim: [mode per loop]}``: the mode
# its copy in each of the block's loops over ``dim`` takes, in loop order (the indexing pass
# sets it when a ``Config.indexing`` list numbers the chunked form's accesses apart from the
# source's). This pass consumes it: no access keeps it.
INDEXING_ATTR = "indexing"
CHUNK_MODES = "indexing_chunks"


@dataclass(frozen=True)
class ChunkLoop:
    """One loop the pass emits for a dim: the roots it computes, in program order, and for
    each root the loads and stores of the block it re-issues for it (a stored root is one)."""

    roots: tuple[Operation, ...]
    accesses: tuple[tuple[t.LoadOp | t.StoreOp, ...], ...]  # per root


def chunk_loops(block: Block, dim: str) -> list[ChunkLoop] | None:
    """The loops the pass would emit for ``dim`` in ``block`` (a parallel loop's body), in
    program order; None when it would leave the block as it is. Analysis only."""
    sp = _Splitter(block, dim, 1)
    try:
        roots = sp.check()
        if not any(isinstance(r, t.ReduceOp) for r in roots):
            return None
        groups = sp.plan(roots)
    except Exception:  # noqa: BLE001 - where the analysis fails the pass leaves the block too
        if settings.current().debug_passes:
            raise
        return None
    out: list[ChunkLoop] = []
    for g in groups:
        per_root: list[tuple[t.LoadOp | t.StoreOp, ...]] = []
        for r in g.roots:
            mem = [o for o in sp.cone(sp.root_inputs(r.op)) if isinstance(o, t.LoadOp)]
            per_root.append((*mem, r.op) if isinstance(r.op, t.StoreOp) else tuple(mem))
        out.append(ChunkLoop(tuple(r.op for r in g.roots), tuple(per_root)))
    return out


def _has(v: SSAValue, dim: str) -> bool:
    ty = v.type
    return isinstance(ty, t.BlockType) and ty.known and dim in ty.dims


def _sub(ty: Attribute, dim: str, new: str) -> Attribute:
    if isinstance(ty, t.BlockType) and ty.known:
        return t.BlockType([new if d == dim else d for d in ty.dims], ty.element_type)
    return ty


def _nonunit(ty: Attribute) -> list[str]:
    assert isinstance(ty, t.BlockType)
    return [d for d in ty.dims if d != "1"]


@dataclass(eq=False)
class _Root:
    op: Operation  # a ReduceOp over the dim, or a StoreOp of a dim-valued value
    pair: t.ReduceOp | None = None  # online softmax: the max this sum rescales against
    sub: t.BinaryOp | None = None  # ... and the `a - M` inside its exp
    # Welford: ``sum((x - c)**2)`` with ``c`` constant along the dim; x and c.
    wx: SSAValue | None = None
    center: SSAValue | None = None


@dataclass
class _Group:
    anchor: Operation  # the loop goes right before this op
    roots: list[_Root] = field(default_factory=list)


class _Splitter:
    def __init__(self, block: Block, dim: str, size: int):
        self.block = block
        self.dim = dim
        self.size = size
        self.csym = chunk_symbol(dim)
        self.index = {op: i for i, op in enumerate(block.ops)}
        self.ordinal = 0  # the loop being emitted, counted in the block (``CHUNK_MODES``)

    # -- analysis ---------------------------------------------------------------------------
    def is_dim_op(self, op: Operation) -> bool:
        return any(_has(r, self.dim) for r in op.results)

    def check(self) -> list[Operation]:
        """The roots, in program order; raises _Unsupported on anything the rewrite can't do."""
        roots: list[Operation] = []
        for op in self.block.ops:
            if isinstance(op, t.ReduceOp) and _has(op.operand, self.dim):
                ty = t.block_of(op.operand)
                if ty.dims[op.axis] == self.dim:
                    if op.kind.data not in _SUPPORTED_REDUCTIONS:
                        raise _Unsupported(f"{op.kind.data} reduction")
                    roots.append(op)
                    continue
            if isinstance(op, t.StoreOp) and _has(op.value, self.dim):
                roots.append(op)
                self._check_indexing(op.tensor.type, op.kinds, op.indices)
                continue
            if not self.is_dim_op(op):
                if op.regions and any(
                    _has(v, self.dim) and self._local(v) for o in op.walk() for v in o.operands
                ):
                    raise _Unsupported("a nested region uses the dim")
                continue
            for r in op.results:
                if _has(r, self.dim) and list(r.type.dims).count(self.dim) != 1:  # type: ignore[attr-defined]
                    raise _Unsupported("the dim appears twice in one value")
            if isinstance(op, t.LoadOp):
                self._check_indexing(op.tensor.type, op.kinds, op.indices)
            elif isinstance(op, t.ReduceOp):
                if op.kind.data not in _SUPPORTED_REDUCTIONS:
                    raise _Unsupported(f"{op.kind.data} reduction")
            elif not isinstance(op, _ELEMENTWISE):
                raise _Unsupported(f"{op.name} on the dim")
            for r in op.results:
                for use in r.uses:
                    if use.operation.parent_block() is not self.block:
                        raise _Unsupported("a dim value is used in a nested region")
            for v in op.operands:
                if _has(v, self.dim) and not self._local(v):
                    raise _Unsupported("a dim value defined outside the loop")
        return roots

    def _check_indexing(
        self, tensor_type: Attribute, kinds: Sequence[str], indices: Iterable[SSAValue]
    ) -> None:
        assert isinstance(tensor_type, t.TensorType)
        fulls = [k == "full" and s == self.dim for k, s in zip(kinds, tensor_type.dims)]
        if sum(fulls) > 1:
            raise _Unsupported("two full indices over the dim")
        for v in indices:
            if _has(v, self.dim) and not self._local(v):
                raise _Unsupported("an index defined outside the loop")

    def _local(self, v: SSAValue) -> bool:
        return isinstance(v, OpResult) and v.op.parent_block() is self.block

    def cone(self, values: Iterable[SSAValue]) -> list[Operation]:
        """Ops of this block computing dim-valued ``values``, in program order."""
        seen: set[Operation] = set()
        stack = [v for v in values if _has(v, self.dim)]
        while stack:
            v = stack.pop()
            if not self._local(v):
                raise _Unsupported("a dim value from outside the loop")
            op = v.owner
            assert isinstance(op, Operation)
            if op in seen:
                continue
            seen.add(op)
            stack.extend(o for o in op.operands if _has(o, self.dim))
        return sorted(seen, key=self.index.__getitem__)

    def externals(self, ops: Iterable[Operation], extra: Iterable[SSAValue] = ()) -> list[SSAValue]:
        out = [v for op in ops for v in op.operands if not _has(v, self.dim)]
        return out + list(extra)

    def available(self, v: SSAValue, at: Operation) -> bool:
        if isinstance(v, BlockArgument):
            return True  # of this block or an enclosing one
        assert isinstance(v, OpResult)
        if v.op.parent_block() is self.block:
            return self.index[v.op] < self.index[at]
        return True

    def barrier_between(self, group: _Group, op: Operation) -> bool:
        """Whether moving root ``op`` up into ``group``'s loop could reorder memory effects."""
        members = {r.op for r in group.roots}
        lo, hi = self.index[group.anchor], self.index[op]
        for o in self.block.ops:
            if not lo < self.index[o] < hi or o in members:
                continue
            if isinstance(o, (t.StoreOp, t.AtomicOp)) or o.regions:
                return True
            # A store moved above a load of its tensor would change what the load reads.
            if isinstance(op, t.StoreOp) and isinstance(o, t.LoadOp) and o.tensor == op.tensor:
                return True
        # Loads of the new root run after the group's stores in each chunk.
        stored = {r.op.tensor for r in group.roots if isinstance(r.op, t.StoreOp)}
        loads = [o for o in self.cone(self.root_inputs(op)) if isinstance(o, t.LoadOp)]
        return any(ld.tensor in stored for ld in loads)

    def check_moved_loads(self, group: _Group) -> None:
        """A group's loop re-issues its loads at the anchor: no store may come in between."""
        at = self.index[group.anchor]
        for r in group.roots:
            for ld in self.cone(self.root_inputs(r.op)):
                if not isinstance(ld, t.LoadOp):
                    continue
                for o in self.block.ops:
                    i = self.index[o]
                    if self.index[ld] < i < at and (
                        o.regions or (isinstance(o, t.StoreOp) and o.tensor == ld.tensor)
                    ):
                        raise _Unsupported("a load would move past a store to its tensor")

    def root_inputs(self, op: Operation) -> list[SSAValue]:
        if isinstance(op, t.ReduceOp):
            return [op.operand]
        assert isinstance(op, t.StoreOp)
        return [op.value] + ([op.mask] if op.mask is not None else [])

    def pairing(self, op: Operation, group: _Group) -> _Root | None:
        """Online softmax: ``sum(exp(a - M))`` with ``M`` (through reshapes) a max in ``group``."""
        if not (isinstance(op, t.ReduceOp) and op.kind.data == "sum"):
            return None
        exp = op.operand.owner
        if not (isinstance(exp, t.UnaryOp) and exp.kind.data == "exp" and self._local(op.operand)):
            return None
        sub = exp.operand.owner
        if not (
            isinstance(sub, t.BinaryOp) and sub.kind.data == "sub" and self._local(exp.operand)
        ):
            return None
        if not _has(sub.lhs, self.dim) or _has(sub.rhs, self.dim):
            return None
        m = sub.rhs
        while isinstance(m.owner, t.ReshapeOp):
            m = m.owner.operand
        rmax = m.owner
        members = {r.op for r in group.roots}
        if not (isinstance(rmax, t.ReduceOp) and rmax.kind.data == "max" and rmax in members):
            return None
        if _nonunit(rmax.result.type) != _nonunit(op.result.type):
            return None
        if not t.is_float(t.block_of(rmax.result).element_type):
            return None
        if not t.is_float(t.block_of(op.result).element_type):
            return None
        if any(not self.available(v, group.anchor) for v in self.externals(self.cone([sub.lhs]))):
            return None
        return _Root(op, rmax, sub)

    def welford(self, op: Operation, group: _Group) -> _Root | None:
        """Variance: ``sum((x - c) * (x - c))`` (or ``** 2``) with ``c`` constant along the dim
        but computed after ``group``'s anchor (typically ``c = sum(x) / n`` of that group).

        Instead of a second loop it joins the group as running Welford statistics of ``x``
        (see ``_emit_welford``): ``sum((x - c)**2) = M2 + n * (mean(x) - c)**2`` holds for any
        ``c``, and both terms are computed without cancellation.
        """
        if not (isinstance(op, t.ReduceOp) and op.kind.data == "sum"):
            return None
        if not t.is_float(t.block_of(op.result).element_type):
            return None
        q = op.operand
        sq = q.owner
        if not (isinstance(sq, t.BinaryOp) and self._local(q)):
            return None
        if sq.kind.data == "mul" and sq.lhs == sq.rhs:
            d = sq.lhs
        elif sq.kind.data == "pow" and _is_two(sq.rhs):
            d = sq.lhs
        else:
            return None
        sub = d.owner
        if not (isinstance(sub, t.BinaryOp) and sub.kind.data == "sub" and self._local(d)):
            return None
        if _has(sub.lhs, self.dim) and not _has(sub.rhs, self.dim):
            x, c = sub.lhs, sub.rhs
        elif _has(sub.rhs, self.dim) and not _has(sub.lhs, self.dim):
            x, c = sub.rhs, sub.lhs
        else:
            return None
        xt, ct, dt = t.block_of(x), t.block_of(c), t.block_of(d)
        if xt.dims != dt.dims or t.block_of(q).dims != dt.dims:
            return None  # x itself must span every dim of the squares
        if not (t.is_float(xt.element_type) and t.is_float(dt.element_type)):
            return None
        if ct.rank and (
            ct.rank != xt.rank
            or ct.dims[op.axis] != "1"
            or any(a not in (b, "1") for a, b in zip(ct.dims, xt.dims))
        ):
            return None  # c must broadcast along x without adding dims
        if any(not self.available(v, group.anchor) for v in self.externals(self.cone([x]))):
            return None
        return _Root(op, wx=x, center=c)

    def plan(self, roots: list[Operation]) -> list[_Group]:
        groups: list[_Group] = []
        for op in roots:
            g = groups[-1] if groups else None
            if g is not None and not self.barrier_between(g, op):
                paired = self.pairing(op, g)
                if paired is not None:
                    g.roots.append(paired)
                    continue
                ext = self.externals(self.cone(self.root_inputs(op)), self._root_extra(op))
                if all(self.available(v, g.anchor) for v in ext):
                    g.roots.append(_Root(op))
                    continue
                welford = self.welford(op, g)
                if welford is not None:
                    g.roots.append(welford)
                    continue
            groups.append(_Group(op, [_Root(op)]))
        for g in groups:
            self.check_moved_loads(g)
        return groups

    def _root_extra(self, op: Operation) -> list[SSAValue]:
        if isinstance(op, t.StoreOp):
            return [op.tensor, *op.indices]
        return []

    # -- rewrite ----------------------------------------------------------------------------
    def run(self) -> bool:
        roots = self.check()
        if not any(isinstance(r, t.ReduceOp) for r in roots):
            return False
        for k, g in enumerate(self.plan(roots)):
            self.emit(g, k)
        # Erase the originals, last first; every dim value must be gone.
        for op in reversed(list(self.block.ops)):
            if self.is_dim_op(op) or any(op is r for r in roots):
                if any(r.uses for r in op.results):
                    raise _Unsupported("a dim value is still used")
                self.block.erase_op(op)
        return True

    def _new(self, op: Operation, where: Block, before: Operation | None = None) -> Operation:
        if before is None:
            where.add_op(op)
        else:
            where.insert_op_before(op, before)
        if isinstance(op, t.TileOp) and op.results:
            t.refine_result_type(op)
        return op

    def emit(self, g: _Group, ordinal: int = 0) -> None:
        anchor = g.anchor
        self.ordinal = ordinal
        loc = dict(anchor.attributes)
        outer = self.block

        def before(op: Operation) -> SSAValue:
            op.attributes.update(loc)
            return self._new(op, outer, anchor).results[0]

        lb = before(t.ConstantOp(IntegerAttr(0, i64)))
        if self.dim.isdigit():
            ub = before(t.ConstantOp(IntegerAttr(int(self.dim), i64)))
        else:
            ub = before(t.SizeOp(self.dim))

        # Welford statistics, one set per x; a plain sum of such an x is read off them too.
        stats: dict[SSAValue, _Stat] = {}
        for r in g.roots:
            if r.wx is not None and r.wx not in stats:
                assert isinstance(r.op, t.ReduceOp) and r.center is not None
                d = t.block_of(r.op.operand).element_type
                stats[r.wx] = _Stat(r.wx, r.op.axis, t.f32 if d in _HALF else d)
        via = {
            r
            for r in g.roots
            if isinstance(r.op, t.ReduceOp)
            and r.wx is None
            and r.pair is None
            and r.op.kind.data == "sum"
            and r.op.operand in stats
        }

        # Accumulators: (root or Welford statistics, role, init value).
        inits: list[SSAValue] = []
        slots: list[tuple[_Root | _Stat, str]] = []
        for st in stats.values():
            for role in _Stat.ROLES:
                zero = before(t.ConstantOp(FloatAttr(0.0, st.dtype)))  # type: ignore[arg-type]
                inits.append(before(t.FullOp(zero, st.dims, st.dtype)))
                slots.append((st, role))
        for r in g.roots:
            if not isinstance(r.op, t.ReduceOp) or r.wx is not None or r in via:
                continue
            res = t.block_of(r.op.result)
            kind = r.op.kind.data
            if kind in ("argmax", "argmin"):
                vty = t.block_of(r.op.operand).element_type
                vdims = res.dims
                inits.append(
                    before(
                        t.FullOp(
                            before(_neutral("max" if kind == "argmax" else "min", vty)), vdims, vty
                        )
                    )
                )
                slots.append((r, "value"))
                inits.append(
                    before(t.FullOp(before(t.ConstantOp(IntegerAttr(0, i64))), vdims, i64))
                )
                slots.append((r, "index"))
            else:
                acc = _acc_dtype(kind, res.element_type)
                inits.append(before(t.FullOp(before(_neutral(kind, acc)), res.dims, acc)))
                slots.append((r, "acc"))

        loop = t.ForOp(lb, ub, self.csym, "tile", inits)
        loop.attributes.update(loc)
        loop.attributes["block_size"] = IntegerAttr(self.size, i64)  # the chunk, for backends
        outer.insert_op_before(loop, anchor)
        body = loop.body.block
        tile_arg = body.args[0]
        tile_arg.name_hint = "chunk"
        for arg in body.args[1:]:
            arg.name_hint = "acc"
        accs = dict(zip(slots, body.args[1:]))
        vmap: dict[SSAValue, SSAValue] = {}
        new_acc: dict[tuple[_Root | _Stat, str], SSAValue] = {}
        maxes: dict[t.ReduceOp, tuple[SSAValue, SSAValue]] = {}  # rmax -> (old m, safe new m)

        def add(op: Operation) -> SSAValue:
            if not op.attributes:
                op.attributes.update(loc)
            return self._new(op, body).results[0]

        def clone_cone(values: Iterable[SSAValue]) -> None:
            for op in self.cone(values):
                if op.results[0] in vmap:
                    continue
                vmap[op.results[0]] = self._clone_chunked(op, vmap, tile_arg, body)

        def m(v: SSAValue) -> SSAValue:
            return vmap.get(v, v)

        counts: dict[Attribute, tuple[SSAValue, ...]] = {}

        def chunk_counts(dtype: Attribute) -> tuple[SSAValue, ...]:
            """(elements before the chunk, in it, up to its end, is-first-chunk) as dtype."""
            if dtype not in counts:
                begin = add(t.TileAttrOp(tile_arg, "begin"))
                end = add(t.TileAttrOp(tile_arg, "end"))
                n_ab = add(t.CastOp(end, dtype))
                n_b = add(t.CastOp(add(t.BinaryOp("sub", end, begin)), dtype))
                n_a = add(t.BinaryOp("sub", n_ab, n_b))  # exact: whole numbers below 2**24
                counts[dtype] = (n_a, n_b, n_ab, add(t.BinaryOp("eq", begin, lb)))
            return counts[dtype]

        def welford_step(st: _Stat) -> None:
            """Chan et al.'s merge of the chunk's (count, mean, M2) into the running ones.

            The data are shifted by ``K``, the first chunk's mean, so that the running mean
            stays small and keeps its low bits: ``mean(x) = K + mean``. A chunk's own M2 is
            computed two-pass from its registers, so no sum of squares ever cancels.
            """
            if (st, "m2") in new_acc:
                return
            clone_cone([st.x])
            x = self._to(m(st.x), st.dtype, add)
            k, mean, m2 = (accs[(st, role)] for role in _Stat.ROLES)
            n_a, n_b, n_ab, first = chunk_counts(st.dtype)
            keep = st.keep_dims
            y = add(t.BinaryOp("sub", x, add(t.ReshapeOp(k, keep)) if st.dims else k))
            mu = add(t.BinaryOp("div", add(t.ReduceOp("sum", y, st.axis)), n_b))
            e = add(t.BinaryOp("sub", y, add(t.ReshapeOp(mu, keep)) if st.dims else mu))
            m2_b = add(t.ReduceOp("sum", add(t.BinaryOp("mul", e, e)), st.axis))
            delta = add(t.BinaryOp("sub", mu, mean))
            frac = add(t.BinaryOp("div", n_b, n_ab))
            mean = add(t.BinaryOp("add", mean, add(t.BinaryOp("mul", delta, frac))))
            weight = add(t.BinaryOp("div", add(t.BinaryOp("mul", n_a, n_b)), n_ab))
            m2 = add(t.BinaryOp("add", m2, m2_b))
            m2 = add(
                t.BinaryOp(
                    "add", m2, add(t.BinaryOp("mul", add(t.BinaryOp("mul", delta, delta)), weight))
                )
            )
            zero = add(t.ConstantOp(FloatAttr(0.0, st.dtype)))  # type: ignore[arg-type]
            new_acc[(st, "shift")] = add(t.SelectOp(first, mean, k))  # first chunk: K = its mean
            new_acc[(st, "mean")] = add(t.SelectOp(first, zero, mean))
            new_acc[(st, "m2")] = m2

        for r in g.roots:
            op = r.op
            if r.wx is not None or r in via:
                assert isinstance(op, t.ReduceOp)
                welford_step(stats[r.wx if r.wx is not None else op.operand])
                continue
            if isinstance(op, t.StoreOp):
                clone_cone(self.root_inputs(op))
                kinds, idx = self._chunk_indexing(
                    op.tensor.type, op.kinds, [m(i) for i in op.indices], tile_arg
                )
                mask = m(op.mask) if op.mask is not None else None
                st = t.StoreOp(m(op.value), op.tensor, kinds, idx, mask)
                st.attributes.update(op.attributes)
                self._take_chunk_mode(st)
                body.add_op(st)
                continue
            assert isinstance(op, t.ReduceOp)
            kind = op.kind.data
            keep = op.keepdim is not None
            if r.pair is not None:
                assert r.sub is not None
                clone_cone([r.sub.lhs])
                m_old, m_safe = maxes[r.pair]
                mm = m_safe
                chain: list[t.ReshapeOp] = []
                v = r.sub.rhs
                while isinstance(v.owner, t.ReshapeOp):
                    chain.append(v.owner)
                    v = v.owner.operand
                for rs in reversed(chain):
                    mm = add(t.ReshapeOp(mm, [d.data for d in rs.shape.data]))
                diff = add(t.BinaryOp("sub", m(r.sub.lhs), mm))
                w = add(t.UnaryOp("exp", diff))
                part = add(t.ReduceOp("sum", self._widen(w, "sum", add), op.axis, keep))
                acc = accs[(r, "acc")]
                acc_t = t.block_of(acc).element_type
                a_old, a_new = m_old, m_safe
                if t.block_of(a_old).element_type != acc_t:
                    a_old = add(t.CastOp(a_old, acc_t))
                    a_new = add(t.CastOp(a_new, acc_t))
                alpha = add(t.UnaryOp("exp", add(t.BinaryOp("sub", a_old, a_new))))
                res_dims = t.block_of(op.result).dims
                if t.block_of(alpha).dims != res_dims:
                    alpha = add(t.ReshapeOp(alpha, res_dims))
                part = self._to(part, acc_t, add)
                new_acc[(r, "acc")] = add(
                    t.BinaryOp("add", add(t.BinaryOp("mul", acc, alpha)), part)
                )
                continue
            clone_cone([op.operand])
            x = m(op.operand)
            if kind in ("argmax", "argmin"):
                base = "max" if kind == "argmax" else "min"
                elt = t.block_of(x).element_type
                if t.is_float(elt):
                    # torch: a NaN beats everything and the first one wins. The chunk's value
                    # is NaN when it holds one (max over NaN -> neutral, plus a sum that is NaN
                    # or 0); its index is its first NaN (the backend's argmax); a chunk with a
                    # NaN replaces the running best unless that is already a NaN.
                    isnan = add(t.BinaryOp("ne", x, x))
                    finite = add(t.SelectOp(isnan, add(_neutral(base, elt)), x))
                    nans = add(t.SelectOp(isnan, x, add(t.ConstantOp(FloatAttr(0.0, elt)))))
                    val = add(
                        t.BinaryOp(
                            "add",
                            add(t.ReduceOp(base, finite, op.axis, keep)),
                            add(t.ReduceOp("sum", nans, op.axis, keep)),
                        )
                    )
                else:
                    val = add(t.ReduceOp(base, x, op.axis, keep))
                idx = add(t.ReduceOp(kind, x, op.axis, keep))
                idx = add(t.BinaryOp("add", idx, add(t.TileAttrOp(tile_arg, "begin"))))
                best_v, best_i = accs[(r, "value")], accs[(r, "index")]
                better = add(t.BinaryOp("gt" if kind == "argmax" else "lt", val, best_v))
                if t.is_float(elt):
                    first_nan = add(
                        t.BinaryOp(
                            "and",
                            add(t.BinaryOp("ne", val, val)),
                            add(t.BinaryOp("eq", best_v, best_v)),
                        )
                    )
                    better = add(t.BinaryOp("or", better, first_nan))
                new_acc[(r, "index")] = add(t.SelectOp(better, idx, best_i))
                new_acc[(r, "value")] = add(t.SelectOp(better, val, best_v))
                continue
            acc = accs[(r, "acc")]
            acc_t = t.block_of(acc).element_type
            part = add(t.ReduceOp(kind, self._widen(x, kind, add), op.axis, keep))
            part = self._to(part, acc_t, add)
            combine = {"sum": "add", "max": "maximum", "min": "minimum"}[kind]
            new = add(t.BinaryOp(combine, acc, part))
            new_acc[(r, "acc")] = new
            if kind == "max" and any(q.pair is op for q in g.roots):
                # exp(m_old - m_new) must not see -inf - -inf: rows whose max is still -inf
                # rescale against 0 instead (their sums are 0 so far).
                neg_inf = add(_neutral("max", acc_t))
                is_inf = add(t.BinaryOp("eq", new, neg_inf))
                zero = add(t.ConstantOp(FloatAttr(0.0, acc_t)))
                maxes[op] = (acc, add(t.SelectOp(is_inf, zero, new)))

        body.add_op(t.YieldOp([new_acc[s] for s in slots]))
        # Replace the roots' results with the loop's.
        results = dict(zip(slots, loop.res))
        for r in g.roots:
            if not isinstance(r.op, t.ReduceOp):
                continue
            if r.wx is not None or r in via:
                self._welford_result(r, stats, results, ub)
                continue
            kind = r.op.kind.data
            final = results[(r, "index" if kind in ("argmax", "argmin") else "acc")]
            want = t.block_of(r.op.result).element_type
            if t.block_of(final).element_type != want:
                cast = t.CastOp(final, want)
                cast.attributes.update(loc)
                outer.insert_op_after(cast, loop)
                t.refine_result_type(cast)
                final = cast.result
            r.op.results[0].replace_all_uses_with(final)

    def _welford_result(
        self,
        r: _Root,
        stats: dict[SSAValue, _Stat],
        results: dict[tuple[_Root | _Stat, str], SSAValue],
        ub: SSAValue,
    ) -> None:
        """After the loop, just before the root: ``sum(x) = n * (K + mean)``, or
        ``sum((x - c)**2) = M2 + n * ((K - c) + mean)**2``."""
        op = r.op
        assert isinstance(op, t.ReduceOp)
        st = stats[r.wx if r.wx is not None else op.operand]
        k, mean, m2 = (results[(st, role)] for role in _Stat.ROLES)

        def add(new: Operation) -> SSAValue:
            new.attributes.update(op.attributes)  # the root's source line
            return self._new(new, self.block, op).results[0]

        n = add(t.CastOp(ub, st.dtype))
        if r.wx is None:
            value = add(t.BinaryOp("mul", add(t.BinaryOp("add", k, mean)), n))
        else:
            c = r.center
            assert c is not None
            cty = t.block_of(c)
            if cty.rank:
                c = add(t.ReshapeOp(c, [d for i, d in enumerate(cty.dims) if i != st.axis]))
            dm = add(t.BinaryOp("add", add(t.BinaryOp("sub", k, c)), mean))
            value = add(
                t.BinaryOp("add", m2, add(t.BinaryOp("mul", add(t.BinaryOp("mul", dm, dm)), n)))
            )
        want = t.block_of(op.result)
        if t.block_of(value).dims != want.dims:
            value = add(t.ReshapeOp(value, want.dims))
        if t.block_of(value).element_type != want.element_type:
            value = add(t.CastOp(value, want.element_type))
        op.result.replace_all_uses_with(value)

    def _widen(self, x: SSAValue, kind: str, add) -> SSAValue:  # noqa: ANN001
        if kind == "sum" and t.block_of(x).element_type in _HALF:
            return add(t.CastOp(x, t.f32))
        return x

    def _to(self, v: SSAValue, dtype: Attribute, add) -> SSAValue:  # noqa: ANN001
        if t.block_of(v).element_type != dtype:
            return add(t.CastOp(v, dtype))
        return v

    def _chunk_indexing(
        self,
        tensor_type: Attribute,
        kinds: Sequence[str],
        indices: Sequence[SSAValue],
        tile_arg: SSAValue,
    ) -> tuple[list[str], list[SSAValue]]:
        assert isinstance(tensor_type, t.TensorType)
        it = iter(indices)
        new_kinds: list[str] = []
        new_idx: list[SSAValue] = []
        for k, size in zip(kinds, tensor_type.dims):
            if k == "full":
                if size == self.dim:
                    new_kinds.append("tile")
                    new_idx.append(tile_arg)
                else:
                    new_kinds.append("full")
                continue
            new_kinds.append(k)
            new_idx.append(next(it))
        return new_kinds, new_idx

    def _clone_chunked(
        self, op: Operation, vmap: dict[SSAValue, SSAValue], tile_arg: SSAValue, body: Block
    ) -> SSAValue:
        """``op`` with the dim replaced by the chunk symbol, appended to ``body``."""
        operands = [vmap.get(v, v) for v in op.operands]
        props = dict(op.properties)
        if isinstance(op, t.LoadOp):
            n = len(op.indices)
            kinds, idx = self._chunk_indexing(
                op.tensor.type, op.kinds, operands[1 : 1 + n], tile_arg
            )
            mask = operands[1 + n :]
            operands = [operands[0], *idx, *mask]
            props["index_kinds"] = _kinds_attr(kinds)
            props["operandSegmentSizes"] = t.operand_segments([1, len(idx), len(mask)])
        elif isinstance(op, (t.ReshapeOp, t.FullOp)):
            props["shape"] = t.dims_attr(
                [self.csym if d.data == self.dim else d.data for d in op.shape.data]
            )
        new = type(op).create(
            operands=operands,
            result_types=[_sub(r.type, self.dim, self.csym) for r in op.results],
            properties=props,
            attributes=dict(op.attributes),
        )
        for a, b in zip(op.results, new.results):
            b.name_hint = a.name_hint
        if isinstance(new, t.LoadOp):
            self._take_chunk_mode(new)
        body.add_op(new)
        return new.results[0]

    def _take_chunk_mode(self, op: Operation) -> None:
        """A re-issued load or store takes the indexing mode its source carries for this
        loop in ``CHUNK_MODES``, when it carries one (else it keeps the source's mode)."""
        per_dim = op.attributes.pop(CHUNK_MODES, None)
        if not isinstance(per_dim, DictionaryAttr):
            return
        modes = per_dim.data.get(self.dim)
        if not isinstance(modes, ArrayAttr) or self.ordinal >= len(modes.data):
            return
        mode = modes.data[self.ordinal]
        if not isinstance(mode, StringAttr) or mode.data == "pointer":
            op.attributes.pop(INDEXING_ATTR, None)
        else:
            op.attributes[INDEXING_ATTR] = mode


@dataclass(eq=False)
class _Stat:
    """Running Welford statistics of one dim-valued ``x`` in a chunk loop: the shift ``K`` (the
    first chunk's mean), the mean of ``x - K`` and the sum of squared deviations ``M2``; all
    of ``x``'s dims but the reduced one, in ``dtype`` (float32 for half ``x``)."""

    ROLES = ("shift", "mean", "m2")

    x: SSAValue
    axis: int
    dtype: Attribute

    @property
    def dims(self) -> list[str]:
        return [d for i, d in enumerate(t.block_of(self.x).dims) if i != self.axis]

    @property
    def keep_dims(self) -> list[str]:
        return ["1" if i == self.axis else d for i, d in enumerate(t.block_of(self.x).dims)]


def _is_two(v: SSAValue) -> bool:
    c = v.owner
    if isinstance(c, t.ConstantOp) and isinstance(c.value, (IntegerAttr, FloatAttr)):
        return float(c.value.value.data) == 2.0
    return False


def _kinds_attr(kinds: Sequence[str]) -> Attribute:
    return ArrayAttr([StringAttr(k) for k in kinds])


def _acc_dtype(kind: str, dtype: Attribute) -> Attribute:
    return t.f32 if kind == "sum" and dtype in _HALF else dtype


def _neutral(kind: str, dtype: Attribute) -> t.ConstantOp:
    if t.is_float(dtype):
        value = {"sum": 0.0, "max": float("-inf"), "min": float("inf")}[kind]
        return t.ConstantOp(FloatAttr(value, dtype))  # type: ignore[arg-type]
    if kind == "sum":
        return t.ConstantOp(IntegerAttr(0, dtype))  # type: ignore[arg-type]
    if t.is_bool(dtype):
        raise _Unsupported("max/min of booleans")
    assert isinstance(dtype, t.IntegerType)
    bits = dtype.width.data
    signed = dtype.signedness.data != t.Signedness.UNSIGNED
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    return t.ConstantOp(IntegerAttr(lo if kind == "max" else hi, dtype))
