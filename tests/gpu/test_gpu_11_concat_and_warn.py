"""tile.concat and the opt-in KCOMPILER_OUT_OF_BOUNDS=warn on CUDA. On the CPU the same
kernels run on the interpreter (tests/frontend/test_cat.py, test_stack.py,
tests/kernels/test_out_of_bounds_warn.py) and the gathers compile for sm_90; here the
tl.gather lowering runs on the GPU and the warnings come from the pinned error records,
at the kernel's next call or at ``kc.check_errors()``. Run with::

    TRITON_INTERPRET=0 python -m pytest tests/gpu/test_gpu_11_concat_and_warn.py -q -p no:cacheprovider
"""

from __future__ import annotations

import warnings

import pytest
import torch
from gpu_support import import_test_module, needs_cuda

import kcompiler as kc
from kcompiler import settings
from kcompiler.testing import FLOAT_DTYPES, assert_matches_torch

pytestmark = [needs_cuda, pytest.mark.gpu]

cat = import_test_module("frontend", "test_cat")
stack = import_test_module("frontend", "test_stack")
warn = import_test_module("kernels", "test_out_of_bounds_warn")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_concat_on_cuda_matches_torch(dtype: torch.dtype) -> None:
    x = torch.randn(300, 8, device="cuda").to(dtype)
    assert_matches_torch(cat.cat_slices, lambda a: torch.cat([a[:, :4], a[:, :8] + 1], 1), x)
    a = torch.randn(3, 333, device="cuda").to(dtype)
    b = torch.randn(6, 333, device="cuda").to(dtype)
    assert_matches_torch(cat.cat_rows, lambda a, b: torch.cat([a, b * 2], 0), a, b)
    p = torch.randn(257, 16, device="cuda").to(dtype)
    q = -torch.rand(257, 32, device="cuda").to(dtype) - 1
    assert_matches_torch(cat.cat_then_reduce, cat.cat_then_reduce_ref, p, q)
    v = torch.randn(1000, device="cuda").to(dtype)
    assert_matches_torch(stack.stack_three, lambda a: torch.stack([a, a + 1, a * 2], 1), v)


def test_warn_mode_on_cuda_masks_and_warns_at_the_next_check() -> None:
    x = torch.arange(10, dtype=torch.float32, device="cuda") + 1
    idx = torch.tensor([0, 10, 3], device="cuda")
    fresh = kc.kernel(warn.take.fn)
    with settings.override(out_of_bounds="warn"), warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        out = fresh(x, idx)
        kc.check_errors()
    assert out.tolist() == [1.0, 0.0, 4.0]
    assert [w.category for w in got] == [kc.exc.IndexOutOfBoundsWarning]
