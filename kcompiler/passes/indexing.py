"""indexing: choose how each load and store addresses memory (Helion's ``Config.indexing``).

Modes, per ``tile.load`` / ``tile.store`` in program order (walk order of the traced IR):

* ``pointer``: pointer arithmetic plus masks; always legal;
* ``block_ptr``: ``tl.make_block_ptr`` + ``boundary_check`` (Triton <= 3.6; 3.9 removed it);
* ``tensor_descriptor``: ``tl.make_tensor_descriptor`` (TMA on Hopper and later).

The pass records the choice as an ``indexing`` attribute on each load/store (none for
``pointer``); ``split-reductions`` copies it onto the loads and stores it re-issues, so it runs
first (``runs_before``). A choice the IR makes illegal is recorded as ``pointer``:

    tile.load %x[%i] ["tile", "full"] {indexing = "tensor_descriptor"} : ...

IR-level legality (``legal_modes``), the part that does not depend on the arguments:

* every index is a ``tile`` or ``full`` one (a gather or a scalar index is pointer-only);
* each ``tile`` index comes from a plain (non-jagged) ``tile.for`` whose upper bound is the
  tensor's own size in that dim, so the descriptor's bounds are the loop's mask;
* the element type has a width (no ``i1``) and the tensor has rank 1..5;
* for ``tensor_descriptor`` also: the last dim's block covers >= 16 bytes when that is known
  from the IR (a static or whole-dim block), and a tile of the last dim starts at 0 (so block
  offsets stay 16-byte aligned).

What depends on the arguments (last-dim stride 1, no stride-0 dim, 16-byte aligned base and
strides) is checked by the Triton launcher at run time, which falls back to the pointer version
of the kernel; the first two are part of the specialization (``refused_args``), so the config
space offers no descriptor on such a tensor; what depends on block sizes (a tiled last dim's
16 bytes) is a constraint of the config space.

Options: ``indexing{modes=pointer,tensor_descriptor split=s1}``. ``modes`` is read in one of
three numberings (``check_count``):

* one mode per load/store in program order (missing entries are ``pointer``);
* a single mode, or a longer list of one mode: that mode for every access;
* a list exactly as long as Helion numbers the kernel (its accesses plus those of its rolled
  reduction loops, see "Helion's numbering" below): each access of the generated kernel
  takes the entry Helion's generated kernel gives the same access. ``split`` names the dims
  ``split-reductions`` chunks in this pipeline, which decides the form generated: a chunked
  loop body's accesses carry the entry of each of their copies (``indexing_chunks``, one
  mode per chunk loop, consumed by ``split-reductions``). Where kcompiler issues once what
  Helion issues in several passes (softmax's online max/sum loop), the copy takes the
  earliest pass's entry, and a ``MergedIndexing`` warning names entries that differ.

A longer list of different modes of any other length is an ``InvalidConfig`` naming each
access and its source line. Modes only choose how an access addresses memory: every mapping
computes the same values.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from xdsl.context import Context
from xdsl.dialects.builtin import ArrayAttr, DictionaryAttr, ModuleOp, StringAttr
from xdsl.ir import Attribute, Block, BlockArgument, Operation, OpResult, SSAValue
from xdsl.passes import ModulePass

from kcompiler.dialects import tile as t
from kcompiler.dialects.tile import next_pow2
from kcompiler.exc import InvalidConfig, MergedIndexing
from kcompiler.passes.split_reductions import CHUNK_MODES, INDEXING_ATTR, ChunkLoop, chunk_loops

INDEXING_MODES = ("pointer", "block_ptr", "tensor_descriptor")
TMA_MIN_BYTES = 16


def normalize_indexing(value: Any) -> tuple[str, ...]:
    """``Config.indexing`` (None, a mode, or a list of modes) as a tuple of checked modes."""
    if value is None:
        return ()
    modes = (value,) if isinstance(value, str) else tuple(value)
    for i, m in enumerate(modes):
        if m not in INDEXING_MODES:
            where = "indexing" if isinstance(value, str) else f"indexing[{i}]"
            raise InvalidConfig(f"{where} = {m!r}: expected one of {', '.join(INDEXING_MODES)}")
    return modes


def memory_ops(module: Operation) -> list[t.LoadOp | t.StoreOp]:
    """Every load and store, in program order: ``Config.indexing[i]`` is the i-th."""
    return [op for op in module.walk() if isinstance(op, (t.LoadOp, t.StoreOp))]


_BYTES = {
    t.f16: 2,
    t.bf16: 2,
    t.f32: 4,
    t.f64: 8,
    t.i8: 1,
    t.u8: 1,
    t.i16: 2,
    t.i32: 4,
    t.f8e4m3: 1,
    t.f8e5m2: 1,
}


def element_bytes(dtype: Attribute) -> int | None:
    """Bytes of one element; None for i1 (bool tensors stay on pointers)."""
    from xdsl.dialects.builtin import i64

    if dtype == i64:
        return 8
    return _BYTES.get(dtype)  # type: ignore[call-overload]


def loop_of(tile: SSAValue) -> t.ForOp | None:
    """The ``tile.for`` whose induction tile ``tile`` is, if it is one."""
    if not isinstance(tile, BlockArgument) or tile.index != 0:
        return None
    parent = tile.block.parent_op()
    return parent if isinstance(parent, t.ForOp) else None


def _is_const(v: SSAValue, value: int) -> bool:
    owner = v.owner
    if not isinstance(owner, t.ConstantOp):
        return False
    data = owner.value.value.data  # type: ignore[union-attr]
    return not isinstance(data, float) and int(data) == value


def _bound_is(v: SSAValue, size: str) -> bool:
    """Whether the loop bound ``v`` is the tensor size ``size`` (a symbol or a literal)."""
    owner = v.owner
    if isinstance(owner, t.SizeOp):
        return owner.sym.data == size
    return size.isdigit() and _is_const(v, int(size))


def _hints(op: Operation) -> dict[str, int]:
    parent = op.parent_op()
    while parent is not None and not isinstance(parent, t.KernelOp):
        parent = parent.parent_op()
    return parent.size_hints if parent is not None else {}


@dataclass(frozen=True)
class Site:
    """One load or store and what its indexing may be."""

    index: int  # position in program order (Config.indexing[index])
    op: t.LoadOp | t.StoreOp
    tensor: str  # the kernel argument's name ('' when not an argument)
    modes: tuple[str, ...]  # legal by the IR; always starts with 'pointer'
    elem_bytes: int | None
    last_block: str | None  # block symbol tiling the last dim (its size is a knob), else None
    last_elements: int | None  # elements of the last dim's block when fixed by the IR

    def last_dim_bytes_ok(self, block_sizes: dict[str, int]) -> bool | None:
        """Whether the descriptor's last dim covers 16 bytes; None when unknown."""
        if self.elem_bytes is None:
            return False
        n = self.last_elements
        if n is None and self.last_block is not None:
            n = block_sizes.get(self.last_block)
        if n is None:
            return None
        return n * self.elem_bytes >= TMA_MIN_BYTES


def _loc(op: Operation) -> str:
    """The kernel source line an op was traced from (``file.py:12``), or ''."""
    loc = op.attributes.get("loc")
    return loc.data if isinstance(loc, StringAttr) else ""


def _tensor_name(op: t.LoadOp | t.StoreOp) -> str:
    arg = op.tensor
    if isinstance(arg, BlockArgument):
        kernel = arg.block.parent_op()
        if isinstance(kernel, t.KernelOp) and arg.index < len(kernel.names):
            return kernel.names[arg.index]
    return ""


def site(op: t.LoadOp | t.StoreOp, index: int = 0) -> Site:
    """The IR-level legality of ``op``'s indexing modes (see the module docstring)."""
    ty = op.tensor.type
    assert isinstance(ty, t.TensorType)
    esz = element_bytes(ty.element_type)
    name = _tensor_name(op)
    rank = len(ty.dims)
    pointer_only = Site(index, op, name, ("pointer",), esz, None, None)
    if not 1 <= rank <= 5 or esz is None or any(k not in ("tile", "full") for k in op.kinds):
        return pointer_only
    descriptor = True
    last_block: str | None = None
    last_elements: int | None = None
    indices = iter(op.indices)
    for d, (kind, size) in enumerate(zip(op.kinds, ty.dims)):
        last = d == rank - 1
        if kind == "full":
            if last:
                if size.isdigit():
                    last_elements = next_pow2(int(size))
                elif size in _hints(op):
                    last_elements = next_pow2(_hints(op)[size])
            continue
        loop = loop_of(next(indices))
        if loop is None or loop.kind.data != "tile" or not _bound_is(loop.ub, size):
            return pointer_only
        if last:
            if not _is_const(loop.lb, 0):
                descriptor = False
            blk = loop.block.data
            if blk.isdigit():
                last_elements = int(blk)
            else:
                last_block = blk
    if last_elements is not None and last_elements * esz < TMA_MIN_BYTES:
        descriptor = False
    modes = ("pointer", "block_ptr") + (("tensor_descriptor",) if descriptor else ())
    return Site(index, op, name, modes, esz, last_block, last_elements)


def sites(module: Operation) -> list[Site]:
    """Every load/store of ``module`` with its legal modes, in program order."""
    return [site(op, i) for i, op in enumerate(memory_ops(module))]


def refused_args(module: Operation) -> frozenset[str]:
    """The tensor arguments whose layout the launcher's descriptor guard refuses: a stride-0
    dim or a last stride other than 1 (``tile.kernel``'s ``broadcast_args`` and
    ``strided_args``, recorded by the tracer as part of the specialization). A launch with a
    tensor descriptor on one of them runs the kernel's pointer version for all accesses, so
    ``tensor_descriptor`` on such an access is the all-pointer config again."""
    out: set[str] = set()
    for k in module.walk():
        if isinstance(k, t.KernelOp):
            out.update(k.broadcast_args, k.strided_args)
    return frozenset(out)


def mode_of(op: Operation) -> str:
    """The mode the ``indexing`` pass recorded on a load/store (``pointer`` if none)."""
    attr = op.attributes.get(INDEXING_ATTR)
    return attr.data if isinstance(attr, StringAttr) else "pointer"


# -- Helion's numbering --------------------------------------------------------------------
#
# How a ``Config.indexing`` list written for Helion numbers a kernel's loads and stores.
#
# Helion sizes the list over every device graph it holds after tracing (``config_spec.indexing``
# has one entry per ``memory_op_facts`` record): first the kernel's own graphs, each load and
# store once, then, for each reduction dim its roller can roll into a loop, the graphs of that
# rolled form. The roller cuts a loop body into *passes*, each a loop over chunks of the dim: a
# pass ends where an op needs a reduction the pass computes, and the next pass re-issues the
# loads whose values are still needed. Softmax's list therefore has 2 + 4 entries: ``load x,
# store out``, then ``load x`` (max pass), ``load x`` (sum pass), ``load x, store out``.
#
# Helion's Triton codegen reads the list in the order of the code it emits: entry ``i`` goes to
# the ``i``-th load/store of the generated kernel (one counter over the kernel, in execution
# order). The persistent form takes entries ``0 .. n-1``; a rolled loop body takes its passes'
# accesses in place of its own, numbered from where the body starts, so a rolled softmax reads
# entries ``0 .. 3`` and the list's tail only fixes its length. (Helion's autotuner facts and
# tensor-descriptor guards describe the rolled accesses as entries ``n ..``; its generated code,
# which is what a tuned list was measured with, does not. This pass follows the generated
# code.)
#
# The roller is modelled on the tile IR of one loop body and one dim ``s``: an op is *inner* when
# it yields an ``s``-valued block, is a reduction over ``s``, or stores an ``s``-valued block;
# an inner op that reads a reduction of the current pass, an outer op that reads any value of
# it, an outer store or loop while the pass holds ops, and the end of the body close the pass;
# the closed pass's ops still used by ops not yet reached are re-issued at the start of the
# next one. What the model does not cover (a nested region using ``s``, ``s`` twice in a value,
# a ``dot`` over ``s``, which Helion keeps persistent) makes the numbering unknown (None).

Access = t.LoadOp | t.StoreOp


@dataclass(frozen=True)
class RolledPass:
    """One loop of Helion's rolled form: its loads and stores in order, and its roots (the
    reductions over the dim it computes and the stores it makes)."""

    accesses: tuple[Access, ...]
    roots: frozenset[Operation]


Step = Operation | RolledPass  # an op left outside the passes, or a pass


def _has(v: SSAValue, dim: str) -> bool:
    ty = v.type
    return isinstance(ty, t.BlockType) and ty.known and dim in ty.dims


def _is_reduction(op: Operation, dim: str) -> bool:
    if not isinstance(op, t.ReduceOp) or not _has(op.operand, dim):
        return False
    dims = t.block_of(op.operand).dims
    return 0 <= op.axis < len(dims) and dims[op.axis] == dim


def _is_inner(op: Operation, dim: str) -> bool:
    if _is_reduction(op, dim):
        return True
    if isinstance(op, t.StoreOp):
        return _has(op.value, dim)
    return any(_has(r, dim) for r in op.results)


def _top(op: Operation, block: Block) -> Operation | None:
    """``op`` or its ancestor that sits directly in ``block``."""
    cur: Operation | None = op
    while cur is not None and cur.parent_block() is not block:
        cur = cur.parent_op()
    return cur


def _nested_uses(op: Operation, dim: str) -> bool:
    return any(_has(v, dim) for region in op.regions for o in region.walk() for v in o.operands)


def rolled_form(block: Block, dim: str) -> list[Step] | None:
    """Helion's rolled form of the loop body ``block`` for ``dim``: the ops left outside the
    passes and the passes, in execution order; None where the model does not apply."""
    local = set(block.ops)
    available: set[SSAValue] = set()
    inner_available: set[SSAValue] = set()
    current: list[Operation] = []
    nontrivial = 0
    seen: set[Operation] = set()
    steps: list[Step] = []

    def ready(v: SSAValue, inner: bool) -> bool:
        if not (isinstance(v, OpResult) and v.op in local):
            return True  # an argument or a value of an enclosing block
        return v in available or (inner and v in inner_available)

    def close() -> None:
        nonlocal current, nontrivial
        if nontrivial == 0:
            return
        accesses = tuple(o for o in current if isinstance(o, (t.LoadOp, t.StoreOp)))
        roots = frozenset(o for o in current if _is_reduction(o, dim) or isinstance(o, t.StoreOp))
        steps.append(RolledPass(accesses, roots))
        for o in current:
            available.update(o.results)
        old, old_set = current, set(current)
        current, nontrivial = [], 0
        inner_available.clear()
        again: set[Operation] = set()

        def readd(o: Operation) -> None:
            if o not in old_set or o in again or _is_reduction(o, dim):
                return
            for v in o.operands:
                if isinstance(v, OpResult):
                    readd(v.op)
            again.add(o)
            current.append(o)

        for o in old:
            users = {_top(u.operation, block) for r in o.results for u in r.uses}
            if users - seen:
                readd(o)

    for op in block.ops:
        if isinstance(op, t.YieldOp):
            close()
            seen.add(op)
            continue
        if op.regions and _nested_uses(op, dim):
            return None
        if _is_inner(op, dim):
            if isinstance(op, t.DotOp):
                return None
            if any(list(t.block_of(r).dims).count(dim) > 1 for r in op.results if _has(r, dim)):
                return None
            if not all(ready(v, True) for v in op.operands):
                close()
            current.append(op)
            nontrivial += 1
            if not _is_reduction(op, dim):
                inner_available.update(op.results)
        else:
            impure = isinstance(op, (t.StoreOp, t.AtomicOp)) or bool(op.regions)
            if not all(ready(v, False) for v in op.operands) or (impure and nontrivial):
                close()
            steps.append(op)
            available.update(op.results)
        seen.add(op)
    close()
    return steps


def rolled_dims(kernel: Operation) -> list[str]:
    """Helion's reduction dims of ``kernel``, in first-use order: the whole dims (not a loop's
    block) that a load or store takes with a full slice or that a reduction reduces."""
    blocks = {op.block.data for op in kernel.walk() if isinstance(op, t.ForOp)}
    out: list[str] = []

    def add(d: str) -> None:
        if d != "1" and d not in blocks and d not in out:
            out.append(d)

    for op in kernel.walk():
        if isinstance(op, (t.LoadOp, t.StoreOp)):
            ty = op.tensor.type
            if isinstance(ty, t.TensorType):
                for kind, d in zip(op.kinds, ty.dims):
                    if kind == "full":
                        add(d)
        elif isinstance(op, t.ReduceOp) and isinstance(op.operand.type, t.BlockType):
            ty = op.operand.type
            if ty.known and 0 <= op.axis < ty.rank:
                add(ty.dims[op.axis])
    return out


def _bodies(kernel: Operation) -> list[Block]:
    return [op.body.block for op in kernel.walk() if isinstance(op, t.ForOp)]


def _uses(block: Block, dim: str) -> bool:
    return any(_is_inner(op, dim) for op in block.ops)


def rolled_forms(kernel: Operation) -> list[tuple[str, Block, list[Step]]] | None:
    """Every (dim, loop body, rolled form) Helion numbers, in its order: dims first-use
    first, then loop bodies in program order; None where the model does not apply."""
    out: list[tuple[str, Block, list[Step]]] = []
    for dim in rolled_dims(kernel):
        for block in _bodies(kernel):
            if not _uses(block, dim):
                continue
            form = rolled_form(block, dim)
            if form is None:
                return None
            out.append((dim, block, form))
    return out


def passes_of(form: Iterable[Step]) -> list[RolledPass]:
    return [s for s in form if isinstance(s, RolledPass)]


def helion_length(kernel: Operation) -> int | None:
    """The length of Helion's list for ``kernel``: its loads and stores plus those of every
    rolled form; None where the model does not apply."""
    forms = rolled_forms(kernel)
    if forms is None:
        return None
    own = sum(1 for op in kernel.walk() if isinstance(op, (t.LoadOp, t.StoreOp)))
    return own + sum(len(p.accesses) for _, _, form in forms for p in passes_of(form))


def generated_order(
    kernel: Operation, rolled: dict[Block, list[Step]]
) -> list[tuple[Access, RolledPass | None]]:
    """The loads and stores of Helion's generated kernel when the bodies in ``rolled`` are
    rolled (each a pass's access, or a source access with None), in execution order: the
    ``i``-th takes ``Config.indexing[i]``."""
    out: list[tuple[Access, RolledPass | None]] = []

    def visit_op(op: Operation) -> None:
        if isinstance(op, (t.LoadOp, t.StoreOp)):
            out.append((op, None))
        for region in op.regions:
            for b in region.blocks:
                visit(b)

    def visit(block: Block) -> None:
        form = rolled.get(block)
        if form is None:
            for op in block.ops:
                visit_op(op)
            return
        for step in form:
            if isinstance(step, RolledPass):
                out.extend((a, step) for a in step.accesses)
            else:
                visit_op(step)

    for region in kernel.regions:
        for b in region.blocks:
            visit(b)
    return out


@dataclass(frozen=True)
class IndexingPass(ModulePass):
    name = "indexing"
    requires: ClassVar[tuple[str, ...]] = ("shape-inference",)
    runs_before: ClassVar[tuple[str, ...]] = ("split-reductions",)

    modes: tuple[str, ...] = ()
    # The dims split-reductions chunks in this pipeline: with a list numbered Helion's way,
    # which form (whole or chunked) each loop body takes picks the entries its accesses read.
    split: tuple[str, ...] = ()

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        modes = normalize_indexing(self.modes)
        for kernel in op.ops:
            if isinstance(kernel, t.KernelOp):
                stamp_kernel(kernel, modes, self.split)


def stamp_kernel(kernel: t.KernelOp, modes: Sequence[str], split: Sequence[str] = ()) -> None:
    """Record ``modes`` (checked, as ``normalize_indexing`` gives them) on ``kernel``'s loads
    and stores (``IndexingPass``)."""
    ops = memory_ops(kernel)
    if check_count(kernel, ops, modes) == "helion":
        _apply_helion(kernel, ops, modes, split)
        return
    uniform = len(modes) == 1 or len(modes) > len(ops)  # one mode (check_count)
    for i, mem in enumerate(ops):
        _stamp(mem, modes[0] if uniform else (modes[i] if i < len(modes) else "pointer"))


def _legal(mem: t.LoadOp | t.StoreOp, mode: str) -> str:
    return mode if mode in site(mem).modes else "pointer"


def _stamp(mem: t.LoadOp | t.StoreOp, mode: str) -> None:
    mode = _legal(mem, mode)
    if mode == "pointer":
        mem.attributes.pop(INDEXING_ATTR, None)
    else:
        mem.attributes[INDEXING_ATTR] = StringAttr(mode)


def _describe(mem: t.LoadOp | t.StoreOp) -> str:
    kind = "load" if isinstance(mem, t.LoadOp) else "store"
    return f"{kind} {_tensor_name(mem) or '?'}" + (f" ({_loc(mem)})" if _loc(mem) else "")


def _apply_helion(
    kernel: t.KernelOp,
    ops: Sequence[t.LoadOp | t.StoreOp],
    modes: Sequence[str],
    split: Sequence[str],
) -> None:
    """Stamp a list numbered Helion's way ("Helion's numbering"): each access takes the entry
    Helion's generated code gives it in the form kcompiler generates. A loop body
    split-reductions chunks (a dim of ``split``) is rolled: its accesses carry, per chunk
    loop, the entry of their copy in Helion's pass computing the same roots
    (``split_reductions.CHUNK_MODES``), and keep their source entry for the whole form."""
    forms = rolled_forms(kernel) or []
    rolled: dict[Block, list[Step]] = {}
    loops_of: dict[Block, tuple[str, list[ChunkLoop]]] = {}
    for dim, block, form in forms:
        parent = block.parent_op()
        if dim not in split or block in rolled or not isinstance(parent, t.ForOp):
            continue
        loops = chunk_loops(block, dim) if parent.parallel is not None else None
        if loops is not None:
            rolled[block] = form
            loops_of[block] = (dim, loops)
    order = generated_order(kernel, rolled)
    entry = {(a, p): i for i, (a, p) in enumerate(order)}
    for i, mem in enumerate(ops):
        # An access the generated code keeps in place takes its entry there; one that a rolled
        # body re-issues keeps its source entry for the whole form (which split-reductions
        # still generates where its rewrite gives up).
        _stamp(mem, modes[entry.get((mem, None), i)])
    for block, (dim, loops) in loops_of.items():
        pass_of = {r: p for p in passes_of(rolled[block]) for r in p.roots}
        per_loop: dict[t.LoadOp | t.StoreOp, list[str]] = {}
        for k, loop in enumerate(loops):
            picks: dict[t.LoadOp | t.StoreOp, set[int]] = {}
            for root, accesses in zip(loop.roots, loop.accesses):
                p = pass_of.get(root)
                for mem in accesses:
                    got = picks.setdefault(mem, set())
                    if p is not None and (mem, p) in entry:
                        got.add(entry[(mem, p)])
            for mem, got in picks.items():
                per_loop.setdefault(mem, [""] * len(loops))[k] = _merge(mem, k, sorted(got), modes)
        for mem, chosen in per_loop.items():
            fallback = mode_of(mem)
            mem.attributes[CHUNK_MODES] = DictionaryAttr(
                {dim: ArrayAttr([StringAttr(_legal(mem, m or fallback)) for m in chosen])}
            )


def _merge(mem: t.LoadOp | t.StoreOp, loop: int, picks: Sequence[int], modes: Sequence[str]) -> str:
    """One mode for a copy that stands for several of Helion's (kcompiler computes the roots
    of several Helion passes in one loop, e.g. softmax's max and sum): the entry of the
    earliest pass, where the chunk loop starts; a warning names entries that differ."""
    if not picks:
        return ""
    taken = {modes[i] for i in picks}
    if len(taken) > 1:
        warnings.warn(
            f"{_describe(mem)}: indexing entries {list(picks)} "
            f"({', '.join(modes[i] for i in picks)}) number Helion's copies of one access "
            f"that kcompiler's chunk loop {loop} issues once; it takes entry {picks[0]} "
            f"({modes[picks[0]]})",
            MergedIndexing,
            stacklevel=2,
        )
    return modes[picks[0]]


def check_count(
    kernel: t.KernelOp, ops: Sequence[t.LoadOp | t.StoreOp], modes: Sequence[str]
) -> str:
    """How ``modes`` numbers ``kernel``'s accesses: ``source`` (one per load/store in program
    order, missing ones ``pointer``), ``uniform`` (one mode, or a longer list of one mode:
    that mode for every access however they are numbered) or ``helion`` (Helion's numbering,
    which also counts the accesses of its rolled reduction loops: "Helion's numbering").
    A longer list of different modes of any other length is an ``InvalidConfig``."""
    if len(modes) == 1 or (len(modes) > len(ops) and len(set(modes)) == 1):
        return "uniform"
    if len(modes) <= len(ops):
        return "source"
    helion = helion_length(kernel)
    if helion == len(modes):
        return "helion"
    accesses = ", ".join(_describe(m) for m in ops)
    their = (
        f"; Helion's numbering, which adds the loads/stores of its rolled reduction loops, "
        f"has {helion}"
        if helion is not None and helion != len(ops)
        else ""
    )
    raise InvalidConfig(
        f"indexing has {len(modes)} entries but kernel @{kernel.sym_name.data} "
        f"has {len(ops)} loads/stores ({accesses}){their}: give one mode per load/store "
        "in source order, one mode for all, or a list tuned for Helion for this kernel"
    )


def per_access_modes(
    module: Operation, indexing: Sequence[str] | str | None, split: Sequence[str] = ()
) -> tuple[str, ...]:
    """``Config.indexing`` as one mode per load/store in program order (kcompiler's numbering)
    for estimates that count accesses by their source position: a list numbered Helion's way
    gives each access the widest mode any of its copies takes (``tensor_descriptor`` over
    ``block_ptr`` over ``pointer``), so buffers are not under-counted."""
    modes = normalize_indexing(indexing)
    ops = memory_ops(module)
    if len(modes) <= len(ops) or len(set(modes)) == 1:
        return modes
    work = module.clone()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MergedIndexing)  # the compile says so, once
        for kernel in [k for k in work.walk() if isinstance(k, t.KernelOp)]:
            stamp_kernel(kernel, modes, split)
    out: list[str] = []
    for mem in memory_ops(work):
        taken = {mode_of(mem)}
        chunked = mem.attributes.get(CHUNK_MODES)
        if isinstance(chunked, DictionaryAttr):
            for per_loop in chunked.data.values():
                if isinstance(per_loop, ArrayAttr):
                    taken |= {m.data for m in per_loop.data if isinstance(m, StringAttr)}
        out.append(max(taken, key=INDEXING_MODES.index))
    return tuple(out)


def apply_indexing(
    module: ModuleOp, indexing: Sequence[str] | str | None, split: Sequence[str] = ()
) -> None:
    """Apply ``Config.indexing`` to ``module`` in place (``split``: as ``IndexingPass``)."""
    modes = normalize_indexing(indexing)
    if any(m != "pointer" for m in modes):
        IndexingPass(modes=modes, split=tuple(split)).apply(Context(), module)
