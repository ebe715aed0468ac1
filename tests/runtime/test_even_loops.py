"""Whole-tile loops: a variant compiled without bounds masks (its block divides the size) must
never serve a size the block does not divide, and must give torch's results where it runs.

The divisor of each size is part of the specialization key (frontend/specialize.py); these
tests call one Kernel object at sizes of one power-of-two bucket, divisible and not, in both
orders, so a cached unmasked variant reused for a ragged size would read and write past the
rows (wrong values in the checked output, or the poisoned tail overwritten).
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import kcompiler as kc
from kcompiler.frontend.specialize import (
    INT32_MAX,
    MAX_DIVISOR,
    SpecializedInt,
    pow2_divisor,
    specialize,
)
from kcompiler.kernels.attention import attention, attention_reference
from kcompiler.kernels.softmax import softmax
from kcompiler.kernels.sum import sum as row_sum
from kcompiler.testing import call_with_config, reduction_atol


def fresh(kernel: kc.Kernel) -> kc.Kernel:
    return kc.kernel(kernel.fn)


def test_pow2_divisor() -> None:
    assert [pow2_divisor(n) for n in (1, 2, 3, 12, 64, 96, 4097)] == [1, 2, 1, 4, 64, 32, 1]
    assert pow2_divisor(3 << 20) == MAX_DIVISOR
    assert pow2_divisor(1 << 20) == 1 << 20  # a power of two: its bucket holds only itself
    assert pow2_divisor(0) == MAX_DIVISOR  # an empty extent has no partial tile


def test_divisor_is_part_of_the_specialization_key() -> None:
    # 48 and 64 share the power-of-two bucket 64; only the divisor tells them apart.
    keys = {
        specialize(["x"], {"x": torch.empty(4, n)}, static_shapes=False).key for n in (48, 64, 40)
    }
    assert len(keys) == 3
    same = {specialize(["x"], {"x": torch.empty(4, n)}, False).key for n in (80, 112)}  # both 16
    assert len(same) == 1


def _tensor_dims(names: list[str], env: dict) -> tuple[str, ...]:
    """The dims the specialization key gives the first argument (a tensor)."""
    (entry, *_), *_ = specialize(names, env, static_shapes=False).key
    return entry[3]


def test_sizes_0_and_1_and_specialized_sizes_are_static() -> None:
    """A size of 0 or 1 is a literal in the key (and the code); so is every size equal to a
    ``kl.specialize``'d int, in every tensor, whether the int is an argument of its own or
    sits in a tuple or list among the arguments; other sizes are symbols."""
    assert _tensor_dims(["x"], {"x": torch.empty(0, 1, 6)}) == ("0", "1", "s0")
    x = torch.empty(4, 7)
    seven = SpecializedInt(7)
    for extra in ({"n": seven}, {"n": seven, "t": (1, 2)}, {"t": [3, (seven,)]}):
        names = ["x", *extra]
        assert _tensor_dims(names, {"x": x, **extra}) == ("s0", "7"), extra
    assert _tensor_dims(["x", "t"], {"x": x, "t": (1, 2)}) == ("s0", "s1")


def test_64_bit_offsets_start_past_int32_max() -> None:
    # A tensor spanning INT32_MAX elements (its farthest offset INT32_MAX - 1), or holding
    # that many, still fits 32-bit offsets; one more element does not. Meta tensors: no memory.
    def big(x: torch.Tensor) -> bool:
        return specialize(["x"], {"x": x}, False).int64_indexing

    m = INT32_MAX
    assert not big(torch.empty(m, dtype=torch.int8, device="meta"))
    assert big(torch.empty(m + 1, dtype=torch.int8, device="meta"))
    assert not big(torch.empty_strided((2,), (m - 1,), device="meta"))
    assert big(torch.empty_strided((2,), (m,), device="meta"))


def test_key_separates_int_sizes_offsets_and_opaque_arguments() -> None:
    """Which tensor size an int argument equals, whether any tensor's strided extent needs
    64-bit offsets, and which object an opaque argument is, are each part of the key."""
    x = torch.empty(4, 7)

    def key(**env):  # noqa: ANN003, ANN202
        return specialize(["x", *env], {"x": x, **env}, static_shapes=False).key

    assert key(n=4) != key(n=7)  # the int shares the size symbol of x's dim 0, then dim 1
    wide = torch.empty(2, 2, device="meta").as_strided((2, 2), (2**31, 1))  # 4 elements
    assert specialize(["x", "w"], {"x": x, "w": wide}, False).int64_indexing
    assert not specialize(["x"], {"x": x}, False).int64_indexing
    a, b = object(), object()  # both alive: distinct ids
    assert key(f=a) != key(f=b)  # two opaque objects of one type: two variants


def test_unmasked_code_for_whole_tiles_only() -> None:
    even = softmax.to_triton_code(torch.randn(16, 64))
    ragged = softmax.to_triton_code(torch.randn(16, 48))
    assert "mask" not in even.split("def launch")[0]
    assert "< s1" in ragged  # the 48-wide row is masked against its size
    # a whole row wider than MAX_DIVISOR: unmasked only when it is exactly its register extent
    wide = torch.empty(2, 2 * MAX_DIVISOR, device="meta")
    assert "< s1" not in softmax.to_triton_code(wide).split("def launch")[0]
    wide = torch.empty(2, 3 * MAX_DIVISOR, device="meta")
    assert "< s1" in softmax.to_triton_code(wide).split("def launch")[0]


@pytest.mark.parametrize("order", [(64, 48, 64), (48, 64, 48), (8192, 6144, 8192)])
def test_one_kernel_alternating_divisible_and_ragged_rows(order: tuple[int, ...]) -> None:
    k = fresh(row_sum)
    for n in order:
        x = torch.randn(24, n)
        atol = reduction_atol(x.dtype, n)  # 1e-5 flaked at n = 8192 (another summation order)
        torch.testing.assert_close(k(x), x.sum(-1), rtol=1e-5, atol=atol)


@settings(max_examples=12, deadline=None)
@given(
    rows=st.sampled_from([16, 17, 32, 40]),
    cols=st.sampled_from([32, 33, 48, 64, 96]),
    block=st.sampled_from([8, 16, 32]),
)
def test_softmax_block_vs_size(rows: int, cols: int, block: int) -> None:
    k = fresh(softmax)
    x = torch.randn(rows, cols)
    out = call_with_config(k, kc.Config(block_sizes=[block]), x)
    torch.testing.assert_close(out, torch.softmax(x, -1), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("causal", [False, True])
def test_attention_whole_and_partial_key_blocks(causal: bool) -> None:
    """Key lengths 64 (blocks of 16 and 32 divide it) and 40 (they do not), one Kernel."""
    k = fresh(attention)
    for s, block in [(64, 32), (40, 32), (64, 16), (40, 16)]:
        q, kk, v = (torch.randn(1, 2, s, 16) for _ in range(3))
        cfg = kc.Config(block_sizes=[16, block])
        out = call_with_config(k, cfg, q, kk, v, causal)
        torch.testing.assert_close(out, attention_reference(q, kk, v, causal), rtol=1e-4, atol=1e-5)
