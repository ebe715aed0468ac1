"""Wide rows are reduced in a chunked loop by default; the space never holds a chunked config
that asks a thread for more than 256 elements (such configs took > 30 s to compile on an H100)."""

from __future__ import annotations

import torch

import kcompiler as kc
from kcompiler.kernels.softmax import softmax as bundled
from kcompiler.passes.split_reductions import DEFAULT_CHUNK, WIDE_ROW, default_reduction_chunk

# A fresh kernel: other tests may have tuned the bundled one (its config then sets the knob).
softmax = kc.kernel(bundled.fn)


def test_default_chunk_only_for_wide_rows() -> None:
    assert default_reduction_chunk(WIDE_ROW) is None
    assert default_reduction_chunk(WIDE_ROW + 1) == DEFAULT_CHUNK


def test_a_wide_row_loops_by_default_and_stays_correct() -> None:
    x = torch.randn(3, WIDE_ROW + 100)
    code = softmax.to_triton_code(x)
    assert "tl.range(" in code  # the chunk loop
    assert "tl.range(" not in softmax.to_triton_code(torch.randn(3, 1000))
    torch.testing.assert_close(softmax(x), torch.softmax(x, -1))
    # An explicit None keeps the whole row in registers, as before.
    whole = softmax.to_triton_code(x, config=kc.Config(reduction_loops=[None]))
    assert "tl.range(" not in whole


def test_space_default_and_register_bound() -> None:
    x = torch.empty(4096, 128256, device="meta", dtype=torch.bfloat16)
    space = softmax.config_space(x)
    assert space.knob("reduction_loops[0]").default == DEFAULT_CHUNK
    ok = space.complete({"block_sizes": [1], "num_warps": 8, "reduction_loops": [4096]})
    assert space.is_valid(ok)
    huge = space.complete({"block_sizes": [8], "num_warps": 4, "reduction_loops": [32768]})
    assert not space.is_valid(huge)  # 2048 elements per thread
    narrow = softmax.config_space(torch.empty(64, 1000, device="meta"))
    assert all(not n.startswith("reduction_loops") for n in narrow.names) or (
        narrow.knob("reduction_loops[0]").default is None
    )
