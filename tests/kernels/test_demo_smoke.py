"""The README's main job must keep working: every bundled kernel runs and matches torch."""

from __future__ import annotations

import pytest
import torch

from kcompiler.demo import cases


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_bundled_kernels_match_torch(dtype: torch.dtype) -> None:
    tol = 1e-4 if dtype == torch.float32 else 6e-2
    for name, run, ref in cases("cpu", large=False, dtype=dtype):
        got, want = run(), ref()
        assert got.shape == want.shape, name
        torch.testing.assert_close(got.float(), want.float(), atol=tol, rtol=tol, msg=name)
