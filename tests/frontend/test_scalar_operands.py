"""Python numbers beside narrow tensors in device code, drawn by hypothesis, against torch.

The other differential tests combine float tensors with float tensors; users also write
``x + 1000`` on int8 data, ``x * eps`` with a float argument on float16 data, and keywords
such as ``torch.div(x, k, rounding_mode="floor")``. torch's rules there: a Python int is
converted to the tensor's integer dtype (wrapping), a Python float joins half-precision math
in float32. A number comes either written in the kernel (a literal) or as a scalar argument.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from hypothesis import given
from hypothesis import strategies as st

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.testing import assert_matches_torch, few_examples, shapes, tensors

Op = Callable[[Any, Any], Any]
OPS: dict[str, Op] = {
    "add": lambda v, k: v + k,
    "rsub": lambda v, k: k - v,
    "mul": lambda v, k: v * k,
    "floordiv": lambda v, k: v // k,
    "mod": lambda v, k: v % k,
    "div_floor": lambda v, k: torch.div(v, k, rounding_mode="floor"),
    "div_trunc": lambda v, k: torch.div(v, k, rounding_mode="trunc"),
    "add_alpha": lambda v, k: torch.add(v, v, alpha=k),
    "lt": lambda v, k: v < k,
    "maximum": lambda v, k: torch.clamp(v, min=k),
}
INT_DTYPES = (torch.int8, torch.uint8, torch.int16, torch.int32, torch.int64)
HALF_DTYPES = (torch.float16, torch.bfloat16)
# Small, past int8/uint8/int16 ranges, negative, and floats float16 rounds to 0 or inf.
INTS = (3, -7, 200, 1000, -300, 70000)
FLOATS = (0.75, -2.5, 1e-8, 1e5)


def _rows(fn: Callable[..., Any], out_dtype: torch.dtype, with_arg: bool) -> kc.Kernel:
    if with_arg:

        def rows(x: torch.Tensor, k: Any) -> torch.Tensor:
            out = torch.empty(x.shape, dtype=out_dtype)
            for tile in kl.tile(x.size(0)):
                out[tile, :] = fn(x[tile, :], k)
            return out

    else:

        def rows(x: torch.Tensor) -> torch.Tensor:  # type: ignore[misc]
            out = torch.empty(x.shape, dtype=out_dtype)
            for tile in kl.tile(x.size(0)):
                out[tile, :] = fn(x[tile, :])
            return out

    return kc.kernel(rows)


@given(data=st.data())
@few_examples(6)
def test_scalar_operands_match_torch(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(OPS)), label="op")
    op = OPS[name]
    dtype = data.draw(st.sampled_from(INT_DTYPES + HALF_DTYPES), label="dtype")
    is_int = not dtype.is_floating_point
    k = data.draw(st.sampled_from(INTS if is_int else FLOATS), label="k")
    x = data.draw(
        tensors(shapes(2, max_side=40, max_numel=600), dtype, low=-120, high=120), label="x"
    )
    probe = x[:1, :1]
    try:
        want_dtype = op(probe, k).dtype
    except RuntimeError:  # e.g. a divisor that wraps to 0 in x's dtype
        return
    if is_int and name in ("floordiv", "mod", "div_floor", "div_trunc"):
        if torch.tensor(k).to(dtype) == 0:
            return
    if is_int:
        reference = lambda x: op(x, k)  # noqa: E731 - torch's integer semantics, exact
    else:
        # torch on CUDA (opmath) computes with the number in float32 and rounds once; torch's
        # CPU add/sub round the number to the half type first, a difference of its own.
        reference = lambda x: op(x.float(), k).to(want_dtype)  # noqa: E731
    with_arg = data.draw(st.booleans(), label="as argument")
    if with_arg:
        kernel = _rows(op, want_dtype, True)
        assert_matches_torch(lambda x: kernel(x, k), reference, x)
    else:
        kernel = _rows(lambda v: op(v, k), want_dtype, False)
        assert_matches_torch(kernel, reference, x)
