"""Slices with bounds in device code: ``out[tile, :n]``, ``x[tile, a:a + k]``, ``y[tile, 1:7:2]``.

A bounded slice of a tensor dim is a run of positions, ``start + step * kl.arange(extent)``,
and indexes the tensor as the ``outer`` index kind does (a result dim of its own, every
position bounds-checked by the backend). So it needs no IR of its own: ``x[tile, a:a + k]``
traces to ``tile.load %x[%t, %pos] ["tile", "outer"]`` with ``%pos = a + arange(k)``.

The extent becomes the new dim, so it must be a dim the compiler can name in every launch of
the specialization: a literal, a size (``x.size(1)``, a host int), a block size, or the
difference of the bounds when one is the other plus such a dim (``a:a + k``). A store may
leave the extent to the value stored (``out[tile, n1:] = y[tile, :]`` writes ``y``'s width).

A load whose width is none of these but whose bounds the launcher knows (``x[tile, k:]``,
``x[tile, a:b]`` over int arguments and sizes) gets a width known only at run time: a size
symbol of its own (``width0``), defined by the kernel's ``slice_widths`` as the positions of
``start:stop:step`` inside the sliced dim, which the launcher computes as torch's slicing counts
them (clamped to the dim). Its register extent is the sliced dim's (Triton blocks are
compile-time powers of two; the dim's power-of-two bucket is in the specialization key, and the
clamped width never exceeds the dim), and its lanes are masked like any size's. Two slices with
the same bounds of same-size dims share the symbol; anywhere else the width is a dim of its
own, so using it where another size is needed (storing it into ``out[tile, :]``) is a shape
error. Bounds computed in device code (a loaded start) leave the width unknown to the launcher:
an error.

Bounds: where the bounds' values are known when the kernel compiles, a slice that runs past the
tensor is an error (torch would clamp it to the tensor; a kernel whose slice is clamped there is
almost always wrong, and the clamped width would be another dim). In a launch, positions at or
past the tensor's end are masked off, as torch's clamping drops them (the last tile of
``A[tile_m, 2 * k.begin : 2 * k.begin + 2 * bk]`` over a ragged K); a negative position is an
IndexOutOfBounds error, as the backend bounds-checks every position, so no access leaves the
tensor.
"""

from __future__ import annotations

from typing import Any

from kcompiler.dialects import tile as t
from kcompiler.exc import ShapeMismatch, UnsupportedConstruct
from kcompiler.frontend.specialize import BlockSizeInt
from kcompiler.frontend.values import TensorArg, TileValue


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def dim_of_bound(x: Any) -> str | None:
    """The dim named by a slice bound or extent: a literal, a size or a block size."""
    if isinstance(x, BlockSizeInt):
        return x.block_sym
    if _is_int(x):
        return str(int(x))
    if isinstance(x, TileValue):
        if x.sym is not None:
            return x.sym
        owner = x.value.owner
        if isinstance(owner, t.ConstantOp) and isinstance(owner.value.value.data, int):  # type: ignore[union-attr]
            return str(owner.value.value.data)  # type: ignore[union-attr]
        if isinstance(owner, t.SizeOp):
            return owner.sym.data
        if isinstance(owner, t.TileAttrOp) and owner.attr.data == "block_size":
            ty = owner.tile.type
            assert isinstance(ty, t.TileType)
            return ty.block.data
    return None


def _offset_from(tr: Any, start: Any, stop: Any) -> str | None:
    """The dim ``k`` when ``stop`` was built as ``start + k`` (or ``k + start``)."""
    if not (isinstance(stop, TileValue) and isinstance(start, TileValue)):
        return None
    op = stop.value.owner
    if not (isinstance(op, t.BinaryOp) and op.kind.data == "add"):
        return None
    for mine, other in ((op.lhs, op.rhs), (op.rhs, op.lhs)):
        if mine == start.value:
            return dim_of_bound(TileValue(tr, other))
    return None


def slice_extent(tr: Any, start: Any, stop: Any, size: str) -> str | None:
    """The dim of ``stop - start`` when it has one (``stop`` None: the tensor dim ``size``)."""
    if stop is None:
        if _is_int(start) and start == 0:
            return size
        if _is_int(start) and size.isdigit():
            return str(int(size) - start)
        return None
    if _is_int(start) and start == 0:
        return dim_of_bound(stop)
    if _is_int(start) and _is_int(stop):
        return str(stop - start)
    return _offset_from(tr, start, stop)


def _value_of(tr: Any, x: Any) -> int | None:
    """A bound's value when the kernel compiles (a literal or a size's hint), else None."""
    d = dim_of_bound(x)
    if d is None:
        return None
    if d.isdigit():
        return int(d)
    return tr.spec.symbols.values.get(d)


def _host_dim(tr: Any, x: Any) -> str | None:
    """The dim of a bound the launcher knows: an int or a size symbol (an int argument, a
    tensor size); None for a block size or a value computed in device code."""
    d = dim_of_bound(x)
    if d is not None and (d.isdigit() or d in tr.spec.symbols.values):
        return d
    return None


def run_time_width(
    tr: Any, tensor: TensorArg, axis: int, start: Any, stop: Any, step: int, where: str
) -> str:
    """The width symbol of a slice whose width is known only at run time (``x[tile, k:]``,
    ``x[tile, a:b]`` over int arguments): the launcher computes it from bounds it knows."""
    size = tensor.dims[axis]
    first = _host_dim(tr, start)
    last = size if stop is None else _host_dim(tr, stop)
    if first is None or last is None:
        raise tr.error(
            UnsupportedConstruct,
            f"{where}: the width of this slice of {tensor.name!r} is neither known when the "
            "kernel compiles (bound it by an int, a size or a block size, or write it as "
            "a:a + k with such a k) nor computable before the launch: a width known only at "
            "run time needs bounds that are ints, int arguments or sizes (compute a bound "
            "such as k + 1 in host code, before the loop)",
        )
    written = f"the slice of dim {axis} of {tensor.name!r} in {where}"
    return tr.slice_width(size, first, last, step, written)


def slice_index(
    tr: Any, tensor: TensorArg, axis: int, s: slice, given: str | None, where: str
) -> TileValue:
    """The positions ``tensor[..., s, ...]`` reads or writes along ``axis``, a 1-D block for an
    ``outer`` index. ``given``: the dim the stored value has there (None for a load)."""
    size = tensor.dims[axis]
    step = 1 if s.step is None else s.step
    if not _is_int(step) or step < 1:
        raise tr.error(
            UnsupportedConstruct,
            f"{where}: the step of a slice in device code must be a positive int, got {step!r}",
        )
    start = 0 if s.start is None else s.start
    stop = s.stop
    for b in (start, stop):
        if _is_int(b) and b < 0:
            raise tr.error(
                UnsupportedConstruct,
                f"{where}: a negative slice bound ({b}) in device code; write it from the size "
                f"({tensor.name}.size({axis}) - {-b})",
            )
    if step == 1:
        extent = slice_extent(tr, start, stop, size)
    else:
        span = slice_extent(tr, start, stop, size)
        extent = str(-(-int(span) // step)) if span is not None and span.isdigit() else None
    from_value = extent is None and given is not None
    if from_value:
        extent = given
    if extent is None:
        extent = run_time_width(tr, tensor, axis, start, stop, step, where)
    n = int(extent) if extent.isdigit() else tr.spec.symbols.values.get(extent)
    if n is not None and n <= 0:
        raise tr.error(ShapeMismatch, f"{where}: the slice of {tensor.name!r} is empty")
    first = _value_of(tr, start)
    limit = int(size) if size.isdigit() else tr.spec.symbols.values.get(size)
    if first is not None and n is not None and limit is not None:
        last = first + (n - 1) * step
        if last >= limit:
            raise tr.error(
                ShapeMismatch,
                f"{where}: the slice of {tensor.name!r} runs to position {last} of dim {axis}, "
                f"whose size is {limit}; bound the slice inside the tensor (torch would clamp it)",
            )
    end = limit if stop is None else _value_of(tr, stop)
    if from_value and first is not None and n is not None and end is not None:
        width = max(0, -(-(end - first) // step))
        if width != n:
            raise tr.error(
                ShapeMismatch,
                f"{where}: the slice of {tensor.name!r} has {width} positions, the value "
                f"stored there {n}",
            )
    pos = tr.emit(t.ArangeOp(extent, t.i64 if tr.spec.int64_indexing else t.i32))
    if step != 1:
        pos = tr.binary("mul", pos, tr.as_value(step))
    if not (_is_int(start) and start == 0):
        first_value = tr.as_value(start)
        if first_value.ndim != 0 or first_value.dtype.is_floating_point:
            raise tr.error(
                ShapeMismatch,
                f"{where}: a slice bound must be an integer scalar, got a block of shape "
                f"{list(first_value.dims)} and dtype {first_value.dtype}",
            )
        pos = tr.binary("add", first_value, pos)
    return pos


def slice_within(tr: Any, tensor: TensorArg, axis: int, s: slice) -> bool:
    """Whether every position of the slice lies inside the tensor in every launch: a static
    dim with static bounds (``slice_index`` has checked them). Other slices are clamped: the
    access masks the positions at or past the tensor's end, as torch's slicing drops them."""
    bounds = (s.start, s.stop)
    return tensor.dims[axis].isdigit() and all(b is None or _is_int(b) for b in bounds)
