"""The tuner's check of a candidate against the default config's output: absolute tolerance
scales with the size of the output's values (runtime/tuning.py ``_scale``)."""

from __future__ import annotations

import torch

from kcompiler.runtime.tuning import _scale


def test_scale_is_the_mean_magnitude_of_finite_values_and_at_least_one():
    assert _scale(torch.full((8,), -51.0)) == 51.0
    assert _scale(torch.full((8,), 0.25)) == 1.0
    assert _scale(torch.tensor([float("nan"), float("inf"), 4.0, -8.0])) == 6.0
    assert _scale(torch.tensor([float("nan")])) == 1.0
    assert _scale(torch.arange(10)) == 1.0  # integer outputs compare exactly elsewhere
    assert _scale(torch.empty(0)) == 1.0


def test_a_dot_sized_difference_passes_where_a_real_error_does_not():
    """fp8 GEMM on the H100: K-block accumulation differs by ~0.05 at mean size ~51."""
    want = torch.randn(256, 256, generator=torch.Generator().manual_seed(0)) * 64
    tol = 1e-2
    close = want + 0.05 * torch.sign(torch.randn_like(want))
    wrong = want.clone()
    wrong[3, 7] += 5.0
    for got, ok in ((close, True), (wrong, False)):
        assert torch.allclose(got, want, atol=tol * _scale(want), rtol=tol) is ok
