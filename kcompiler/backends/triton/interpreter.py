"""Make Triton's CPU interpreter round to bfloat16 the way GPUs do.

Triton's interpreter (``TRITON_INTERPRET=1``) converts float32 to bfloat16 by dropping the low
16 bits (round toward zero), for explicit casts (``x.to(tl.bfloat16)``) and for the implicit
conversion of a store into a bfloat16 tensor alike; its ``fp_downcast_rounding="rtne"`` path
rounds half away from zero without carrying into the exponent. GPUs, and torch, round to
nearest even. On the CPU path every bfloat16 result was therefore up to one unit in the last
place low, which a cancelling sum (a dot product of a rounded operand) turns into an arbitrarily
large relative error: a wrong result that exists only under the interpreter.

``install()`` replaces the interpreter builder's float->bfloat16 conversions with torch's
(round to nearest even, NaN kept NaN, overflow to infinity); every other conversion is left to
the interpreter. The emitted Triton code is the same with or without it.
"""

from __future__ import annotations

from typing import Any

_INSTALLED = False


def _to_bf16_bits(data: Any) -> Any:
    """A float32/float64 numpy array -> bfloat16 bit patterns (uint16), rounded to nearest even."""
    import numpy as np
    import torch

    src = torch.from_numpy(np.ascontiguousarray(data))
    bits = src.to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    return bits.reshape(np.shape(data))


def install() -> None:
    """Patch the interpreter's float->bfloat16 conversions (idempotent)."""
    global _INSTALLED
    if _INSTALLED:
        return
    import triton.language as tl
    from triton.runtime import interpreter

    builder = interpreter.InterpreterBuilder
    cast_impl = builder.cast_impl
    fp_to_fp = builder.create_fp_to_fp

    def is_downcast(src: Any, dst_type: Any) -> bool:
        return dst_type.scalar == tl.bfloat16 and src.dtype.scalar in (tl.float32, tl.float64)

    def rounded(src: Any, dst_type: Any) -> Any:
        return interpreter.TensorHandle(_to_bf16_bits(src.data), dst_type.scalar)

    def patched_cast(self: Any, src: Any, dst_type: Any) -> Any:
        if is_downcast(src, dst_type):
            return rounded(src, dst_type)
        return cast_impl(self, src, dst_type)

    def patched_fp_to_fp(self: Any, src: Any, dst_type: Any, rounding_mode: Any) -> Any:
        rtz = rounding_mode is not None and "RTZ" in str(rounding_mode).upper()
        if is_downcast(src, dst_type) and not rtz:
            return rounded(src, dst_type)
        return fp_to_fp(self, src, dst_type, rounding_mode)

    builder.cast_impl = patched_cast
    builder.create_fp_to_fp = patched_fp_to_fp
    _INSTALLED = True


__all__ = ["install"]
