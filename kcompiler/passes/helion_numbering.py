"""How a ``Config.indexing`` list written for Helion numbers a kernel's loads and stores.

Helion sizes the list over every device graph it holds after tracing (``config_spec.indexing``
has one entry per ``memory_op_facts`` record): first the kernel's own graphs, each load and
store once, then, for each reduction dim its roller can roll into a loop, the graphs of that
rolled form. The roller cuts a loop body into *passes*, each a loop over chunks of the dim: a
pass ends where an op needs a reduction the pass computes, and the next pass re-issues the
loads whose values are still needed. Softmax's list therefore has 2 + 4 entries: ``load x,
store out``, then ``load x`` (max pass), ``load x`` (sum pass), ``load x, store out``.

Helion's Triton codegen reads the list in the order of the code it emits: entry ``i`` goes to
the ``i``-th load/store of the generated kernel (one counter over the kernel, in execution
order). The persistent form takes entries ``0 .. n-1``; a rolled loop body takes its passes'
accesses in place of its own, numbered from where the body starts, so a rolled softmax reads
entries ``0 .. 3`` and the list's tail only fixes its length. (Helion's autotuner facts and
tensor-descriptor guards describe the rolled accesses as entries ``n ..``; its generated code,
which is what a tuned list was measured with, does not. This module follows the generated
code.)

The roller is modelled on the tile IR of one loop body and one dim ``s``: an op is *inner* when
it yields an ``s``-valued block, is a reduction over ``s``, or stores an ``s``-valued block;
an inner op that reads a reduction of the current pass, an outer op that reads any value of
it, an outer store or loop while the pass holds ops, and the end of the body close the pass;
the closed pass's ops still used by ops not yet reached are re-issued at the start of the
next one. What the model does not cover (a nested region using ``s``, ``s`` twice in a value,
a ``dot`` over ``s``, which Helion keeps persistent) makes the numbering unknown (None).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from xdsl.ir import Block, Operation, OpResult, SSAValue

from kcompiler.dialects import tile as t

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
