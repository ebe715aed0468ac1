"""torch dtype <-> tile element type."""

from __future__ import annotations

from typing import Any

import torch
from xdsl.dialects.builtin import i64
from xdsl.ir import Attribute

from kcompiler.dialects import tile as t
from kcompiler.exc import UnsupportedConstruct

_TO_IR: dict[torch.dtype, Attribute] = {
    torch.float16: t.f16,
    torch.bfloat16: t.bf16,
    torch.float32: t.f32,
    torch.float64: t.f64,
    torch.float8_e4m3fn: t.f8e4m3,
    torch.float8_e5m2: t.f8e5m2,
    torch.bool: t.i1,
    torch.int8: t.i8,
    torch.uint8: t.u8,
    torch.int16: t.i16,
    torch.int32: t.i32,
    torch.int64: i64,
}
_TO_TORCH = {v: k for k, v in _TO_IR.items()}


def to_ir(dtype: Any) -> Attribute:
    try:
        return _TO_IR[dtype]
    except (KeyError, TypeError):  # TypeError: an unhashable value where a dtype belongs
        supported = ", ".join(str(d).removeprefix("torch.") for d in _TO_IR)
        raise UnsupportedConstruct(
            f"dtype {dtype!r} is not supported in kernels (supported: {supported})"
        ) from None


def to_torch(elt: Attribute) -> torch.dtype:
    return _TO_TORCH[elt]


def supported(dtype: torch.dtype) -> bool:
    return dtype in _TO_IR
