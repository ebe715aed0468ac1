"""How the tile dialect's element types are spelt in Triton source (``tl.float32``, ...)."""

from __future__ import annotations

from xdsl.dialects.builtin import i64
from xdsl.ir import Attribute

from kcompiler.dialects import tile as t

_TL_DTYPE = {
    t.f16: "tl.float16",
    t.bf16: "tl.bfloat16",
    t.f32: "tl.float32",
    t.f64: "tl.float64",
    t.i1: "tl.int1",
    t.i8: "tl.int8",
    t.u8: "tl.uint8",
    t.i16: "tl.int16",
    t.i32: "tl.int32",
    t.f8e4m3: "tl.float8e4nv",
    t.f8e5m2: "tl.float8e5",
}


def tl_dtype(elt: Attribute) -> str:
    if elt == i64:
        return "tl.int64"
    return _TL_DTYPE[elt]
