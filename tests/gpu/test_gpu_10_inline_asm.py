"""kl.inline_asm_elementwise on CUDA: the inline PTX runs, with int8 args in 32-bit registers
(the way Helion's nvfp4_gemv decodes its e4m3 scales). On the CPU the same kernels are
checked by an sm_90 compile (tests/frontend/test_inline_asm.py). Run with::

    TRITON_INTERPRET=0 python -m pytest tests/gpu/test_gpu_10_inline_asm.py -q -p no:cacheprovider
"""

from __future__ import annotations

import pytest
import torch
from gpu_support import import_test_module, needs_cuda

pytestmark = [needs_cuda, pytest.mark.gpu]


frontend = import_test_module("frontend", "test_inline_asm")


def test_broadcast_args_and_a_literal() -> None:
    rows = torch.arange(37, dtype=torch.int8, device="cuda")
    cols = torch.arange(19, dtype=torch.int8, device="cuda") - 9
    expected = (rows[:, None].int() + cols[None, :].int() + 3).float()
    torch.testing.assert_close(frontend.add_bytes(rows, cols), expected)


def test_e4m3_bytes_decode_as_torch_does() -> None:
    codes = torch.arange(-128, 128, dtype=torch.int8, device="cuda")
    expected = codes.view(torch.float8_e4m3fn).float()
    torch.testing.assert_close(frontend.e4m3_to_float(codes), expected, equal_nan=True)
