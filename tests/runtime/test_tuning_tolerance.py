"""The tuner's check of a candidate against the default config's output (runtime/tuning.py
``outputs_match``): the absolute tolerance scales with the size of the output's values."""

from __future__ import annotations

import torch

from kcompiler.runtime.tuning import output_scale, outputs_match


def test_scale_is_the_mean_magnitude_of_finite_values():
    assert output_scale(torch.full((8,), -51.0)) == 51.0
    assert output_scale(torch.full((8,), 0.25)) == 0.25
    assert output_scale(torch.tensor([0.25])) == 0.25  # a single element is no special case
    assert output_scale(torch.tensor([float("nan"), float("inf"), 4.0, -8.0])) == 6.0
    assert output_scale(torch.tensor([float("nan")])) == 1.0
    assert output_scale(torch.arange(10)) == 1.0  # integer outputs compare exactly
    assert output_scale(torch.empty(0)) == 1.0


def test_a_dot_sized_difference_passes_where_a_real_error_does_not():
    """fp8 GEMM: K-block accumulation order changes outputs by ~0.05 at mean size ~51."""
    want = (torch.randn(256, 256, generator=torch.Generator().manual_seed(0)) * 64).half()
    close = want + 0.05 * torch.sign(torch.randn_like(want))
    wrong = want.clone()
    wrong[3, 7] += 5.0
    assert outputs_match(close, want)
    assert not outputs_match(wrong, want)


def test_small_outputs_are_not_matched_by_zeros_or_a_uniform_row():
    """A bf16 softmax of 4097 columns (values ~1/4097): a fixed 1e-2 floor accepted zeros."""
    x = torch.randn(64, 4097, generator=torch.Generator().manual_seed(1))
    want = torch.softmax(x, 1).bfloat16()
    assert outputs_match(torch.softmax(x.double(), 1).bfloat16(), want)
    assert not outputs_match(torch.zeros_like(want), want)
    assert not outputs_match(torch.full_like(want, 1 / 4097), want)


def test_integer_outputs_compare_exactly():
    want = torch.arange(10)
    assert outputs_match(want.clone(), want)
    assert not outputs_match(want + (torch.arange(10) == 3), want)


def test_another_shape_or_dtype_never_matches():
    want = torch.ones(4, 3)
    assert not outputs_match(torch.ones(3, 4), want)  # same dtype, another shape
    assert not outputs_match(torch.ones(4, 3, dtype=torch.float64), want)  # same shape


def test_float32_is_held_to_1e4_relative_half_precision_to_1e2():
    want = torch.ones(64)
    assert not outputs_match(want * (1 + 1e-3), want)  # fp32: 1e-3 is a wrong result
    assert outputs_match(want * (1 + 5e-5), want)
    half = torch.ones(64, dtype=torch.float16)
    assert outputs_match((half.float() * (1 + 4e-3)).half(), half)  # fp16: one rounding


def test_large_elements_are_compared_relatively():
    """One element 1e4 among ones: the absolute part (1e-4 x mean ~101) is 0.01, so the large
    element's one-in-20,000 difference passes only through the relative tolerance."""
    want = torch.ones(100)
    want[7] = 1e4
    got = want.clone()
    got[7] += 0.5
    assert outputs_match(got, want)
    got[7] += 2.0
    assert not outputs_match(got, want)


def test_nan_matches_nan_in_the_same_place():
    want = torch.tensor([1.0, float("nan"), 3.0])
    assert outputs_match(want.clone(), want)
    assert not outputs_match(torch.tensor([1.0, 2.0, 3.0]), want)
    assert not outputs_match(torch.tensor([float("nan"), float("nan"), 3.0]), want)
