"""``torch.stack`` and ``torch.cat`` of blocks in device code.

A register block cannot grow in place, so both build a new value from their operands, in one
of two ways.

Joins, where they fit: ``kl.join`` stacks two equal blocks along a new last dim of size 2 and
a permutation moves that dim to ``dim``; more blocks (a power of two of them) stack as two
stacks of halves, concatenated. ``torch.cat`` is then a stack along ``dim`` whose new dim is
merged with the next one: for ``cat([a, b], 0)`` of ``[n, m]`` blocks, ``stack`` gives ``[2,
n, m]`` (``a`` then ``b``) and a row-major merge gives ``[2n, m]``, torch's order. The merge
is a ``tile.reshape``, legal only where the merged dims carry no padding lanes: the count and
the blocks' size along ``dim`` must be powers of two known when the kernel compiles, and
every block must have the same shape. These generate only joins, permutes and reshapes.

``tile.concat`` otherwise: blocks of unequal sizes along ``dim`` (16 then 32), a count that is
not a power of two (a stack of three is three blocks unsqueezed at ``dim``, concatenated), or
a size that is not a power of two (6 + 6). The result's size along ``dim`` is the static sum,
laid out in its next power of two of lanes with the padding after it (masked wherever the dim
is used, as any static dim's is); the backend gathers each block's lanes into place. Each
block's size along ``dim`` must still be known when the kernel compiles: a static size or one
the specialization fixes, never a tile's block (its last tile may be partial: torch would put
the next block's first element right after the last valid one, a gap only known at run time).
Other dims may be anything, but equal across the blocks, as torch requires.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

from kcompiler.dialects import tile as t
from kcompiler.exc import ShapeMismatch, UnsupportedConstruct
from kcompiler.frontend import dtypes

if TYPE_CHECKING:
    from kcompiler.frontend.tracer import DeviceTracer
    from kcompiler.frontend.values import TileValue


def _blocks(tr: DeviceTracer, tensors: Any, what: str) -> list[TileValue]:
    """The blocks of ``tensors``, of one rank (torch's rule; which dims must agree is the
    caller's), promoted to one dtype as torch.cat/stack promote."""
    if not isinstance(tensors, (list, tuple)) or not tensors:
        raise UnsupportedConstruct(f"{what} takes a non-empty list or tuple of blocks")
    values = [tr.as_value(v) for v in tensors]
    first = values[0]
    for v in values[1:]:
        if v.ndim != first.ndim:
            raise ShapeMismatch(
                f"{what}: shapes {list(first.dims)} and {list(v.dims)} differ in rank"
            )
    dtype = dtypes.to_torch(t.result_dtype([v.type for v in values]))
    return [tr.cast(v, dtype) for v in values]


def _power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def _joinable(values: list[TileValue], axis: int | None) -> bool:
    """Whether the joins build this stack (``axis`` None) or cat along ``axis``: a power of
    two of blocks of one shape, and for a cat a power-of-two size along ``axis`` that the
    compiled code fixes (see the module docstring)."""
    first = values[0]
    if not _power_of_two(len(values)) or any(v.dims != first.dims for v in values):
        return False
    if axis is None or len(values) == 1:
        return True
    fixed = t.fixed_size_symbols(first.value.owner) if first.value.owner else {}
    return _known(first.dims[axis], fixed) is not None


def _concat(tr: DeviceTracer, values: list[TileValue], axis: int, what: str) -> TileValue:
    """``tile.concat`` of ``values`` along ``axis``, its typing errors located."""
    op = t.ConcatOp([v.value for v in values], axis)
    try:
        return tr.emit(op)
    except ShapeMismatch as e:
        # The typing rule names the op; the user wrote torch.cat or torch.stack.
        message = str(e).removeprefix(f"{e.location}: ") if e.location else str(e)
        raise ShapeMismatch(message.replace("concat", what, 1), e.location) from None


def _axis(dim: Any, positions: int, rank: int, what: str) -> int:
    """``dim`` as an index among ``positions`` places (torch's negative dims count back)."""
    if isinstance(dim, bool) or not isinstance(dim, int) or not -positions <= dim < positions:
        raise ShapeMismatch(f"{what}(..., dim={dim!r}) of blocks of rank {rank}")
    return dim % positions


def _known(dim: str, fixed: dict[str, int]) -> int | None:
    """The value of ``dim`` when it is a power of two the compiled code fixes, else None."""
    n = int(dim) if dim.isdigit() else fixed.get(dim)
    return n if n is not None and n > 0 and n & (n - 1) == 0 else None


def _stack_values(tr: DeviceTracer, values: list[TileValue], axis: int) -> TileValue:
    """The blocks of ``values`` (equal shapes, a power of two of them) stacked at ``axis``."""
    if len(values) == 1:
        return tr.unsqueeze(values[0], axis)
    if len(values) == 2:
        a, b = values
        order = list(range(a.ndim))
        order.insert(axis, a.ndim)
        return tr.permute(tr.join(a, b), order)
    half = len(values) // 2
    lo, hi = _stack_values(tr, values[:half], axis), _stack_values(tr, values[half:], axis)
    return _cat_values(tr, [lo, hi], axis, "torch.stack")


def _cat_values(tr: DeviceTracer, values: list[TileValue], axis: int, what: str) -> TileValue:
    """The blocks of ``values`` (equal shapes) concatenated along their dim ``axis``."""
    if len(values) == 1:
        return values[0]
    stacked = _stack_values(tr, values, axis)
    # Size symbols only: a tile's block, even one fixed by kl.register_block_size, may be a
    # partial last tile, and torch would put b's first element right after a's last valid one.
    fixed = t.fixed_size_symbols(stacked.value.owner)
    count, n = (_known(stacked.dims[i], fixed) for i in (axis, axis + 1))
    if n is None or count is None:
        raise ShapeMismatch(
            f"{what} along a dim of size {stacked.dims[axis + 1]}: it must be a power of two "
            "known when the kernel compiles (the blocks are joined in registers, which cannot "
            "hold padding between them)"
        )
    dims = [*stacked.dims[:axis], str(count * n), *stacked.dims[axis + 2 :]]
    return tr.emit(t.ReshapeOp(stacked.value, dims))


def stack(tr: DeviceTracer, tensors: Any, dim: int = 0, **_: Any) -> TileValue:
    """``torch.stack(blocks, dim)``: a new dim of ``len(blocks)`` at ``dim``."""
    values = _blocks(tr, tensors, "torch.stack")
    rank = values[0].ndim
    where = _axis(dim, rank + 1, rank, "torch.stack")
    first = values[0]
    for v in values[1:]:
        if v.dims != first.dims:
            raise ShapeMismatch(f"torch.stack: shapes {list(first.dims)} and {list(v.dims)} differ")
    if _joinable(values, None):
        return _stack_values(tr, values, where)
    return _concat(tr, [tr.unsqueeze(v, where) for v in values], where, "torch.stack")


def cat(tr: DeviceTracer, tensors: Any, dim: int = 0, *, axis: Any = None, **_: Any) -> TileValue:
    """``torch.cat(blocks, dim)`` (``torch.concatenate``'s ``axis`` too): the blocks one after
    another along their dim ``dim``."""
    values = _blocks(tr, tensors, "torch.cat")
    rank = values[0].ndim
    if rank == 0:
        raise ShapeMismatch("torch.cat of scalars: zero-dimensional values cannot be concatenated")
    where = _axis(dim if axis is None else axis, rank, rank, "torch.cat")
    if _joinable(values, where):
        return _cat_values(tr, values, where, "torch.cat")
    return _concat(tr, values, where, "torch.cat")


CONCAT_FUNCTIONS: dict[Any, Callable[..., Any]] = {
    torch.stack: stack,
    torch.cat: cat,
    torch.concat: cat,
    torch.concatenate: cat,
}
