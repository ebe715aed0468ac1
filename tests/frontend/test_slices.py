"""Slices with bounds in device code, against torch's slicing.

``out[tile, :n1] = x[tile, :]`` and ``out[tile, n1:] = y[tile, :]`` (concatenation),
``x[tile, a:a + k]`` (a window at a run-time start), ``x[tile, 3:13:2]`` (a static step): each
bound slice is a run of positions with a width the compiler can name (a literal, a size, a
block size, or the stored value's width). A slice that runs past the tensor when the kernel
compiles is an error naming the line; in a launch, positions past the tensor's end are masked
off (torch's clamping), and a negative position raises IndexOutOfBounds.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.exc import IndexOutOfBounds, ShapeMismatch
from kcompiler.testing import (
    FLOAT_DTYPES,
    assert_matches_torch,
    call_with_config,
    few_examples,
    marker_line,
    tensors,
)

FEW = few_examples(4)


def _line(marker: str) -> int:
    return marker_line(__file__, marker)


@kc.kernel
def concat(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty([x.size(0), x.size(1) + y.size(1)], dtype=x.dtype, device=x.device)
    n1 = x.size(1)
    for tile in kl.tile(x.size(0)):
        out[tile, :n1] = x[tile, :]
        out[tile, n1:] = y[tile, :]  # <- tail
    return out


@FEW
@given(st.data())
def test_concatenation_by_slices_matches_torch(data: st.DataObject) -> None:
    m = data.draw(st.sampled_from([1, 3, 17]))
    n1, n2 = data.draw(st.sampled_from([(1, 3), (7, 16), (17, 5)]))
    dtype = data.draw(st.sampled_from(FLOAT_DTYPES))
    x = data.draw(tensors((m, n1), dtype))
    y = data.draw(tensors((m, n2), dtype))
    assert_matches_torch(concat, lambda a, b: torch.cat([a, b], 1), x, y)


@kc.kernel
def window(x: torch.Tensor, starts: torch.Tensor, k: int) -> torch.Tensor:
    out = torch.empty([x.size(0), k], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        a = starts[tile.begin]  # a run-time start, the same for the tile's rows
        out[tile, :] = x[tile, a : a + k] * 2  # <- window
    return out


def window_ref(x: torch.Tensor, starts: torch.Tensor, k: int) -> torch.Tensor:
    a = int(starts[0])
    return x[:, a : a + k] * 2


@FEW
@given(st.data())
def test_window_at_a_runtime_start_matches_torch(data: st.DataObject) -> None:
    m = data.draw(st.sampled_from([1, 5, 17]))
    k = data.draw(st.sampled_from([3, 8]))
    a = data.draw(st.integers(0, 4))
    dtype = data.draw(st.sampled_from(FLOAT_DTYPES))
    x = data.draw(tensors((m, k + 6), dtype))
    starts = torch.full((m,), a, dtype=torch.int64)
    assert_matches_torch(window, window_ref, x, starts, k)


def test_window_past_the_end_at_run_time_is_clamped() -> None:
    x = torch.randn(4, 9)
    starts = torch.full((4,), 7, dtype=torch.int64)  # 7..9 runs past 9 columns
    got = window(x, starts, 3)
    # torch's x[:, 7:10] is x[:, 7:9]; the block keeps its width, the dropped column reads 0.
    torch.testing.assert_close(got, torch.cat([x[:, 7:9] * 2, torch.zeros(4, 1)], 1))


def test_window_before_the_start_at_run_time_is_caught() -> None:
    x = torch.randn(4, 9)
    starts = torch.full((4,), -2, dtype=torch.int64)  # a computed negative start does not wrap
    with pytest.raises(IndexOutOfBounds, match=rf"test_slices.py:{_line('window')}\b.*'x'"):
        window(x, starts, 3)


@kc.kernel(static_shapes=True)
def strided(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty([x.size(0), 5], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        out[tile, :] = x[tile, 3:13:2] + x[tile, 1:6]  # <- strided
    return out


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_static_and_strided_slices_match_torch(dtype: torch.dtype) -> None:
    x = torch.randn(19, 13).to(dtype)
    assert_matches_torch(strided, lambda v: v[:, 3:13:2] + v[:, 1:6], x)


def test_a_slice_past_the_end_names_the_line() -> None:
    # 3:13:2 reaches column 11 of a 10-column tensor; torch would clamp, kcompiler refuses.
    with pytest.raises(ShapeMismatch, match=rf"test_slices.py:{_line('strided')}\b.*runs to"):
        strided(torch.randn(4, 10))


def test_a_tail_of_the_wrong_width_names_the_line() -> None:
    @kc.kernel
    def short_tail(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out = torch.empty([x.size(0), x.size(1) + 2], dtype=x.dtype, device=x.device)
        for tile in kl.tile(x.size(0)):
            out[tile, 2:] = y[tile, :]  # <- short-tail
        return out

    # out[:, 2:] has 5 columns, y has 9: the stored width runs past out's end.
    with pytest.raises(ShapeMismatch, match=rf"test_slices.py:{_line('short-tail')}\b"):
        short_tail(torch.randn(3, 5), torch.randn(3, 9))


def test_a_tail_narrower_than_the_slice_names_the_line() -> None:
    @kc.kernel
    def narrow_tail(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out = torch.zeros([x.size(0), x.size(1) + 7], dtype=x.dtype, device=x.device)
        for tile in kl.tile(x.size(0)):
            out[tile, 2:] = y[tile, :]  # <- narrow-tail
        return out

    # out[:, 2:] has 10 columns, y 3: torch refuses the shapes, so does kcompiler.
    with pytest.raises(ShapeMismatch, match=rf"test_slices.py:{_line('narrow-tail')}\b.*10 pos"):
        narrow_tail(torch.randn(3, 5), torch.randn(3, 3))


@kc.kernel
def concat_masked(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty([x.size(0), x.size(1) + y.size(1)], dtype=x.dtype, device=x.device)
    for t0, t1 in kl.tile(out.size()):
        # t1 runs over out's columns, past x's: the extra masks confine each load to its part.
        left = (t1.index < x.size(1))[None, :]
        xp = kl.load(x, [t0, t1], extra_mask=left)
        yp = kl.load(y, [t0, t1.index - x.size(1)], extra_mask=(t1.index >= x.size(1))[None, :])
        out[t0, t1] = torch.where(left, xp, yp)
    return out


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_concatenation_by_masked_loads_matches_torch(dtype: torch.dtype) -> None:
    x, y = torch.randn(7, 5).to(dtype), torch.randn(7, 11).to(dtype)
    assert_matches_torch(
        lambda a, b: call_with_config(concat_masked, kc.Config(block_sizes=[4, 4]), a, b),
        lambda a, b: torch.cat([a, b], 1),
        x,
        y,
    )
