"""split-reductions: chunked reductions give torch's results, and the IR rewrite is safe.

Kernels run through the runtime with ``kc.Config(reduction_loops=[chunk])`` on Triton's CPU
interpreter; rows are few so that N up to 2^17 stays fast.
"""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from hypothesis import given
from hypothesis import strategies as st
from xdsl.context import Context

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.exc import InvalidConfig
from kcompiler.kernels.cross_entropy import cross_entropy
from kcompiler.kernels.layer_norm import layer_norm_fwd
from kcompiler.kernels.rms_norm import rms_norm_fwd
from kcompiler.kernels.softmax import softmax, softmax_decomposed
from kcompiler.kernels.sum import sum as row_sum
from kcompiler.passes.pipeline import make_context
from kcompiler.passes.split_reductions import (
    SplitReductionsPass,
    chunks_from_reduction_loops,
    reduction_dims,
)
from kcompiler.runtime.kernel import interpreting
from kcompiler.runtime.tuning import output_scale
from kcompiler.testing import (
    assert_matches_torch,
    call_with_config,
    normalize_atol,
    reduction_atol,
    tensors,
)
from kcompiler.testing_values import Stratum, strata, stratified


def _cases(m: int, n: int, dtype: torch.dtype, seed: int = 0):
    """(name, kernel, args, torch reference) for the five reduction kernels."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(m, n, generator=g).to(dtype)
    w = torch.randn(n, generator=g).to(dtype)
    b = torch.randn(n, generator=g).to(dtype)
    labels = torch.randint(0, n, (m,), generator=g)
    xf, wf, bf = x.float(), w.float(), b.float()
    return [
        (
            "rms_norm",
            rms_norm_fwd,
            (x, w, 1e-5),
            lambda out: (out[0], torch.nn.functional.rms_norm(xf, [n], wf, 1e-5)),
        ),
        (
            "layer_norm",
            layer_norm_fwd,
            (x, [n], w, b, 1e-5),
            lambda out: (out[0], torch.nn.functional.layer_norm(xf, [n], wf, bf, 1e-5)),
        ),
        ("softmax", softmax, (x,), lambda out: (out, torch.softmax(xf, 1))),
        ("softmax_decomposed", softmax_decomposed, (x,), lambda out: (out, torch.softmax(xf, 1))),
        ("sum", row_sum, (x,), lambda out: (out, xf.sum(1))),
        (
            "cross_entropy",
            cross_entropy,
            (x, labels),
            lambda out: (out, torch.nn.functional.cross_entropy(xf, labels)),
        ),
    ]


def _check(
    m: int, n: int, chunk: int | None, dtype: torch.dtype = torch.float32, only: str | None = None
) -> None:
    # Half outputs are rounded once (at most eps/2 relative; the bound allows eps); the absolute
    # part scales with the output's mean magnitude, so a softmax (values ~1/n) is held to its
    # own size and a sum of n terms to its larger one.
    tol = 1e-4 if dtype == torch.float32 else torch.finfo(dtype).eps
    for name, kernel, args, ref in _cases(m, n, dtype):
        if only is not None and name != only:
            continue
        out = call_with_config(kernel, kc.Config(reduction_loops=[chunk]), *args)
        got, want = ref(out)
        scale = output_scale(want) if want.numel() > 1 else max(1.0, float(want.abs()))
        torch.testing.assert_close(
            got.float(), want, atol=tol * scale, rtol=tol, msg=f"{name} n={n} chunk={chunk}"
        )


@pytest.mark.parametrize("n,chunk", [(100, 32), (1, 16), (4097, 512)])
def test_kernels_match_torch_when_chunked(n: int, chunk: int) -> None:
    _check(3, n, chunk)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_chunked(dtype: torch.dtype) -> None:
    _check(3, 777, 128, dtype)


@pytest.mark.parametrize("n,chunk", [(4097, 512), (32769, 4096)])
@pytest.mark.parametrize("name", ["softmax", "softmax_decomposed", "cross_entropy"])
def test_half_precision_wide_rows(name: str, n: int, chunk: int) -> None:
    """bf16 rows as wide as vocabularies, chunked: every chunk after the first must rescale the
    running sum (an online softmax that skips the rescale sums to ~0.6-0.8 per row)."""
    _check(2, n, chunk, torch.bfloat16, only=name)


def test_large_rows() -> None:
    """N = 2^17 (a vocabulary-sized row) in chunks of 8192, and an N off the chunk grid."""
    _check(2, 1 << 17, 8192)
    _check(1, (1 << 16) + 3, 4096)


@given(
    m=st.integers(1, 5),
    n=st.sampled_from([1, 3, 17, 100, 1000, 1025, 3000]),
    chunk=st.sampled_from([None, 16, 64, 256, 1024]),
    kernel=st.sampled_from(
        ["rms_norm", "layer_norm", "softmax", "softmax_decomposed", "sum", "cross_entropy"]
    ),
)
def test_chunked_matches_torch_hypothesis(m: int, n: int, chunk: int | None, kernel: str) -> None:
    _check(m, n, chunk, only=kernel)


# Chunked kernels in every value regime: the chunk loop's accumulators (running max, rescaled
# sum, Welford's mean and M2) start from neutral elements and combine chunk results; large,
# one-signed, non-finite and subnormal rows test both. bf16 subnormals are left out under the
# interpreter, which converts them wrongly (tests/kernels/test_reference_kernels.py).
CHUNKED = {
    # name: (kernel, its arguments, torch reference in float32, which output to compare)
    "softmax": (softmax, lambda x: (x,), lambda x: torch.softmax(x.float(), 1), None),
    "softmax_decomposed": (
        softmax_decomposed,
        lambda x: (x,),
        lambda x: torch.softmax(x.float(), 1),
        None,
    ),
    "sum": (row_sum, lambda x: (x,), lambda x: x.float().sum(1), None),
    "cross_entropy": (
        cross_entropy,
        lambda x: (x, torch.arange(x.size(0)) * 7 % x.size(1)),
        lambda x: F.cross_entropy(x.float(), torch.arange(x.size(0)) * 7 % x.size(1)),
        None,
    ),
    "rms_norm": (
        rms_norm_fwd,
        lambda x: (x, torch.ones(x.size(1), dtype=x.dtype), 1e-5),
        lambda x: F.rms_norm(x.float(), [x.size(1)], eps=1e-5),
        0,
    ),
    "layer_norm": (
        layer_norm_fwd,
        lambda x: (x, [x.size(1)], torch.ones(x.size(1), dtype=x.dtype), None, 1e-5),
        lambda x: F.layer_norm(x.float(), [x.size(1)], eps=1e-5),
        0,
    ),
}
CHUNKED_STRATA = strata(6, avoid=(("subnormal", torch.bfloat16),) if interpreting() else ())


@stratified(CHUNKED_STRATA)
@given(data=st.data())
def test_chunked_kernels_in_value_regimes(stratum: Stratum, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(stratum.rotate(sorted(CHUNKED))), label="kernel")
    kernel, make_args, reference, index = CHUNKED[name]
    n = data.draw(stratum.sizes(), label="N")
    chunk = data.draw(st.sampled_from(stratum.rotate([16, 64, 256, 1024])), label="chunk")
    m = data.draw(st.integers(1, 3), label="M")
    x = data.draw(
        tensors(
            (m, n),
            stratum.dtype,
            noncontiguous=False,
            regime=stratum.regime,
            parameter=stratum.parameters(),
            seed_offset=stratum.offset,
        ),
        label="x",
    )
    out = call_with_config(kernel, kc.Config(reduction_loops=[chunk]), *make_args(x))
    got = out if index is None else out[index]
    assert_matches_torch(
        lambda: got,
        lambda: reference(x).to(x.dtype),
        atol=reduction_atol(x.dtype, n)
        if name == "sum"
        else normalize_atol(x)
        if name == "layer_norm"
        else None,
    )


def test_online_softmax_with_leading_neg_inf_chunk() -> None:
    """A row whose first chunk is all -inf: the running max must not produce NaN."""
    x = torch.randn(2, 200)
    x[0, :70] = float("-inf")
    x[1, 150:] = float("-inf")
    for kernel in (softmax, softmax_decomposed):
        got = call_with_config(kernel, kc.Config(reduction_loops=[32]), x)
        torch.testing.assert_close(got, torch.softmax(x, 1))
    labels = torch.tensor([100, 3])
    got = call_with_config(cross_entropy, kc.Config(reduction_loops=[32]), x, labels)
    torch.testing.assert_close(got, torch.nn.functional.cross_entropy(x, labels))


@kc.kernel
def _arg_reductions(x: torch.Tensor):
    m, n = x.shape
    amax = torch.empty([m], dtype=torch.int64, device=x.device)
    amin = torch.empty([m], dtype=torch.int64, device=x.device)
    mx = torch.empty([m], dtype=x.dtype, device=x.device)
    mn = torch.empty([m], dtype=x.dtype, device=x.device)
    for tile_m in kl.tile(m):
        v = x[tile_m, :]
        amax[tile_m] = torch.argmax(v, dim=-1)
        amin[tile_m] = torch.argmin(v, dim=-1)
        mx[tile_m] = torch.amax(v, dim=-1)
        mn[tile_m] = torch.amin(v, dim=-1)
    return amax, amin, mx, mn


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_max_min_argmax_argmin_chunked(dtype: torch.dtype) -> None:
    x = torch.randn(5, 1000).to(dtype)
    x[2, 10] = x[2, 900] = 100.0  # a tie across chunks: the first index wins
    amax, amin, mx, mn = call_with_config(_arg_reductions, kc.Config(reduction_loops=[64]), x)
    assert torch.equal(amax, x.float().argmax(1))
    assert torch.equal(amin, x.float().argmin(1))
    assert torch.equal(mx, x.amax(1)) and torch.equal(mn, x.amin(1))


@kc.kernel
def _row_max_min(x: torch.Tensor):
    m, n = x.shape
    mx = torch.empty([m], dtype=x.dtype, device=x.device)
    mn = torch.empty([m], dtype=x.dtype, device=x.device)
    for tile_m in kl.tile(m):
        v = x[tile_m, :]
        mx[tile_m] = torch.amax(v, dim=-1)
        mn[tile_m] = torch.amin(v, dim=-1)
    return mx, mn


@pytest.mark.parametrize(
    "dtype", [torch.int8, torch.uint8, torch.int16, torch.int32, torch.int64, torch.bool]
)
def test_integer_max_min_chunked_at_the_dtype_limits(dtype: torch.dtype) -> None:
    """A chunked integer max (min) starts from the dtype's lowest (highest) value, which the
    masked lanes of a partial block also hold: a row of nothing but that value comes back as
    it is, in signed, unsigned and boolean types of every width."""
    lo, hi = (0, 1) if dtype == torch.bool else (torch.iinfo(dtype).min, torch.iinfo(dtype).max)
    x = torch.randint(max(lo, -1000), min(hi, 1000) + 1, (4, 100)).to(dtype)
    x[0] = lo  # max over the lowest value only
    x[1] = hi  # min over the highest value only
    x[2, 97] = hi  # the extremes in the partial last chunk (96..99 of 32-wide chunks)
    x[3, 98] = lo
    mx, mn = call_with_config(_row_max_min, kc.Config(reduction_loops=[32]), x)
    assert torch.equal(mx, x.amax(1)) and torch.equal(mn, x.amin(1))


@pytest.mark.parametrize(
    "dtype",
    [
        torch.float32,
        torch.bfloat16,
        torch.float16,
        torch.int8,
        torch.uint8,
        torch.int64,
        torch.bool,
    ],
)
def test_every_reduction_kind_is_chunked(dtype: torch.dtype) -> None:
    """sum, max, min, argmax and argmin of every dtype are rewritten into a loop over chunks
    (no value spans the whole row), except max/min of booleans, which stay whole. The pass
    leaves a kernel it fails on as it was, so a broken rewrite would still give right
    results; this is what says it ran."""
    x = torch.zeros(4, 100, dtype=dtype)
    config = kc.Config(reduction_loops=[32])
    for kernel in (row_sum, _row_max_min, _arg_reductions):
        code = kernel.to_triton_code(x, config=config)
        whole = dtype == torch.bool and kernel is not row_sum
        assert ("RDIM" in code) == whole and ("tl.range" in code) != whole, (kernel, dtype)


@pytest.mark.parametrize("dtype", [torch.int32, torch.int64])
def test_integer_sum_chunked(dtype: torch.dtype) -> None:
    """Integer sums accumulate exactly in their own type: elements of 2^21 (int32; 2^40 for
    int64) give partial sums a float32 accumulator would round."""
    big = 2**21 if dtype == torch.int32 else 2**40
    x = torch.randint(-big, big, (3, 777), dtype=dtype)
    got = call_with_config(row_sum, kc.Config(reduction_loops=[128]), x)
    assert torch.equal(got, x.sum(1).to(dtype))


def test_generated_code_loops_over_chunks() -> None:
    x, w = torch.randn(4, 5000), torch.randn(5000)
    code = rms_norm_fwd.to_triton_code(x, w, config=kc.Config(reduction_loops=[256]))
    # sum of squares, then the store; 5000 is no multiple of 256, so each runs its whole
    # chunks unmasked and peels the ragged last one (codegen's peel_tail)
    assert len(re.findall(r"tl\.range\(0, full_\d+, BLOCK_s1\)", code)) == 2
    assert len(re.findall(r"tl\.range\(full_\d+, s1, BLOCK_s1\)", code)) == 2
    assert "BLOCK_s1=256" in code
    assert "RDIM" not in code  # no value spans the whole row any more
    plain = rms_norm_fwd.to_triton_code(x, w, config=kc.Config(reduction_loops=[None]))
    assert "RDIM_S1" in plain and "tl.range" not in plain


def _traced(kernel: kc.Kernel, *args):
    """The traced IR of ``kernel`` for these arguments, as a fresh module."""
    from xdsl.parser import Parser

    from kcompiler.passes.pipeline import make_context

    return Parser(make_context(), kernel.to_ir(*args)).parse_module()


def test_reduction_dims_and_config_mapping() -> None:
    module = _traced(layer_norm_fwd, torch.randn(2, 10), [10], torch.randn(10), None, 1e-5)
    assert reduction_dims(module) == ["s1"]
    assert chunks_from_reduction_loops(module, [64]) == {"s1": 64}
    assert chunks_from_reduction_loops(module, [None]) == {}
    assert chunks_from_reduction_loops(module, []) == {}
    with pytest.raises(InvalidConfig):
        chunks_from_reduction_loops(module, [48])
    with pytest.raises(InvalidConfig):
        call_with_config(row_sum, kc.Config(reduction_loops=[3]), torch.randn(2, 10))


def test_rewrite_verifies_and_keep_is_identity() -> None:
    module = _traced(softmax, torch.randn(4, 100))
    before = str(module)
    kept = module.clone()
    SplitReductionsPass(chunk=(0,)).apply(Context(), kept)
    assert str(kept) == before
    split = module.clone()
    SplitReductionsPass(dim=("s1",), chunk=(32,)).apply(make_context(), split)
    split.verify()
    text = str(split)
    assert "rblock_s1" in text and "block<[block_0, s1]" not in text
    assert str(module) == before  # the pass worked on its own copy


_UNSUPPORTED = """
builtin.module {
  tile.kernel @k(%x: !tile.tensor<[s0, s1], f32>, %out: !tile.tensor<[s0], f32>) {
    %n = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %n block block_0 kind tile parallel {
      %a = tile.load %x[%t] ["tile", "full"] : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0> -> !tile.block<[block_0, s1], f32>
      %s = tile.reduce "sum" %a dim 1 : i64 : !tile.block<[block_0, s1], f32> -> !tile.block<[block_0], f32>
      %p = tile.reduce "prod" %a dim 1 : i64 : !tile.block<[block_0, s1], f32> -> !tile.block<[block_0], f32>
      tile.store %s, %out[%t] ["tile"] : !tile.block<[block_0], f32>, !tile.tensor<[s0], f32>, !tile.tile<block_0>
    }
  }
}
"""


def test_unsupported_input_is_left_untouched() -> None:
    from xdsl.parser import Parser

    ctx = make_context()
    module = Parser(ctx, _UNSUPPORTED).parse_module()
    before = str(module)
    SplitReductionsPass(dim=("s1",), chunk=(64,)).apply(ctx, module)
    assert str(module) == before


@kc.kernel
def _softmax_masked_store(x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    out = torch.full_like(x, -7.0)
    for tile in kl.tile(x.size(0)):
        row = x[tile, :]
        y = torch.exp(row - torch.amax(row, dim=-1, keepdim=True))
        y = y / torch.sum(y, dim=-1, keepdim=True)
        kl.store(out, [tile, slice(None)], y, extra_mask=keep[tile, :])
    return out


def test_a_masked_store_keeps_its_mask_inside_the_chunk_loop() -> None:
    """The final store of a chunked softmax moves into the loop over chunks; its extra mask
    must move with it (lanes it masks keep the output's fill)."""
    x = torch.randn(5, 200)
    keep = torch.rand(5, 200) < 0.5
    got = call_with_config(_softmax_masked_store, kc.Config(reduction_loops=[64]), x, keep)
    want = torch.where(keep, torch.softmax(x, -1), torch.tensor(-7.0))
    torch.testing.assert_close(got, want)


@pytest.mark.parametrize("dtype", [torch.int32, torch.int64])
@pytest.mark.parametrize("chunk", [None, 32])
def test_integer_arg_reductions_tell_apart_values_a_float_cannot(
    dtype: torch.dtype, chunk: int | None
) -> None:
    """argmax/argmin of integers compare in their own type, masked lanes included: values
    2**24 (int32) or 2**53 (int64) apart by one are equal as floats, so a float neutral for
    the masked lanes of a 37-wide row would make every lane tie."""
    big = 2**24 if dtype == torch.int32 else 2**53
    x = torch.full((3, 37), big, dtype=dtype)
    x[0, 5], x[1, 36], x[2, 17] = big + 1, big + 1, big - 1
    amax, amin, mx, mn = call_with_config(_arg_reductions, kc.Config(reduction_loops=[chunk]), x)
    assert amax.tolist() == torch.argmax(x, -1).tolist()
    assert amin.tolist() == torch.argmin(x, -1).tolist()
    assert torch.equal(mx, x.amax(-1)) and torch.equal(mn, x.amin(-1))


@kc.kernel
def _softmax_unsqueezed_max(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        row = x[tile, :].to(torch.float32)
        e = torch.exp(row - torch.amax(row, dim=-1)[:, None])
        out[tile, :] = (e / e.sum(-1)[:, None]).to(x.dtype)
    return out


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_online_softmax_kernels_are_chunked(dtype: torch.dtype) -> None:
    """The online-softmax rewrite (a running max with its rescaled sum) applies to every
    softmax-shaped kernel and dtype: the pass leaves a kernel it fails on as it was, whose
    results stay right, so only the generated loop over chunks shows it ran."""
    x = torch.zeros(4, 100, dtype=dtype)
    labels = torch.zeros(4, dtype=torch.int64)
    config = kc.Config(reduction_loops=[32])
    for kernel, args in (
        (softmax, (x,)),
        (softmax_decomposed, (x,)),
        (cross_entropy, (x, labels)),
        (_softmax_unsqueezed_max, (x,)),  # the max reaches the subtraction through a reshape
    ):
        code = kernel.to_triton_code(*args, config=config)
        assert "RDIM" not in code and "tl.range" in code, (kernel, dtype)


def test_softmax_with_an_unsqueezed_max_matches_torch_when_chunked() -> None:
    x = torch.randn(5, 200) * 30
    got = call_with_config(_softmax_unsqueezed_max, kc.Config(reduction_loops=[64]), x)
    torch.testing.assert_close(got, torch.softmax(x, -1))
