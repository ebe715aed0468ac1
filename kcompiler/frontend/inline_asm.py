"""``kl.inline_asm_elementwise`` in device code: checks the call and builds ``tile.inline_asm``.

The arguments follow Helion's signature: ``asm`` and ``constraints`` are strings, ``args`` a
list or tuple of device values (a Python number becomes a literal: int32 for an int that
fits, float32 for a float), ``dtype`` the result's torch dtype, ``is_pure`` a bool,
``pack`` a positive int. The args broadcast to one shape,
which is the result's; each keeps its own dtype, since the constraints name the register
each is read from. Helion also takes a tuple of dtypes for several results; kcompiler
supports one result, and a tuple is refused here, at the kernel's line. The op's verifier
then checks the constraint counts (``tile.InlineAsmOp``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from xdsl.dialects.builtin import IntegerAttr

from kcompiler.dialects import tile as t
from kcompiler.exc import ShapeMismatch, UnsupportedConstruct
from kcompiler.frontend import dtypes

if TYPE_CHECKING:
    from kcompiler.frontend.tracer import DeviceTracer
    from kcompiler.frontend.values import TileValue

_WHAT = "kl.inline_asm_elementwise"


def build_inline_asm(
    tr: DeviceTracer,
    asm: Any,
    constraints: Any,
    args: Any,
    dtype: Any,
    is_pure: Any,
    pack: Any,
) -> TileValue:
    """The ``tile.inline_asm`` of one call; errors are ``UnsupportedConstruct`` (the tracer
    adds the kernel's line)."""
    if not isinstance(asm, str):
        raise UnsupportedConstruct(f"{_WHAT}: asm must be a string, got {type(asm).__name__}")
    if not isinstance(constraints, str):
        raise UnsupportedConstruct(
            f"{_WHAT}: constraints must be a string, got {type(constraints).__name__}"
        )
    if not isinstance(is_pure, bool):
        raise UnsupportedConstruct(f"{_WHAT}: is_pure must be a bool, got {is_pure!r}")
    if isinstance(pack, bool) or not isinstance(pack, int) or pack < 1:
        raise UnsupportedConstruct(f"{_WHAT}: pack must be a positive int, got {pack!r}")
    if isinstance(dtype, (tuple, list)):
        raise UnsupportedConstruct(
            f"{_WHAT} with a tuple of dtypes (several results) is not supported; call it once "
            "per result, each with one dtype"
        )
    if not isinstance(dtype, torch.dtype):
        raise UnsupportedConstruct(f"{_WHAT}: dtype must be a torch.dtype, got {dtype!r}")
    if not isinstance(args, (list, tuple)) or not args:
        raise UnsupportedConstruct(
            f"{_WHAT}: args must be a non-empty list of device values (the result takes "
            f"their broadcast shape), got {args!r}"
        )
    values = [_arg_value(tr, a) for a in args]
    op = t.InlineAsmOp(
        asm,
        constraints,
        [v.value for v in values],
        dtypes.to_ir(dtype),
        pure=is_pure,
        pack=pack,
    )
    try:
        op.verify_()
    except t.ShapeError as e:
        raise ShapeMismatch(f"{_WHAT}: {e}") from None
    return tr.emit(op)


def _arg_value(tr: DeviceTracer, arg: Any) -> TileValue:
    """A device value for one arg. A Python int is an int32 literal when it fits (Triton's
    type for an int literal, and the width an ``r`` register holds), else int64; a float is
    float32, a bool int1, as ``tr.as_value`` makes them."""
    if isinstance(arg, int) and not isinstance(arg, bool) and -(2**31) <= arg < 2**31:
        return tr.emit(t.ConstantOp(IntegerAttr(arg, t.i32)))
    return tr.as_value(arg)
