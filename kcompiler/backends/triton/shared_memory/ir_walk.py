"""Questions about where an operation sits in the traced IR, shared by the walks that collect
the estimate's facts: the sequential loops around it, its ``Config.indexing`` position, the
load a dot operand comes from, whether it runs after a dot kernel's loops."""

from __future__ import annotations

from xdsl.dialects.builtin import IntegerAttr
from xdsl.ir import Operation, SSAValue

from kcompiler.dialects import tile as t
from kcompiler.passes.indexing import memory_ops

# Marks each load/store of a clone that ``split-reductions`` rewrites with its position in
# ``Config.indexing`` (the rewrite adds accesses, which would shift the positions).
SITE_ATTR = "kc.site"


def access_positions(module: Operation) -> dict[int, int]:
    """The ``Config.indexing`` position of each load and store of ``module``, by ``id``."""
    return {id(op): i for i, op in enumerate(memory_ops(module))}


def site_of(op: Operation, positions: dict[int, int]) -> int | None:
    """``op``'s ``Config.indexing`` position: its ``SITE_ATTR`` mark, else ``positions``'."""
    attr = op.attributes.get(SITE_ATTR)
    if isinstance(attr, IntegerAttr):
        return int(attr.value.data)
    return positions.get(id(op))


def loaded_from(v: SSAValue) -> t.LoadOp | None:
    """The load a dot operand comes from, through casts and reshapes (None: computed)."""
    op = v.owner
    while isinstance(op, (t.CastOp, t.ReshapeOp)):
        op = op.operand.owner
    return op if isinstance(op, t.LoadOp) else None


def sequential_loops_around(op: Operation) -> list[t.ForOp]:
    """The sequential ``tile.for`` loops around ``op``, innermost first."""
    out: list[t.ForOp] = []
    parent = op.parent_op()
    while parent is not None:
        if isinstance(parent, t.ForOp) and parent.parallel is None:
            out.append(parent)
        parent = parent.parent_op()
    return out


def enclosing_sequential_loop(op: Operation) -> str | None:
    """The block symbol of the innermost loop around ``op`` when it is sequential (None: the
    innermost loop is parallel, or there is none)."""
    parent = op.parent_op()
    while parent is not None:
        if isinstance(parent, t.ForOp):
            return None if parent.parallel is not None else parent.block.data
        parent = parent.parent_op()
    return None


def after_dot_loops(op: Operation) -> bool:
    """Whether ``op`` runs after the sequential loops that hold dots, outside any sequential
    loop: in its block, such a loop comes before it and no sequential loop after it."""

    if sequential_loops_around(op):
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
