"""``torch.stack`` and ``torch.cat`` of blocks in device code, built on ``kl.join``.

A register block cannot grow in place, so both are made from one primitive: ``kl.join``
stacks two equal blocks along a new last dim of size 2, and a permutation moves that dim to
``dim``. More blocks (a power of two of them) stack as two stacks of halves, concatenated.

``torch.cat`` is a stack along ``dim`` whose new dim is then merged with the next one: for
``cat([a, b], 0)`` of ``[n, m]`` blocks, ``stack`` gives ``[2, n, m]`` (``a`` then ``b``) and a
row-major merge gives ``[2n, m]``, torch's order. The merge is a ``tile.reshape``, legal only
where the merged dims carry no padding lanes: the blocks' size along ``dim`` must be a power of
two known when the kernel compiles (a static size or a size symbol the specialization fixes;
not a tile's block, whose last tile may be partial), and every block must have the same shape.
Other dims may be anything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

from kcompiler.dialects import tile as t
from kcompiler.exc import ShapeMismatch, UnsupportedConstruct

if TYPE_CHECKING:
    from kcompiler.frontend.tracer import DeviceTracer
    from kcompiler.frontend.values import TileValue


def _blocks(tr: DeviceTracer, tensors: Any, what: str) -> list[TileValue]:
    if not isinstance(tensors, (list, tuple)) or not tensors:
        raise UnsupportedConstruct(f"{what} takes a non-empty list or tuple of blocks")
    values = [tr.as_value(v) for v in tensors]
    n = len(values)
    if n & (n - 1):
        raise UnsupportedConstruct(
            f"{what} of {n} blocks in device code: the count must be a power of two "
            "(blocks are joined pairwise with kl.join); split the call into such groups"
        )
    first = values[0]
    for v in values[1:]:
        if v.dims != first.dims:
            raise ShapeMismatch(f"{what}: shapes {list(first.dims)} and {list(v.dims)} differ")
    return values


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
    return _stack_values(tr, values, _axis(dim, rank + 1, rank, "torch.stack"))


def cat(tr: DeviceTracer, tensors: Any, dim: int = 0, *, axis: Any = None, **_: Any) -> TileValue:
    """``torch.cat(blocks, dim)`` (``torch.concatenate``'s ``axis`` too): the blocks one after
    another along their dim ``dim``."""
    values = _blocks(tr, tensors, "torch.cat")
    rank = values[0].ndim
    if rank == 0:
        raise ShapeMismatch("torch.cat of scalars: zero-dimensional values cannot be concatenated")
    where = _axis(dim if axis is None else axis, rank, rank, "torch.cat")
    return _cat_values(tr, values, where, "torch.cat")


CONCAT_FUNCTIONS: dict[Any, Callable[..., Any]] = {
    torch.stack: stack,
    torch.cat: cat,
    torch.concat: cat,
    torch.concatenate: cat,
}
