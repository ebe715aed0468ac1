"""torch's tensor methods, activations and elementwise functions in device code, against torch.

Each family is one kernel whose device line applies the op under test to a loaded block, run
through ``kcompiler.testing`` on odd shapes (hypothesis draws them) in the three float dtypes
and compared with the same torch call on the host. Misuse (a permutation of the wrong length,
an expand that does not broadcast, a bmm of mismatched batches) raises a kcompiler error that
names the kernel's line.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.testing import FLOAT_DTYPES, assert_matches_torch, few_examples, shapes, tensors

F = torch.nn.functional
# A few draws each (shapes and dtypes vary across draws), no shrinking: every draw compiles
# through the interpreter, and a failing draw is printed whole.
FEW = few_examples(3)


def rows_kernel(fn: Callable[..., torch.Tensor]) -> kc.Kernel:
    """``out[tile, :] = fn(x[tile, :])``, stored in x's dtype."""

    def rows(x: torch.Tensor) -> torch.Tensor:
        out = torch.empty_like(x)
        for tile in kl.tile(x.size(0)):
            out[tile, :] = fn(x[tile, :])
        return out

    return kc.kernel(rows)


# -- activations and elementwise ----------------------------------------------------------------

ELEMENTWISE: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "silu": F.silu,
    "gelu": F.gelu,
    "gelu_tanh": lambda v: F.gelu(v, approximate="tanh"),
    "relu": F.relu,
    "softplus": F.softplus,
    "softplus_beta": lambda v: F.softplus(v, beta=2.0, threshold=3.0),
    "leaky_relu": lambda v: F.leaky_relu(v, 0.2),
    "elu": F.elu,
    "relu6": F.relu6,
    "hardtanh": F.hardtanh,
    "hardsigmoid": F.hardsigmoid,
    "hardswish": F.hardswish,
    "mish": F.mish,
    "logsigmoid": F.logsigmoid,
    "sigmoid": torch.sigmoid,
    "tanh": F.tanh,
    "erf": torch.erf,
    "log1p": lambda v: torch.log1p(v.abs()),
    "expm1": torch.expm1,
    "pow": lambda v: torch.pow(v.abs(), 1.5),
    "clamp": lambda v: v.clamp(-0.5, 0.25),
    "clamp_min": lambda v: torch.clamp_min(v, 0.1),
    "abs": torch.abs,
    "sign": torch.sign,
    "floor": lambda v: torch.floor(v * 4),
    "ceil": lambda v: torch.ceil(v * 4),
    "trunc": lambda v: torch.trunc(v * 4),
    "round": lambda v: torch.round(v * 4),
    "round_decimals": lambda v: torch.round(v, decimals=1),
    "sin_cos": lambda v: torch.sin(v) * torch.cos(v),
    "maximum_minimum": lambda v: torch.maximum(v, v * 0.5) - torch.minimum(v, -v),
    "square_reciprocal": lambda v: torch.square(v) + torch.reciprocal(v.abs() + 1),
    "methods": lambda v: v.sigmoid().log1p() + v.clamp(min=0.0).sqrt() + v.floor(),
}

KERNELS = {name: rows_kernel(fn) for name, fn in ELEMENTWISE.items()}


@pytest.mark.parametrize("name", list(ELEMENTWISE))
@given(data=st.data())
@FEW
def test_elementwise_matches_torch(name: str, data: st.DataObject) -> None:
    x = data.draw(tensors(shapes(2, max_side=70, max_numel=2000), st.sampled_from(FLOAT_DTYPES)))
    assert_matches_torch(KERNELS[name], ELEMENTWISE[name], x)


def test_round_is_half_to_even_and_large_values_stay() -> None:
    x = torch.tensor([[0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.49, 8388609.0, -0.0, 3.5]])
    assert_matches_torch(KERNELS["round"], lambda v: torch.round(v * 4), x / 4)
    assert_matches_torch(rows_kernel(torch.round), torch.round, x)


SPECIALS = torch.tensor([[math.nan, math.inf, -math.inf, 0.0, -0.0, 1e-7, -1e-7, 3.0, -1.0, 80.0]])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize(
    "fn",
    [torch.isnan, torch.isinf, torch.isfinite, torch.nan_to_num, torch.sign, torch.log1p,
     torch.expm1, F.softplus, lambda v: torch.nan_to_num(v, nan=1.0, posinf=2.0, neginf=-2.0)],
    ids=["isnan", "isinf", "isfinite", "nan_to_num", "sign", "log1p", "expm1", "softplus",
         "nan_to_num_values"],
)  # fmt: skip
def test_special_values(fn: Callable[[torch.Tensor], torch.Tensor], dtype: torch.dtype) -> None:
    """NaN, infinities, signed zeros and tiny values: the cases composed ops get wrong."""
    x = SPECIALS.to(dtype)
    assert_matches_torch(rows_kernel(fn), lambda v: fn(v).to(v.dtype), x)


def test_integer_inputs_keep_torch_dtypes() -> None:
    x = torch.tensor([[-3, 0, 2, 7]], dtype=torch.int32)
    for fn in (torch.floor, torch.sign, torch.abs, torch.isnan):
        assert_matches_torch(rows_kernel(fn), lambda v, fn=fn: fn(v).to(v.dtype), x)


# -- layout methods -----------------------------------------------------------------------------


@kc.kernel
def transpose_2d(x: torch.Tensor) -> torch.Tensor:
    m, n = x.size()
    out = torch.empty([n, m], dtype=x.dtype)
    for tm, tn in kl.tile([m, n]):
        block = x[tm, tn]
        out[tn, tm] = block.T + block.transpose(0, 1) - block.t() + block.mT * 0
    return out


@kc.kernel
def permute_3d(x: torch.Tensor) -> torch.Tensor:
    a, b, c = x.size()
    out = torch.empty([c, a, b], dtype=x.dtype)
    for ta, tb in kl.tile([a, b]):
        out[:, ta, tb] = x[ta, tb, :].permute(2, 0, 1) + torch.permute(x[ta, tb, :], (2, 0, 1))
    return out


@kc.kernel
def expand_rows(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    m, n = x.size(0), y.size(0)
    out = torch.empty([m, n], dtype=x.dtype)
    for tm in kl.tile(m):
        col = x[tm].unsqueeze(1).expand(tm, n)
        row = y[None, :].expand_as(col)
        out[tm, :] = (col + row.contiguous()) * (x.numel() + y.numel())
    return out


@kc.kernel
def squeeze_reshape(x: torch.Tensor) -> torch.Tensor:
    m, n = x.size()
    out = torch.empty([m, n], dtype=x.dtype)
    for tm in kl.tile(m):
        v = x[tm, :].reshape(tm, 1, n).float()
        out[tm, :] = v.squeeze(1).unsqueeze(0).squeeze(0).to(x.dtype)
    return out


@given(data=st.data())
@FEW
def test_layout_methods(data: st.DataObject) -> None:
    dtype = data.draw(st.sampled_from(FLOAT_DTYPES))
    x = data.draw(tensors(shapes(2, max_side=70, max_numel=3000), dtype))
    assert_matches_torch(transpose_2d, lambda v: v.T * 1, x)
    assert_matches_torch(squeeze_reshape, lambda v: v * 1, x)
    x3 = data.draw(tensors(shapes(3, max_side=20, max_numel=3000), dtype))
    assert_matches_torch(permute_3d, lambda v: v.permute(2, 0, 1) * 2, x3)
    col, row = x[:, 0].contiguous(), x[0, :].contiguous()
    scale = col.numel() + row.numel()
    assert_matches_torch(
        expand_rows, lambda c, r: ((c[:, None] + r[None, :]) * scale).to(dtype), col, row
    )


# -- 3-D matmul ---------------------------------------------------------------------------------


@kc.kernel
def bmm_tiles(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    batch, m, k = a.size()
    n = b.size(2)
    out = torch.empty([batch, m, n], dtype=a.dtype)
    for tb, tm, tn in kl.tile([batch, m, n]):
        acc = kl.zeros([tb, tm, tn], dtype=torch.float32)
        for tk in kl.tile(k):
            acc = torch.baddbmm(acc, a[tb, tm, tk], b[tb, tk, tn])
        out[tb, tm, tn] = acc.to(a.dtype)
    return out


@kc.kernel
def bmm_whole(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    batch, m, _k = a.size()
    n = b.size(2)
    out = torch.empty([batch, m, n], dtype=a.dtype)
    for tb, tm in kl.tile([batch, m]):
        out[tb, tm, :] = torch.bmm(a[tb, tm, :], b[tb, :, :])
    return out


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_bmm_and_baddbmm_on_3d_blocks(dtype: torch.dtype) -> None:
    a, b = torch.randn(3, 37, 45).to(dtype), torch.randn(3, 45, 19).to(dtype)
    ref = lambda a, b: torch.bmm(a.float(), b.float()).to(dtype)  # noqa: E731
    assert_matches_torch(bmm_whole, ref, a, b)
    assert_matches_torch(bmm_tiles, ref, a, b)


# -- misuse -------------------------------------------------------------------------------------

MARK = "# <- error"


def _line(kernel: kc.Kernel) -> int:
    lines, start = inspect.getsourcelines(kernel.fn)
    return next(start + i for i, line in enumerate(lines) if MARK in line)


@kc.kernel
def bad_permute(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile, :] = x[tile, :].permute(1, 0, 2)  # <- error
    return out


@kc.kernel
def bad_permute_repeat(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile, :] = x[tile, :].permute(1, 1)  # <- error
    return out


@kc.kernel
def bad_expand(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile, :] = x[tile, :].expand(tile, y.size(0))  # <- error
    return out


@kc.kernel
def bad_bmm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    out = torch.empty([a.size(0), a.size(1), b.size(2)], dtype=a.dtype)
    for ta, tb in kl.tile([a.size(0), b.size(0)]):
        out[ta, :, :] = torch.bmm(a[ta, :, :], b[tb, :, :])  # <- error
    return out


@kc.kernel
def bad_matmul_rank(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    out = torch.empty([a.size(0), a.size(1), b.size(1)], dtype=a.dtype)
    for ta in kl.tile(a.size(0)):
        out[ta, :, :] = a[ta, :, :] @ b[:, :]  # <- error
    return out


@kc.kernel
def bad_transpose(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile, :] = x[tile, :].transpose(0, 2)  # <- error
    return out


@pytest.mark.parametrize(
    ("kernel", "args", "match"),
    [
        (bad_permute, (torch.randn(5, 7),), "permute of a value of rank 2 needs 2 dims"),
        (bad_permute_repeat, (torch.randn(5, 7),), "repeats a dim"),
        (bad_expand, (torch.randn(5, 7), torch.randn(9)), "cannot expand|do not broadcast"),
        (bad_bmm, (torch.randn(2, 5, 7), torch.randn(3, 7, 4)), "batch dims differ"),
        (bad_matmul_rank, (torch.randn(2, 5, 7), torch.randn(7, 4)), "both 2-D or both 3-D"),
        (bad_transpose, (torch.randn(5, 7),), "out of range"),
    ],
    ids=["permute_length", "permute_repeat", "expand", "bmm_batch", "matmul_rank", "transpose"],
)
def test_misuse_names_the_line(kernel: kc.Kernel, args: tuple, match: str) -> None:
    with pytest.raises(kc.exc.CompileError) as info:
        kernel(*args)
    message = str(info.value)
    assert re.search(rf"test_torch_surface\.py:{_line(kernel)}\b", message), message
    assert re.search(match, message), message


# -- one size on two dims -----------------------------------------------------------------------


def _square_matmul(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    m, n = x.size()
    out = torch.empty([m, n], dtype=x.dtype)
    for tile_m in kl.tile(m):
        out[tile_m, :] = torch.sigmoid(x[tile_m, :] @ w[:, :])
    return out


square_dynamic = kc.kernel(_square_matmul)
square_static = kc.kernel(static_shapes=True)(_square_matmul)


@pytest.mark.parametrize("kernel", [square_dynamic, square_static], ids=["dynamic", "static"])
def test_whole_square_operand(kernel: kc.Kernel) -> None:
    """w[:, :] of an [n, n] tensor: both dims are one size, and each keeps its own index and
    mask (they were laid out along the same axis)."""
    x, w = torch.randn(37, 67), torch.randn(67, 67)
    assert_matches_torch(kernel, lambda x, w: torch.sigmoid(x @ w), x, w)


# -- conversion to bf16 -------------------------------------------------------------------------


@kc.kernel
def to_bf16(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty(x.shape, dtype=torch.bfloat16)
    for tile in kl.tile(x.size(0)):
        out[tile, :] = x[tile, :].to(torch.bfloat16)
    return out


@pytest.mark.parametrize("dtype", [torch.float32, torch.int16, torch.int32])
def test_conversion_to_bf16_rounds_to_nearest_even(dtype: torch.dtype) -> None:
    """torch (and the GPU) round to nearest even; bit-exact, including ties, infinities, NaN
    and overflow past bf16's largest value."""
    if dtype.is_floating_point:
        x = torch.cat([torch.randn(40, 9) * 1000, torch.tensor([[math.inf, -math.inf, math.nan,
            3.3961e38, 1.0 + 2**-8, 1.0 + 3 * 2**-8, -(1.0 + 2**-8), 0.0, -0.0]])])  # fmt: skip
    else:
        x = torch.randint(-(2**15), 2**15 - 1, (41, 9), dtype=dtype)
    got, want = to_bf16(x), x.to(torch.bfloat16)
    assert torch.equal(got.isnan(), want.isnan())
    got, want = got[~want.isnan()], want[~want.isnan()]  # NaN payloads may differ
    assert torch.equal(got.view(torch.int16), want.view(torch.int16)), (got - want).abs().max()


@kc.kernel
def bounded_slice(x: torch.Tensor, k: int) -> torch.Tensor:
    out = torch.zeros_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile, :] += x[tile, k:].sum(-1, keepdim=True)
    return out


def test_a_slice_of_run_time_width_broadcasts_after_its_reduction() -> None:
    # x.size(1) - k is a width known only at run time (tests/frontend/test_slice_widths.py);
    # its sum broadcasts back over x's columns.
    x = torch.randn(5, 7)
    assert_matches_torch(
        bounded_slice, lambda x, k: x[:, k:].sum(-1, keepdim=True).expand_as(x).clone(), x, 3
    )


# -- composite reductions -----------------------------------------------------------------------


@kc.kernel
def row_stats(x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    m = x.size(0)
    values = torch.empty([m], dtype=x.dtype)
    indices = torch.empty([m], dtype=torch.int64)
    lse = torch.empty([m, 1], dtype=x.dtype)
    var = torch.empty([m], dtype=x.dtype)
    std = torch.empty([m], dtype=x.dtype)
    for tile in kl.tile(m):
        v = x[tile, :]
        top, where = torch.max(v, dim=1)
        low = v.min(1)
        values[tile] = top + low.values
        indices[tile] = where * 1000 + low.indices
        lse[tile, :] = torch.logsumexp(v, dim=1, keepdim=True)
        var[tile] = torch.var(v, dim=1)
        std[tile] = v.std(dim=1, correction=0)
    return values, indices, lse, var, std


def _row_stats_ref(x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    top, where = torch.max(x, dim=1)
    low = x.min(1)
    xf = x.float()
    return (
        top + low.values,
        where * 1000 + low.indices,
        torch.logsumexp(xf, dim=1, keepdim=True).to(x.dtype),
        torch.var(xf, dim=1).to(x.dtype),
        xf.std(dim=1, correction=0).to(x.dtype),
    )


@given(data=st.data())
@FEW
def test_max_min_with_indices_logsumexp_var_std(data: st.DataObject) -> None:
    dtype = data.draw(st.sampled_from(FLOAT_DTYPES))
    x = data.draw(tensors(shapes(2, min_side=2, max_side=70, max_numel=3000), dtype))
    x = x + torch.arange(x.size(1), dtype=dtype) * 1e-2  # no ties: the argmax is unique
    assert_matches_torch(row_stats, _row_stats_ref, x)


def test_logsumexp_of_an_all_minus_inf_row() -> None:
    x = torch.tensor([[-math.inf, -math.inf, -math.inf], [0.0, 1.0, -math.inf]])
    assert_matches_torch(row_stats, _row_stats_ref, x)


# -- integer bit operations ---------------------------------------------------------------------


@kc.kernel
def bit_ops(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        a, b = x[tile, :], y[tile, :]
        shifted = (a << 3) + (a >> b) + torch.bitwise_right_shift(a, 2) + (1 << b)
        out[tile, :] = shifted ^ ~a ^ torch.bitwise_not(b) ^ torch.bitwise_and(a, 0xF0) ^ (7 ^ b)
    return out


def _bit_ops_ref(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    shifted = (x << 3) + (x >> y) + torch.bitwise_right_shift(x, 2) + (1 << y)
    return shifted ^ ~x ^ torch.bitwise_not(y) ^ torch.bitwise_and(x, 0xF0) ^ (7 ^ y)


@pytest.mark.parametrize("dtype", [torch.int32, torch.int64, torch.int16])
def test_shifts_and_bitwise_not_of_integers(dtype: torch.dtype) -> None:
    """Right shifts of negative values are arithmetic (torch's rule) and ~x is -x - 1."""
    x = torch.randint(-5000, 5000, (37, 5), dtype=dtype)
    y = torch.randint(0, 9, (37, 5), dtype=dtype)
    assert_matches_torch(bit_ops, _bit_ops_ref, x, y)


@kc.kernel
def bad_float_shift(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] << 2  # <- error
    return out


def test_a_float_shift_names_the_line() -> None:
    with pytest.raises(kc.exc.CompileError) as info:
        bad_float_shift(torch.randn(7))
    message = str(info.value)
    assert re.search(rf"test_torch_surface\.py:{_line(bad_float_shift)}\b", message), message
    assert "needs integer operands" in message, message
