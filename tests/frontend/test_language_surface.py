"""Each feature of the kernel language, once, in a tiny kernel checked against torch.

The list follows ``kcompiler.language`` and the torch operations device code may use. Where a
feature has an effect beyond the numbers (a literal block size, a specialized size, the
compiled-variant cache), the test checks that effect too.
"""

from __future__ import annotations

import pytest
import torch

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.testing import assert_matches_torch


def _blocks(kernel: kc.Kernel) -> list[dict[str, int]]:
    return [c.block_sizes for c in kernel.compiled_variants()]


# -- iteration ------------------------------------------------------------------------------------


@kc.kernel
def tile_1d(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] * 2.0
    return out


def test_tile_1d() -> None:
    for n in (1, 3, 17, 1000, 4097):
        assert_matches_torch(tile_1d, lambda x: x * 2.0, torch.randn(n))


@kc.kernel
def tile_begin_end(x: torch.Tensor) -> torch.Tensor:
    out = torch.zeros_like(x)
    for tile in kl.tile(3, x.size(0)):
        out[tile] = x[tile] + 1.0
    return out


def test_tile_with_begin_and_end() -> None:
    def ref(x: torch.Tensor) -> torch.Tensor:
        out = torch.zeros_like(x)
        out[3:] = x[3:] + 1.0
        return out

    for n in (3, 4, 40):
        assert_matches_torch(tile_begin_end, ref, torch.randn(n))


@kc.kernel
def tile_2d(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    m, n = x.shape
    out = torch.empty_like(x)
    for tile_m, tile_n in kl.tile([m, n]):
        out[tile_m, tile_n] = x[tile_m, tile_n] * y[tile_m, tile_n]
    return out


def test_multi_dim_tile() -> None:
    x, y = torch.randn(17, 33), torch.randn(17, 33)
    assert_matches_torch(tile_2d, torch.mul, x, y)
    assert len(_blocks(tile_2d)[0]) == 2  # one block size per dim


@kc.kernel
def tile_block_16(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0), block_size=16):
        out[tile] = x[tile] - 1.0
    return out


def test_tile_with_literal_block_size() -> None:
    assert_matches_torch(tile_block_16, lambda x: x - 1.0, torch.randn(37))
    assert _blocks(tile_block_16) == [{"block_0": 16}]
    # A literal block size wins over the config's.
    k = kc.kernel(config=kc.Config(block_sizes=[64]))(tile_block_16.fn)
    assert_matches_torch(k, lambda x: x - 1.0, torch.randn(37))
    assert _blocks(k) == [{"block_0": 16}]


@kc.kernel
def nested_tiles(x: torch.Tensor) -> torch.Tensor:
    m, n = x.shape
    out = torch.empty_like(x)
    for tile_m in kl.tile(m):
        for tile_n in kl.tile(n):
            out[tile_m, tile_n] = x[tile_m, tile_n] * tile_m.index[:, None]
    return out


def test_nested_tile() -> None:
    x = torch.randn(19, 70)
    assert_matches_torch(nested_tiles, lambda x: x * torch.arange(19.0)[:, None], x)
    k = kc.kernel(config=kc.Config(block_sizes=[4, 16]))(nested_tiles.fn)
    assert_matches_torch(k, lambda x: x * torch.arange(19.0)[:, None], x)
    assert _blocks(k) == [{"block_0": 4, "block_1": 16}]


@kc.kernel
def grid_rows(x: torch.Tensor) -> torch.Tensor:
    m, n = x.shape
    out = torch.empty([m], dtype=x.dtype, device=x.device)
    for i in kl.grid(m):
        out[i] = x[i, :].sum()
    return out


def test_grid() -> None:
    assert_matches_torch(grid_rows, lambda x: x.sum(-1), torch.randn(7, 30))


@kc.kernel
def grid_2d(x: torch.Tensor) -> torch.Tensor:
    m, n = x.shape
    out = torch.empty_like(x)
    for i, j in kl.grid([m, n]):
        out[i, j] = x[i, j] * 2.0 + i
    return out


def test_grid_2d() -> None:
    x = torch.randn(3, 5)
    assert_matches_torch(grid_2d, lambda x: x * 2.0 + torch.arange(3.0)[:, None], x)


@kc.kernel
def jagged_row_sums(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    b, d = x.shape
    out = torch.zeros([b], dtype=torch.float32, device=x.device)
    x_flat = x.view(-1)
    for tile_b in kl.tile(b):
        n = lengths[tile_b]
        acc = kl.zeros([tile_b], dtype=torch.float32)
        for tile_k in kl.jagged_tile(n):
            idx = tile_b.index[:, None] * d + tile_k.index[None, :]
            acc = acc + kl.load(x_flat, [idx]).sum(dim=1)
        out[tile_b] = acc
    return out


def test_jagged_tile() -> None:
    x = torch.randn(9, 40)
    lengths = torch.tensor([0, 1, 40, 17, 0, 3, 39, 2, 20])

    def ref(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return (x * (torch.arange(40)[None, :] < lengths[:, None])).sum(1)

    assert_matches_torch(jagged_row_sums, ref, x, lengths)


@kc.kernel
def jagged_weighted_sums(x: torch.Tensor, lengths: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    b, d = x.shape
    out = torch.zeros([b], dtype=torch.float32, device=x.device)
    x_flat = x.view(-1)
    for tile_b in kl.tile(b):
        n = lengths[tile_b]
        acc = kl.zeros([tile_b], dtype=torch.float32)
        for tile_k in kl.jagged_tile(n):
            idx = tile_b.index[:, None] * d + tile_k.index[None, :]
            wk = w[tile_k, :].sum(dim=1)  # [tile_k, 3]: the inner tile and a full dim
            acc = acc + (kl.load(x_flat, [idx]) * wk[None, :]).sum(dim=1)
        out[tile_b] = acc
    return out


def test_jagged_tile_with_a_vector_of_the_inner_tile_only() -> None:
    """``w[tile_k, :]`` inside a jagged loop has no row dim for the per-row mask: it is masked
    by the tile's longest row instead (lanes past it would read past ``w``), laid out along its
    own axis, the rows' own masks applying where it meets ``x``'s rows."""
    x, w = torch.randn(9, 40), torch.randn(40, 3)
    lengths = torch.tensor([0, 1, 40, 17, 0, 3, 39, 2, 20])

    def ref(x: torch.Tensor, lengths: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return (x * w.sum(1) * (torch.arange(40)[None, :] < lengths[:, None])).sum(1)

    assert_matches_torch(jagged_weighted_sums, ref, x, lengths, w)


@kc.kernel
def jagged_sums_chunk_major(
    x: torch.Tensor, starts: torch.Tensor, lengths: torch.Tensor
) -> torch.Tensor:
    out = torch.zeros([starts.size(0)], dtype=x.dtype, device=x.device)
    for tile_b in kl.tile(starts.size(0)):
        s = starts[tile_b]
        acc = kl.zeros([tile_b], dtype=x.dtype)
        for tile_k in kl.jagged_tile(lengths[tile_b]):
            # [tile_k, tile_b]: the rows' mask, laid out [tile_b, tile_k], applies transposed.
            acc = acc + x[tile_k.index[:, None] + s[None, :]].sum(0)
        out[tile_b] = acc
    return out


def test_a_jagged_access_in_chunk_by_row_order_keeps_each_rows_length() -> None:
    """A jagged loop's per-row mask applied to an access whose dims come in the other order:
    each row sums its own length, not the longest row's (the fallback mask would)."""
    x = torch.randn(100)
    starts, lengths = torch.tensor([0, 10, 30, 31, 60, 5]), torch.tensor([10, 20, 1, 29, 40, 0])

    def ref(x: torch.Tensor, starts: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        k = torch.arange(40)[None, :]
        idx = (starts[:, None] + k).clamp(max=99)
        return torch.where(k < lengths[:, None], x[idx], 0.0).sum(1)

    assert_matches_torch(jagged_sums_chunk_major, ref, x, starts, lengths)


@kc.kernel
def jagged_row_sums_chunk_major(
    x: torch.Tensor, starts: torch.Tensor, lengths: torch.Tensor
) -> torch.Tensor:
    out = torch.zeros([starts.size(0), x.size(1)], dtype=x.dtype, device=x.device)
    for tile_b in kl.tile(starts.size(0)):
        s = starts[tile_b]
        acc = kl.zeros([tile_b, x.size(1)], dtype=x.dtype)
        for tile_k in kl.jagged_tile(lengths[tile_b]):
            # [tile_k, tile_b, cols]: the permuted row mask gains a trailing axis.
            acc = acc + x[tile_k.index[:, None] + s[None, :], :].sum(0)
        out[tile_b, :] = acc
    return out


def test_a_permuted_jagged_mask_is_expanded_to_the_access() -> None:
    x = torch.randn(100, 3)
    starts, lengths = torch.tensor([0, 10, 30, 31, 60, 5]), torch.tensor([10, 20, 1, 29, 40, 0])

    def ref(x: torch.Tensor, starts: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        k = torch.arange(40)[None, :]
        idx = (starts[:, None] + k).clamp(max=99)
        return torch.where((k < lengths[:, None])[..., None], x[idx], 0.0).sum(1)

    assert_matches_torch(jagged_row_sums_chunk_major, ref, x, starts, lengths)


@kc.kernel
def tile_attributes(x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    n = x.size(0)
    index = torch.empty([n], dtype=torch.int64, device=x.device)
    begin = torch.empty([n], dtype=torch.int64, device=x.device)
    end = torch.empty([n], dtype=torch.int64, device=x.device)
    tile_id = torch.empty([n], dtype=torch.int64, device=x.device)
    size = torch.empty([n], dtype=torch.int64, device=x.device)
    for tile in kl.tile(n, block_size=8):
        zero = kl.zeros([tile], dtype=torch.int64)
        index[tile] = tile.index
        begin[tile] = tile.begin + zero
        end[tile] = tile.end + zero
        tile_id[tile] = tile.id + zero
        size[tile] = tile.block_size + zero
    return index, begin, end, tile_id, size


def test_tile_attributes() -> None:
    def ref(x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        n = x.numel()
        i = torch.arange(n)
        begin = i // 8 * 8
        return i, begin, torch.clamp(begin + 8, max=n), i // 8, torch.full((n,), 8)

    assert_matches_torch(tile_attributes, ref, torch.randn(21))


# -- memory -------------------------------------------------------------------------------------------


@kc.kernel
def gather(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    out = torch.empty([idx.size(0)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(idx.size(0)):
        out[tile] = kl.load(x, [idx[tile]])
    return out


def test_kl_load_gather() -> None:
    x, idx = torch.randn(50), torch.randint(0, 50, (33,))
    assert_matches_torch(gather, lambda x, i: x[i], x, idx)


@kc.kernel
def gather_rows(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    out = torch.empty([idx.size(0), x.size(1)], dtype=x.dtype, device=x.device)
    for tile_b, tile_d in kl.tile([idx.size(0), x.size(1)]):
        out[tile_b, tile_d] = x[idx[tile_b], tile_d]
    return out


def test_subscript_gather_of_rows() -> None:
    x, idx = torch.randn(50, 7), torch.randint(0, 50, (13,))
    assert_matches_torch(gather_rows, lambda x, i: x[i], x, idx)


@kc.kernel
def store_explicit(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        kl.store(out, [tile], x[tile] * 3.0)
    return out


def test_kl_store() -> None:
    assert_matches_torch(store_explicit, lambda x: x * 3.0, torch.randn(29))


# -- host-side language functions ------------------------------------------------------------------


@kc.kernel
def registered_blocks(x: torch.Tensor) -> torch.Tensor:
    m, n = x.shape
    block_m = kl.register_block_size(m)
    block_n = kl.register_block_size(n)
    out = torch.empty_like(x)
    for tile_m in kl.tile(m, block_size=block_m):
        for tile_n in kl.tile(n, block_size=block_n):
            out[tile_m, tile_n] = x[tile_m, tile_n] + 1.0
    return out


def test_register_block_size() -> None:
    x = torch.randn(13, 45)
    k = kc.kernel(config=kc.Config(block_sizes=[4, 16]))(registered_blocks.fn)
    assert_matches_torch(k, lambda x: x + 1.0, x)
    assert _blocks(k) == [{"block_0": 4, "block_1": 16}]
    assert_matches_torch(kc.kernel(registered_blocks.fn), lambda x: x + 1.0, x)


@kc.kernel
def specialized(x: torch.Tensor) -> torch.Tensor:
    m, n = x.shape
    n = kl.specialize(n)
    out = torch.empty_like(x)
    for tile_m in kl.tile(m):
        out[tile_m, :] = x[tile_m, :] * n
    return out


def test_specialize() -> None:
    x = torch.randn(5, 7)
    assert_matches_torch(specialized, lambda x: x * 7, x)
    assert "* 7" in specialized.to_triton_code(x)  # the size is a literal in the code
    before = len(specialized.compiled_variants())
    assert_matches_torch(specialized, lambda x: x * 6, torch.randn(5, 6))  # same bucket
    assert len(specialized.compiled_variants()) == before + 1  # yet a new variant


@kc.kernel
def doublings(x: torch.Tensor) -> torch.Tensor:
    c = kl.specialize(x.size(1))
    steps = c.bit_length() - 1  # derived on the host: still specialized, a Python int below
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        v = x[tile, :]
        for _ in range(steps):
            v = v * 2
        out[tile, :] = v
    return out


def test_host_arithmetic_on_a_specialized_size_stays_specialized() -> None:
    for n in (4, 16):  # 2 and 4 doublings; each n a variant of its own
        x = torch.randn(5, n)
        assert_matches_torch(doublings, lambda v, n=n: v * n, x)


@kc.kernel
def with_constexpr(x: torch.Tensor, scale: kl.constexpr) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] * scale
    return out


def test_constexpr_parameter() -> None:
    x = torch.randn(19)
    assert_matches_torch(with_constexpr, lambda x, s: x * s, x, 2.5)
    assert_matches_torch(with_constexpr, lambda x, s: x * s, x, -1.25)


def test_constexpr_value_is_baked_into_the_code() -> None:
    k = kc.kernel(with_constexpr.fn)
    code = k.to_triton_code(torch.randn(19), 2.5)
    assert "2.5" in code
    k(torch.randn(19), 2.5)
    k(torch.randn(19), 3.5)
    assert len(k.compiled_variants()) == 2


@kc.kernel
def optional_bias(x: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        if bias is not None:
            out[tile] = x[tile] + bias[tile]
        else:
            out[tile] = x[tile]
    return out


def test_if_bias_is_not_none_specializes() -> None:
    x, b = torch.randn(19), torch.randn(19)
    assert_matches_torch(optional_bias, lambda x, b: x + b, x, b)
    assert_matches_torch(optional_bias, lambda x: x.clone(), x)
    assert len(optional_bias.compiled_variants()) == 2
    with_b = optional_bias.to_triton_code(x, b)
    without = optional_bias.to_triton_code(x)
    assert "bias_ptr" in with_b and "bias_ptr" not in without


# -- values ---------------------------------------------------------------------------------------------


@kc.kernel
def row_stats(x: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    m, n = x.shape
    scaled = torch.empty_like(x)
    total = torch.empty([m], dtype=torch.float32, device=x.device)
    flat = torch.empty([m], dtype=x.dtype, device=x.device)
    for tile_m in kl.tile(m):
        v = x[tile_m, :].to(torch.float32)
        s, mean = v.sum(-1), torch.mean(v, dim=-1)  # tuple unpacking in device code
        scaled[tile_m, :] = (v * w[:].to(torch.float32) - mean[:, None]).to(x.dtype)
        total[tile_m] = s
        flat[tile_m] = s.view(-1).to(x.dtype)
    return scaled, total, flat


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16], ids=str)
def test_subscripts_casts_view_and_tuple_returns(dtype: torch.dtype) -> None:
    def ref(x: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, ...]:
        v = x.float()
        s = v.sum(-1)
        scaled = (v * w.float() - v.mean(-1, keepdim=True)).to(x.dtype)
        return scaled, s, s.to(x.dtype)

    x, w = torch.randn(11, 100).to(dtype), torch.randn(100).to(dtype)
    assert_matches_torch(row_stats, ref, x, w, atol=1e-4 if dtype == torch.float32 else None)


@kc.kernel
def elementwise_math(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    m, n = x.shape
    picked = torch.empty_like(x)
    row_max = torch.empty([m], dtype=x.dtype, device=x.device)
    row_mean = torch.empty([m], dtype=x.dtype, device=x.device)
    for tile_m in kl.tile(m):
        v = x[tile_m, :]
        picked[tile_m, :] = torch.where(
            v > 0, torch.exp(v), torch.log(torch.abs(v) + 1.0) + torch.rsqrt(v * v + 1.0)
        )
        row_max[tile_m] = torch.amax(v, dim=1)
        row_mean[tile_m] = v.mean(dim=-1)
    return picked, row_max, row_mean


def test_where_exp_log_rsqrt_amax_mean() -> None:
    def ref(x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        picked = torch.where(
            x > 0, torch.exp(x), torch.log(x.abs() + 1.0) + torch.rsqrt(x * x + 1.0)
        )
        return picked, x.amax(1), x.mean(-1)

    assert_matches_torch(elementwise_math, ref, torch.randn(6, 33))


@kc.kernel
def accumulate(x: torch.Tensor) -> torch.Tensor:
    m, n = x.shape
    out = torch.empty([m], dtype=torch.float32, device=x.device)
    for tile_m in kl.tile(m):
        acc = kl.zeros([tile_m], dtype=torch.float32)
        best = kl.full([tile_m], float("-inf"), dtype=torch.float32)
        for tile_n in kl.tile(n):
            v = x[tile_m, tile_n].to(torch.float32)
            acc = acc + v.sum(dim=1)
            best = torch.maximum(best, v.amax(dim=1))
        out[tile_m] = acc + best
    return out


def test_zeros_full_and_loop_carried_accumulators() -> None:
    x = torch.randn(7, 300)
    assert_matches_torch(accumulate, lambda x: x.sum(1) + x.amax(1), x, atol=1e-4)
    k = kc.kernel(config=kc.Config(block_sizes=[2, 8]))(accumulate.fn)  # many inner trips
    assert_matches_torch(k, lambda x: x.sum(1) + x.amax(1), x, atol=1e-4)


@kc.kernel
def augmented_and_unrolled(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        v = x[tile]
        acc = torch.zeros_like(v)
        for i in range(3):  # a Python range is unrolled
            acc += v * i
        out[tile] = acc
    return out


def test_augmented_assignment_and_unrolled_range() -> None:
    assert_matches_torch(augmented_and_unrolled, lambda x: x * 3.0, torch.randn(45))


# -- the compiled code and its cache ------------------------------------------------------------------


def test_to_triton_code() -> None:
    code = tile_1d.to_triton_code(torch.randn(100))
    assert "@triton.jit" in code
    assert "def tile_1d_kernel" in code
    compile(code, "<to_triton_code>", "exec")  # valid Python


def test_to_ir_prints_the_tile_dialect() -> None:
    ir = tile_1d.to_ir(torch.randn(100))
    assert "tile." in ir and "tile_1d_kernel" in ir


def test_compiled_variants_are_cached_by_dtype_and_rank() -> None:
    k = kc.kernel(tile_1d.fn)
    assert len(k.compiled_variants()) == 0
    k(torch.randn(40))
    assert len(k.compiled_variants()) == 1
    k(torch.randn(40))  # same everything
    k(torch.randn(56))  # other size, same power-of-two bucket and largest power-of-two divisor
    assert len(k.compiled_variants()) == 1
    # A last stride other than 1 is its own variant: a tensor descriptor is refused on it.
    k(torch.randn(80)[::2])
    k(torch.randn(120)[::3])
    assert len(k.compiled_variants()) == 2
    k(torch.randn(33))  # same bucket, odd: its tiles may be partial, so it needs masks
    assert len(k.compiled_variants()) == 3
    k(torch.randn(40))
    assert len(k.compiled_variants()) == 3
    k(torch.randn(40, dtype=torch.float16))
    assert len(k.compiled_variants()) == 4
    k(torch.randn(40, dtype=torch.float16))
    assert len(k.compiled_variants()) == 4
    k(torch.randn(40, dtype=torch.bfloat16))
    assert len(k.compiled_variants()) == 5
    assert_matches_torch(k, lambda x: x * 2.0, torch.randn(56, dtype=torch.bfloat16))
    assert len(k.compiled_variants()) == 5


# -- arithmetic semantics follow torch ---------------------------------------------------------------


@kc.kernel
def divmod_kernel(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    quotient = torch.empty_like(x)
    remainder = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        quotient[tile] = x[tile] // y[tile]
        remainder[tile] = x[tile] % y[tile]
    return quotient, remainder


def test_floor_division_and_modulo_of_positive_ints() -> None:
    x, y = torch.tensor([7, 8, 9, 100]), torch.tensor([2, 3, 9, 7])
    assert_matches_torch(divmod_kernel, lambda x, y: (x // y, x % y), x, y)


def test_floor_division_and_modulo_of_negative_ints() -> None:
    x, y = torch.tensor([7, -7, 7, -7, 0, -1]), torch.tensor([2, 2, -2, -2, 3, 5])
    assert_matches_torch(divmod_kernel, lambda x, y: (x // y, x % y), x, y)


def test_floor_division_and_modulo_of_floats() -> None:
    x = torch.tensor([7.5, -7.5, 7.5, -7.5, 0.25])
    y = torch.tensor([2.0, 2.0, -2.0, -2.0, 0.5])
    assert_matches_torch(divmod_kernel, lambda x, y: (x // y, x % y), x, y)


@kc.kernel
def add_kernel(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] + y[tile]
    return out


def test_bool_addition() -> None:
    x = torch.tensor([True, True, False, False])
    y = torch.tensor([True, False, True, False])
    assert_matches_torch(add_kernel, torch.add, x, y)


@pytest.mark.parametrize("dtype", [torch.int8, torch.int16, torch.int32, torch.int64])
def test_integer_addition(dtype: torch.dtype) -> None:
    x = torch.randint(-50, 50, (37,), dtype=dtype)
    y = torch.randint(-50, 50, (37,), dtype=dtype)
    assert_matches_torch(add_kernel, torch.add, x, y)
