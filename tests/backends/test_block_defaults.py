"""Default block sizes keep every block value within the register budget, including values
that combine parallel tiles with sequential chunks."""

from __future__ import annotations

import torch

from kcompiler.backends.triton.block_defaults import TARGET_ELEMENTS, default_block_sizes
from kcompiler.backends.triton.blocks import largest_block
from kcompiler.kernels.jagged_mean import jagged_mean_kernel


def test_jagged_mean_defaults_fit_the_budget() -> None:
    b, length, d = 1024, 2048, 256  # the PERF-ANCHORS shape
    args = (
        torch.empty(b * length // 2, d, device="meta", dtype=torch.bfloat16),
        torch.empty(b + 1, device="meta", dtype=torch.int64),
        torch.empty(b, device="meta", dtype=torch.int32),
        d,
    )
    (module,) = jagged_mean_kernel.traced_modules(args, {})
    sizes = default_block_sizes(module)
    # Before: 1024 rows x 32 x 32 = 2**20 elements, which took 75 s to compile on an H100.
    assert largest_block(module, sizes) <= TARGET_ELEMENTS
    assert min(sizes.values()) >= 1
