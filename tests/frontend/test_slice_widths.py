"""Slices whose width is known only at run time, ``x[tile, k:]`` and ``x[tile, a:b]`` over int
arguments, against torch's slicing.

Such a width is a size symbol the launcher computes (``tile.kernel``'s ``slice_widths``), as
torch counts it (clamped to the tensor); its register extent is that of the sliced dim, whose
power-of-two bucket the specialization key holds, and its lanes are masked like any size's.
So reductions, elementwise math with slices of the same bounds, stores to a slice and a dot
over such a width all hold; using the width where it must equal another size is an error
naming the line, and so is a width whose bounds are computed in device code.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.exc import IndexOutOfBounds, ShapeMismatch, UnsupportedConstruct
from kcompiler.testing import FLOAT_DTYPES, assert_matches_torch, few_examples, marker_line, tensors

FEW = few_examples(6)


def _line(marker: str) -> int:
    return marker_line(__file__, marker)


@kc.kernel
def window_sum(x: torch.Tensor, a: int, b: int) -> torch.Tensor:
    out = torch.empty([x.size(0)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile, a:b].sum(-1)  # <- window
    return out


@FEW
@given(st.data())
def test_a_run_time_window_sums_as_torch(data: st.DataObject) -> None:
    m = data.draw(st.sampled_from([1, 5, 17]))
    n = data.draw(st.sampled_from([3, 13, 40]))
    a = data.draw(st.integers(2, n + 2))  # 0 and 1 are static ints; past n: an empty slice
    b = data.draw(st.integers(2, n + 6))  # past n: clamped as torch clamps
    dtype = data.draw(st.sampled_from(FLOAT_DTYPES))
    x = data.draw(tensors((m, n), dtype))
    assert_matches_torch(window_sum, lambda v, a, b: v[:, a:b].float().sum(-1).to(v.dtype), x, a, b)


@pytest.mark.parametrize(("a", "b"), [(2, 9), (3, 13), (4, 40), (9, 3), (13, 20)])
def test_a_run_time_window_at_chosen_bounds(a: int, b: int) -> None:
    x = torch.randn(6, 13)
    assert_matches_torch(window_sum, lambda v, a, b: v[:, a:b].sum(-1), x, a, b)


@kc.kernel
def tail_copy(x: torch.Tensor, k: int) -> torch.Tensor:
    out = torch.zeros_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile, k:] = x[tile, k:] * 2  # a load and a store of the same run-time tail
    return out


def tail_copy_ref(x: torch.Tensor, k: int) -> torch.Tensor:
    out = torch.zeros_like(x)
    out[:, k:] = x[:, k:] * 2
    return out


@FEW
@given(st.data())
def test_a_run_time_tail_copies_as_torch(data: st.DataObject) -> None:
    n = data.draw(st.sampled_from([5, 19]))
    k = data.draw(st.integers(2, n + 1))
    dtype = data.draw(st.sampled_from(FLOAT_DTYPES))
    x = data.draw(tensors((data.draw(st.sampled_from([1, 7])), n), dtype))
    assert_matches_torch(tail_copy, tail_copy_ref, x, k)


@kc.kernel
def zero_tail(x: torch.Tensor, k: int) -> torch.Tensor:
    out = x.clone()
    for tile in kl.tile(x.size(0)):
        out[tile, k:] = 0.0  # a scalar broadcast into a run-time tail
    return out


@pytest.mark.parametrize("k", [4, 8, 12])
def test_a_scalar_fills_a_run_time_tail(k: int) -> None:
    def ref(x: torch.Tensor, k: int) -> torch.Tensor:
        out = x.clone()
        out[:, k:] = 0
        return out

    assert_matches_torch(zero_tail, ref, torch.randn(5, 9).to(torch.bfloat16), k)


@kc.kernel
def softmax_window(x: torch.Tensor, y: torch.Tensor, a: int, b: int) -> torch.Tensor:
    out = torch.empty([x.size(0)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        v = x[tile, a:b] * y[tile, a:b]  # same bounds of same-size dims: one width
        e = torch.exp(v - v.amax(-1, keepdim=True))
        out[tile] = (e * v).sum(-1) / e.sum(-1) + v.mean(-1)
    return out


def softmax_window_ref(x: torch.Tensor, y: torch.Tensor, a: int, b: int) -> torch.Tensor:
    v = x[:, a:b].float() * y[:, a:b].float()
    e = torch.exp(v - v.amax(-1, keepdim=True))
    return ((e * v).sum(-1) / e.sum(-1) + v.mean(-1)).to(x.dtype)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize(("a", "b"), [(3, 30), (5, 60)])  # 60: clamped to the 37 columns
def test_max_mean_and_products_over_a_run_time_width(dtype: torch.dtype, a: int, b: int) -> None:
    x, y = torch.randn(9, 37).to(dtype) - 3, torch.randn(9, 37).to(dtype)
    assert_matches_torch(softmax_window, softmax_window_ref, x, y, a, b)


@kc.kernel
def strided_window(x: torch.Tensor, a: int, b: int) -> torch.Tensor:
    out = torch.empty([x.size(0)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile, a:b:3].sum(-1)
    return out


@pytest.mark.parametrize(("a", "b"), [(2, 11), (2, 12), (4, 30), (10, 2)])
def test_a_run_time_window_with_a_step(a: int, b: int) -> None:
    x = torch.randn(4, 14)
    assert_matches_torch(strided_window, lambda v, a, b: v[:, a:b:3].sum(-1), x, a, b)


@kc.kernel
def partial_matmul(x: torch.Tensor, w: torch.Tensor, a: int, b: int) -> torch.Tensor:
    out = torch.empty([x.size(0), w.size(1)], dtype=torch.float32, device=x.device)
    for tile in kl.tile(x.size(0)):
        out[tile, :] = torch.matmul(x[tile, a:b], w[a:b, :]).float()  # K known at run time
    return out


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_a_dot_over_a_run_time_width(dtype: torch.dtype) -> None:
    x, w = torch.randn(5, 21).to(dtype), torch.randn(21, 16).to(dtype)
    assert_matches_torch(
        partial_matmul,
        lambda x, w, a, b: x[:, a:b].float() @ w[a:b, :].float(),
        x,
        w,
        4,
        17,
        atol=1e-2,
        rtol=1e-2,
    )


def test_a_negative_start_at_run_time_is_caught() -> None:
    # A negative int argument does not wrap as torch's would: its positions are out of bounds.
    with pytest.raises(IndexOutOfBounds, match=rf"test_slice_widths.py:{_line('window')}\b"):
        window_sum(torch.randn(4, 9), -3, 5)


def test_a_run_time_width_where_another_size_is_needed_names_the_line() -> None:
    @kc.kernel
    def into_whole(x: torch.Tensor, a: int, b: int) -> torch.Tensor:
        out = torch.zeros([x.size(0), b - a], dtype=x.dtype, device=x.device)
        for tile in kl.tile(x.size(0)):
            out[tile, :] = x[tile, a:b]  # <- into-whole
        return out

    # out's width equals b - a in this call, but nothing in the key keeps it so in the next.
    with pytest.raises(ShapeMismatch, match=r"width0 is the width of .*known only at run") as e:
        into_whole(torch.randn(3, 11), 2, 9)
    assert f"test_slice_widths.py:{_line('into-whole')}:" in str(e.value)
    assert "a:a + n" in str(e.value)


def test_a_window_bounded_in_device_code_names_the_line() -> None:
    @kc.kernel
    def loaded_start(x: torch.Tensor, starts: torch.Tensor, b: int) -> torch.Tensor:
        out = torch.empty([x.size(0)], dtype=x.dtype, device=x.device)
        for tile in kl.tile(x.size(0)):
            a = starts[tile.begin]
            out[tile] = x[tile, a:b].sum(-1)  # <- loaded-start
        return out

    with pytest.raises(UnsupportedConstruct, match=r"computable before the launch") as e:
        loaded_start(torch.randn(3, 11), torch.full((3,), 2), 9)
    assert f"test_slice_widths.py:{_line('loaded-start')}:" in str(e.value)


@FEW
@given(st.integers(0, 2**16))
def test_configs_drawn_from_the_space_hold_for_a_run_time_width(seed: int) -> None:
    import random

    from kcompiler.testing import call_with_config

    x, y = torch.randn(6, 300) - 3, torch.randn(6, 300)
    space = softmax_window.config_space(x, y, 7, 250)
    cfg = space.sample(random.Random(seed))
    assert_matches_torch(
        lambda *a: call_with_config(softmax_window, cfg, *a), softmax_window_ref, x, y, 7, 250
    )


def test_compiles_for_sm_90(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The interpreter runs Python; this compiles the GPU code (the width a kernel parameter,
    # its register extent the sliced dim's) and ptxas takes it.
    monkeypatch.setenv("TRITON_CACHE_DIR", str(tmp_path / "cache"))
    args = (torch.randn(9, 37), torch.randn(9, 37), 3, 30)
    config = softmax_window.config_space(*args).default()
    (record,) = softmax_window.precompile(*args, configs=[config], target="sm_90", workers=1)
    assert record.ok, (record.error, [b.error for b in record.binaries])
