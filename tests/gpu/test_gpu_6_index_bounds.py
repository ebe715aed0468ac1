"""Issue 20: out-of-range computed indices on CUDA (backends/triton/bounds.py).

On a GPU the launch does not synchronize: the kernel masks the bad lanes and records them in
an error buffer in pinned host memory, and ``IndexOutOfBounds`` is raised at the kernel's next
call or at ``kc.check_errors()`` / ``kernel.check_errors()``. Run with::

    TRITON_INTERPRET=0 python -m pytest tests/gpu/test_gpu_6_index_bounds.py -q -p no:cacheprovider

On an H200 (Triton 3.6, torch 2.11) all pass: Triton takes the pinned host pointers as kernel
arguments, and the fast path's replayed launch is kept with the checks on.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from gpu_support import needs_cuda

import kcompiler as kc
from kcompiler.kernels.cross_entropy import cross_entropy
from kcompiler.kernels.embedding import embedding
from kcompiler.kernels.jagged_mean import jagged_mean

pytestmark = [needs_cuda, pytest.mark.gpu]


def test_embedding_out_of_range_raises_at_next_call() -> None:
    w = torch.randn(1000, 64, device="cuda")
    x = torch.randint(0, 1000, (4, 257), device="cuda")
    torch.testing.assert_close(embedding(x, w), F.embedding(x, w))
    bad = x.clone()
    bad[2, 100] = 1000
    out = embedding(bad, w)  # returns at once: nothing waits for the GPU
    torch.cuda.synchronize()
    # The bad row read nothing (0); the others are exact.
    assert out[2, 100].eq(0).all()
    keep = torch.ones_like(bad, dtype=torch.bool)
    keep[2, 100] = False
    torch.testing.assert_close(out[keep], F.embedding(x, w)[keep])
    with pytest.raises(kc.exc.IndexOutOfBounds, match=r"embedding\.py:\d+: index 1000 .*'weight'"):
        embedding(x, w)
    # Reported once: the next calls run.
    for _ in range(3):
        torch.testing.assert_close(embedding(x, w), F.embedding(x, w))


@pytest.mark.parametrize("value", [-1, 10**9, -(2**40)])
def test_embedding_out_of_range_raises_at_check(value: int) -> None:
    w = torch.randn(1000, 64, device="cuda")
    x = torch.randint(0, 1000, (1024,), device="cuda")
    for _ in range(5):  # the fast path's replayed launch
        embedding(x, w)
    embedding.check_errors()
    bad = x.clone()
    bad[513] = value
    embedding(bad, w)
    with pytest.raises(kc.exc.IndexOutOfBounds, match=rf"index {value} .*valid range \[0, 999\]"):
        kc.check_errors()
    kc.check_errors()  # consumed


def test_cross_entropy_and_jagged_mean_on_cuda() -> None:
    logits = torch.randn(64, 1000, device="cuda")
    labels = torch.randint(0, 1000, (64,), device="cuda")
    labels[5] = -100
    torch.testing.assert_close(cross_entropy(logits, labels), F.cross_entropy(logits, labels))
    labels[9] = 1000
    cross_entropy(logits, labels)
    with pytest.raises(kc.exc.IndexOutOfBounds, match=r"index 1000 .*'logits'"):
        cross_entropy.check_errors()
    values = torch.randn(100, 8, device="cuda")
    jagged_mean(values, torch.tensor([0, 30, 60, 101], device="cuda"))
    with pytest.raises(kc.exc.IndexOutOfBounds, match=r"'x_flat' \(size 800"):
        kc.check_errors()
