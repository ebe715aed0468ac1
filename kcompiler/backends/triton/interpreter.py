"""Make Triton's CPU interpreter round to bfloat16 and float8 the way GPUs do.

Triton's interpreter (``TRITON_INTERPRET=1``) converts float32 to bfloat16 by dropping the low
16 bits (round toward zero), for explicit casts (``x.to(tl.bfloat16)``) and for the implicit
conversion of a store into a bfloat16 tensor alike; its ``fp_downcast_rounding="rtne"`` path
rounds half away from zero without carrying into the exponent. GPUs, and torch, round to
nearest even. On the CPU path every bfloat16 result was therefore up to one unit in the last
place low, which a cancelling sum (a dot product of a rounded operand) turns into an arbitrarily
large relative error: a wrong result that exists only under the interpreter.

The float8 conversions (``float8e4nv``, ``float8e5``) go through the same bit-level routine:
a mantissa that rounds up from all ones loses its carry (1.9375 -> 1.0 instead of 2.0 when the
exponent is odd), ties round away from zero, values below the smallest normal become zero, and
decoding maps float8e4nv's NaN pattern to 480 and float8e5's infinities and NaNs to finite
numbers. A GPU converts with ``cvt.rn.satfinite``: round to nearest even, magnitudes above the
largest finite value saturate to it, NaN stays NaN.

``install()`` replaces the interpreter builder's float->bfloat16 conversions with torch's
(round to nearest even, NaN kept NaN, overflow to infinity) and its float<->float8 conversions
with torch's after a saturating clamp; every other conversion is left to the interpreter. The
emitted Triton code is the same with or without it.
"""

from __future__ import annotations

from typing import Any

_INSTALLED = False


def _c_order_copy(data: Any) -> Any:
    """``data`` as a new C-ordered numpy array torch can take. Not ``np.ascontiguousarray``:
    numpy flags an array with one element per dim (a reversed [1, 1] block) contiguous
    whatever its strides, returns it as is, and torch.from_numpy refuses negative strides."""
    import numpy as np

    return np.array(data, order="C", copy=True)


def _to_bf16_bits(data: Any) -> Any:
    """A float32/float64 numpy array -> bfloat16 bit patterns (uint16), rounded to nearest even."""
    import numpy as np
    import torch

    src = torch.from_numpy(_c_order_copy(data))
    bits = src.to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    return bits.reshape(np.shape(data))


def _torch_dtypes() -> dict[Any, Any]:
    """Triton float types -> the torch dtype holding the same bits."""
    import torch
    import triton.language as tl

    return {
        tl.float8e4nv: torch.float8_e4m3fn,
        tl.float8e5: torch.float8_e5m2,
        tl.bfloat16: torch.bfloat16,
        tl.float16: torch.float16,
        tl.float32: torch.float32,
        tl.float64: torch.float64,
    }


def _as_torch(data: Any, dtype: Any) -> Any:
    """The interpreter's numpy storage of a ``dtype`` block as a torch tensor of that dtype
    (bfloat16 and float8 are stored as raw unsigned bits)."""
    import numpy as np
    import torch

    array = _c_order_copy(data)
    if dtype.itemsize == 2 and dtype.is_floating_point and dtype != torch.float16:
        return torch.from_numpy(array.view(np.int16)).view(dtype)
    if dtype.itemsize == 1:
        return torch.from_numpy(array.view(np.uint8)).view(dtype)
    return torch.from_numpy(array)


def _as_numpy(tensor: Any) -> Any:
    """A torch tensor -> the interpreter's numpy storage for its dtype."""
    import numpy as np
    import torch

    if tensor.dtype == torch.bfloat16:
        return tensor.view(torch.int16).numpy().view(np.uint16)
    if tensor.dtype.itemsize == 1:
        return tensor.view(torch.uint8).numpy()
    return tensor.numpy()


def _convert_fp8(data: Any, src: Any, dst: Any) -> Any:
    """Convert a block between float types, one of them float8, as a GPU does: round to nearest
    even, saturate finite overflow to the largest finite float8 value, keep NaN."""
    import numpy as np
    import torch

    value = _as_torch(data, src)
    if dst.itemsize == 1:
        # torch overflows to NaN (e4m3fn) or infinity (e5m2); cvt.rn.satfinite clamps instead.
        limit = torch.finfo(dst).max
        value = value.to(torch.float64).clamp(-limit, limit)
    return _as_numpy(value.to(dst)).reshape(np.shape(data))


def install() -> None:
    """Patch the interpreter's float->bfloat16 and float<->float8 conversions (idempotent)."""
    global _INSTALLED
    if _INSTALLED:
        return
    import triton.language as tl
    from triton.runtime import interpreter

    builder = interpreter.InterpreterBuilder
    cast_impl = builder.cast_impl
    fp_to_fp = builder.create_fp_to_fp
    torch_types = _torch_dtypes()
    fp8 = (tl.float8e4nv, tl.float8e5)

    def is_downcast(src: Any, dst_type: Any) -> bool:
        return dst_type.scalar == tl.bfloat16 and src.dtype.scalar in (tl.float32, tl.float64)

    def is_fp8(src: Any, dst_type: Any) -> bool:
        a, b = src.dtype.scalar, dst_type.scalar
        return (a in fp8 or b in fp8) and a in torch_types and b in torch_types

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
        if is_fp8(src, dst_type) and not rtz:
            a, b = torch_types[src.dtype.scalar], torch_types[dst_type.scalar]
            return interpreter.TensorHandle(_convert_fp8(src.data, a, b), dst_type.scalar)
        return fp_to_fp(self, src, dst_type, rounding_mode)

    builder.cast_impl = patched_cast
    builder.create_fp_to_fp = patched_fp_to_fp
    _INSTALLED = True


__all__ = ["install"]
