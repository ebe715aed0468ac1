"""Differential tests of the nine bundled kernels against torch, on awkward inputs.

hypothesis draws odd sizes (1, 3, 17, 1000, 4097 and small random ones), the three float
dtypes and non-contiguous layouts; ``assert_matches_torch`` compares every output. Sizes are
capped (``MAX_NUMEL``) so the ``ci`` profile runs this file in well under four minutes on the
CPU interpreter. Explicit ``kc.Config`` variants check that a config's block sizes and warps
are applied and do not change results.
"""

from __future__ import annotations

import math
import re

import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from hypothesis import Phase, given, settings
from hypothesis import find as _find
from hypothesis import strategies as st

import kcompiler as kc
from kcompiler.kernels.cross_entropy import cross_entropy
from kcompiler.kernels.embedding import embedding
from kcompiler.kernels.jagged_mean import jagged_mean, jagged_mean_kernel
from kcompiler.kernels.layer_norm import layer_norm_fwd
from kcompiler.kernels.rms_norm import rms_norm_fwd
from kcompiler.kernels.softmax import softmax, softmax_decomposed, softmax_two_pass
from kcompiler.kernels.sum import sum as row_sum
from kcompiler.kernels.vector_add import vector_add
from kcompiler.kernels.vector_exp import vector_exp
from kcompiler.runtime.kernel import interpreting
from kcompiler.testing import (
    LAYOUTS,
    assert_matches_torch,
    dtypes,
    magnitude_atol,
    reduction_atol,
    shapes,
    sizes,
    tensors,
)
from kcompiler.testing_values import (
    Stratum,
    band_sizes,
    strata,
    stratified,
)

# The interpreter runs a [64, 4097] row kernel in several seconds; 2**15 elements keep one
# call well under a second while still allowing N = 4097 (with up to 7 rows).
MAX_NUMEL = 2**15
MAX_ROWS = 64


@st.composite
def rows_cols(draw: st.DrawFn, max_numel: int = MAX_NUMEL) -> tuple[int, int]:
    """[M, N] for the row kernels: N any size (1, 3, 17, 1000, 4097, ...), M <= 64 fitting."""
    n = draw(sizes())
    m = draw(sizes(max_side=max(1, min(MAX_ROWS, max_numel // n))))
    return m, n


# The row-kernel properties are stratified: each runs once per stratum (a value regime, a size
# band, a dtype; kcompiler.testing_values), with the profile's example budget shared among
# them, so the ci profile's few examples span every regime and band (KCOMPILER_TEST_SEED
# pairs them differently and picks other first examples).
# Triton's CPU interpreter converts bf16 subnormals to float32 wrongly (a plain load and
# .to(tl.float32) changes their values), so bf16 never meets the subnormal regime there.
INTERPRETER_FAULTS = (("subnormal", torch.bfloat16),) if interpreting() else ()
STRATA = strata(8, avoid=INTERPRETER_FAULTS)


@st.composite
def stratum_rows(
    draw: st.DrawFn,
    stratum: Stratum,
    max_numel: int = MAX_NUMEL,
    layouts: tuple[str, ...] = LAYOUTS,
) -> torch.Tensor:
    """[M, N] rows of the stratum's regime and dtype, N in its size band, M <= 64 fitting."""
    n = draw(stratum.sizes(), label="N")
    m = draw(band_sizes("small", max_side=max(1, min(MAX_ROWS, max_numel // n)), offset=n))
    return draw(
        tensors(
            (m, n),
            stratum.dtype,
            layouts=stratum.rotate(layouts),
            regime=stratum.regime,
            parameter=stratum.parameters(),
            seed_offset=stratum.offset,
        ),
        label="x",
    )


def fresh(kernel: kc.Kernel, **options: object) -> kc.Kernel:
    """A new Kernel for the same function: nothing cached from earlier examples."""
    return kc.kernel(**options)(kernel.fn)


# -- references (fp32 math, rounded to the input dtype once, as the kernels do) -------------


def softmax_ref(x: torch.Tensor) -> torch.Tensor:
    return torch.softmax(x.float(), dim=-1).to(x.dtype)


def sum_ref(x: torch.Tensor) -> torch.Tensor:
    return x.float().sum(-1).to(x.dtype)


def rms_norm_ref(
    x: torch.Tensor, w: torch.Tensor, eps: float = 1e-5
) -> tuple[torch.Tensor, torch.Tensor]:
    xf = x.float()
    inv = torch.rsqrt(xf.pow(2).mean(-1) + eps)
    return (xf * inv[:, None] * w.float()).to(x.dtype), inv.reshape(-1, 1)


def layer_norm_ref(
    x: torch.Tensor,
    normalized_shape: list[int],
    w: torch.Tensor,
    b: torch.Tensor | None = None,
    eps: float = 1e-5,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    xf = x.float()
    out = F.layer_norm(xf, normalized_shape, w.float(), None if b is None else b.float(), eps)
    mean = xf.mean(-1)
    rstd = torch.rsqrt(xf.var(-1, unbiased=False) + eps)
    return out.to(x.dtype), mean, rstd


def cross_entropy_ref(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.float(), labels).to(logits.dtype)


def jagged_mean_ref(values: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    rows = offsets.numel() - 1
    out = torch.zeros(rows, values.size(1), dtype=values.dtype)
    for i in range(rows):
        s, e = int(offsets[i]), int(offsets[i + 1])
        if e > s:
            out[i] = values[s:e].float().mean(0).to(values.dtype)
    return out


# -- elementwise ------------------------------------------------------------------------------


@given(x=tensors(shapes(3, max_numel=MAX_NUMEL) | shapes(1) | shapes(2), dtypes()))
def test_vector_exp(x: torch.Tensor) -> None:
    assert_matches_torch(vector_exp, lambda x: torch.exp(x.float()).to(x.dtype), x)


@st.composite
def broadcast_pair(draw: st.DrawFn) -> tuple[torch.Tensor, torch.Tensor]:
    """x of rank 1-3 and y whose shape broadcasts against it (dims set to 1, leading dims cut)."""
    rank = draw(st.integers(1, 3))
    shape = draw(shapes(rank, max_numel=MAX_NUMEL))
    ones = draw(st.lists(st.booleans(), min_size=rank, max_size=rank))
    cut = draw(st.integers(0, rank - 1))
    y_shape = tuple(1 if o else s for s, o in zip(shape, ones))[cut:]
    if draw(st.booleans()):
        shape, y_shape = y_shape, shape  # the small one on either side
    x = draw(tensors(shape, dtypes()))
    y = draw(tensors(y_shape, dtypes()))
    return x, y


@given(pair=broadcast_pair())
def test_vector_add_broadcast(pair: tuple[torch.Tensor, torch.Tensor]) -> None:
    x, y = pair
    out_dtype = torch.promote_types(x.dtype, y.dtype)

    def ref(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return (x.float() + y.float()).to(out_dtype)

    assert_matches_torch(vector_add, ref, x, y)


# -- row reductions over [M, N] ------------------------------------------------------------------


@stratified(STRATA)
@given(data=st.data())
def test_sum(stratum: Stratum, data: st.DataObject) -> None:
    x = data.draw(stratum_rows(stratum))
    assert_matches_torch(row_sum, sum_ref, x, atol=reduction_atol(x.dtype, x.size(1)))


@stratified(STRATA)
@given(data=st.data())
def test_softmax(stratum: Stratum, data: st.DataObject) -> None:
    assert_matches_torch(softmax, softmax_ref, data.draw(stratum_rows(stratum)))


@stratified(STRATA)
@given(data=st.data())
def test_softmax_decomposed(stratum: Stratum, data: st.DataObject) -> None:
    assert_matches_torch(softmax_decomposed, softmax_ref, data.draw(stratum_rows(stratum)))


# softmax_two_pass loops over N in blocks of (at most) 32 by default: cap N*M lower.
@stratified(STRATA)
@given(data=st.data())
def test_softmax_two_pass(stratum: Stratum, data: st.DataObject) -> None:
    x = data.draw(stratum_rows(stratum, max_numel=2**13))
    assert_matches_torch(softmax_two_pass, softmax_ref, x)


@stratified(STRATA)
@given(data=st.data())
def test_rms_norm(stratum: Stratum, data: st.DataObject) -> None:
    x = data.draw(stratum_rows(stratum))
    w = data.draw(tensors((x.size(1),), stratum.dtype), label="weight")
    eps = data.draw(st.sampled_from(stratum.rotate([1e-5, 1e-6, 0.1])), label="eps")
    assert_matches_torch(rms_norm_fwd, rms_norm_ref, x, w, eps)


@stratified(STRATA)
@given(data=st.data(), with_bias=st.booleans())
def test_layer_norm(stratum: Stratum, data: st.DataObject, with_bias: bool) -> None:
    # No expanded x: a row broadcast along N is constant, and layer norm of a constant row
    # magnifies the rounding of its mean by 1/sqrt(eps) (test_layer_norm_of_constant_rows).
    x = data.draw(stratum_rows(stratum, layouts=("contiguous", "transposed", "strided")))
    n = x.size(1)
    w = data.draw(tensors((n,), stratum.dtype), label="weight")
    b = data.draw(tensors((n,), stratum.dtype), label="bias") if with_bias else None
    atol = None
    if stratum.regime in ("negative", "positive"):
        # Centering a one-signed row in float32 loses ~eps * max|x| of each value before any
        # kernel-specific error (torch's reference, summing in another order, as much); the
        # output carries it times rstd and the weight.
        xf, want = x.float(), layer_norm_ref(x, [n], w, b, 1e-5)[0]
        rstd = float(torch.rsqrt(xf.var(-1, unbiased=False) + 1e-5).max())
        spread = 4 * torch.finfo(torch.float32).eps * float(xf.abs().max()) * rstd
        atol = magnitude_atol(x.dtype, want) + spread * float(w.float().abs().max())
    assert_matches_torch(layer_norm_fwd, layer_norm_ref, x, [n], w, b, 1e-5, atol=atol)


def test_layer_norm_of_constant_rows() -> None:
    """Variance 0: the output is ~0 up to the mean's rounding error times rsqrt(eps) ~ 316."""
    x = torch.randn(3, 1).expand(3, 1000)
    w, b = torch.randn(1000), torch.randn(1000)
    out, mean, rstd = layer_norm_fwd(x, [1000], w, b)
    want = layer_norm_ref(x, [1000], w, b)
    torch.testing.assert_close(out, want[0], atol=1e-3, rtol=1e-4)
    torch.testing.assert_close(mean, want[1])
    torch.testing.assert_close(rstd, want[2], rtol=1e-2, atol=0.0)


def test_layer_norm_bias_is_applied() -> None:
    """With and without bias are different specializations; each must do what it says."""
    x, w, b = torch.randn(5, 17), torch.randn(17), torch.randn(17)
    with_bias = layer_norm_fwd(x, [17], w, b)[0]
    without = layer_norm_fwd(x, [17], w, None)[0]
    torch.testing.assert_close(with_bias - without, b.expand(5, 17), atol=1e-5, rtol=1e-5)


@stratified(STRATA)
@given(data=st.data())
def test_cross_entropy(stratum: Stratum, data: st.DataObject) -> None:
    # The kernel flattens logits with .view(-1) on the host: they must be contiguous (as in
    # torch, a non-viewable input raises there). The labels may have any layout.
    logits = data.draw(stratum_rows(stratum, layouts=("contiguous",)), label="logits")
    n, v = logits.shape
    labels = data.draw(
        tensors((n,), torch.int64, low=0, high=v, layouts=("contiguous", "strided")),
        label="labels",
    )
    assert_matches_torch(cross_entropy, cross_entropy_ref, logits, labels)


ROW_KERNELS = {
    "sum": (row_sum, lambda x: (x,), sum_ref),
    "softmax": (softmax, lambda x: (x,), softmax_ref),
    "softmax_decomposed": (softmax_decomposed, lambda x: (x,), softmax_ref),
    "softmax_two_pass": (softmax_two_pass, lambda x: (x,), softmax_ref),
    "rms_norm": (rms_norm_fwd, lambda x: (x, x[0].flip(0).clone()), rms_norm_ref),
    "layer_norm": (
        layer_norm_fwd,
        lambda x: (x, [x.size(1)], x[0].flip(0).clone(), x[-1].clone()),
        layer_norm_ref,
    ),
    "layer_norm_no_bias": (
        layer_norm_fwd,
        lambda x: (x, [x.size(1)], x[0].flip(0).clone(), None),
        layer_norm_ref,
    ),
    "cross_entropy": (
        cross_entropy,
        lambda x: (x, torch.arange(x.size(0)) * 7 % x.size(1)),
        cross_entropy_ref,
    ),
}


@pytest.mark.parametrize("n", [1, 3, 17, 1000, 4097])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize("name", list(ROW_KERNELS))
def test_row_kernels_at_the_odd_sizes(name: str, dtype: torch.dtype, n: int) -> None:
    """Every row kernel at every special N (hypothesis' 8 ci examples may not draw them all)."""
    kernel, make_args, reference = ROW_KERNELS[name]
    x = torch.randn(5, n, generator=torch.Generator().manual_seed(n)).to(dtype)
    atol = reduction_atol(dtype, n)
    assert_matches_torch(kernel, reference, *make_args(x), atol=atol)


# Empty inputs: no rows (a launch of zero programs), or rows of zero columns (a reduction over
# nothing: torch's sum is 0, its softmax empty, its norms of empty rows empty). The
# strategies draw sizes from 1 up, so these are listed here.
EMPTY = [
    *[(name, (0, 17)) for name in ("sum", "softmax", "softmax_decomposed", "softmax_two_pass")],
    ("cross_entropy", (0, 17)),
    *[(name, (3, 0)) for name in ROW_KERNELS if name != "cross_entropy"],
]


@pytest.mark.parametrize(("name", "shape"), EMPTY, ids=[f"{n}-{s}" for n, s in EMPTY])
def test_row_kernels_on_empty_inputs(name: str, shape: tuple[int, int]) -> None:
    kernel, make_args, reference = ROW_KERNELS[name]
    assert_matches_torch(kernel, reference, *make_args(torch.randn(shape)))


# -- gathers -------------------------------------------------------------------------------------


@given(data=st.data(), dtype=dtypes())
def test_embedding(data: st.DataObject, dtype: torch.dtype) -> None:
    vocab = data.draw(sizes(max_side=1000), label="vocab")
    dim = data.draw(sizes(max_side=max(1, MAX_NUMEL // vocab)), label="dim")
    idx_shape = data.draw(shapes(data.draw(st.integers(1, 2)), max_numel=256), label="idx")
    weight = data.draw(tensors((vocab, dim), dtype), label="weight")
    idx = data.draw(tensors(idx_shape, torch.int64, low=0, high=vocab), label="idx")
    assert_matches_torch(embedding, F.embedding, idx, weight)


@st.composite
def jagged_inputs(draw: st.DrawFn) -> tuple[torch.Tensor, torch.Tensor]:
    """values [total, D] and offsets [B + 1] where some rows are empty (length 0)."""
    rows = draw(st.integers(1, 17))
    lengths = draw(st.lists(st.integers(0, 20) | st.just(0), min_size=rows, max_size=rows))
    d = draw(sizes(max_side=100))
    offsets = torch.tensor([0, *lengths], dtype=torch.int64).cumsum(0)
    # jagged_mean flattens the values with .view(-1): they must be contiguous.
    values = draw(tensors((int(offsets[-1]), d), dtypes(), noncontiguous=False))
    return values, offsets


@given(inputs=jagged_inputs())
def test_jagged_mean(inputs: tuple[torch.Tensor, torch.Tensor]) -> None:
    values, offsets = inputs
    assert_matches_torch(jagged_mean, jagged_mean_ref, values, offsets)


def test_jagged_mean_all_rows_empty() -> None:
    values = torch.empty(0, 5)
    offsets = torch.zeros(4, dtype=torch.int64)
    assert_matches_torch(jagged_mean, jagged_mean_ref, values, offsets)


# -- explicit configs ------------------------------------------------------------------------------


def _applied_blocks(kernel: kc.Kernel) -> list[dict[str, int]]:
    return [c.block_sizes for c in kernel.compiled_variants()]


X_ODD = torch.randn(19, 1000)
W_ODD = torch.randn(1000)

CONFIG_CASES = [
    # (kernel, args, reference, config); block_sizes[i] is the i-th tile loop of the kernel.
    (row_sum, (X_ODD,), sum_ref, kc.Config(block_sizes=[1], num_warps=1)),
    (row_sum, (X_ODD,), sum_ref, kc.Config(block_sizes=[32], num_warps=8)),
    (softmax, (X_ODD,), softmax_ref, kc.Config(block_sizes=[4], num_warps=4)),
    (softmax_decomposed, (X_ODD,), softmax_ref, kc.Config(block_sizes=[16], num_warps=2)),
    (softmax_two_pass, (X_ODD,), softmax_ref, kc.Config(block_sizes=[8, 128], num_warps=4)),
    (softmax_two_pass, (X_ODD,), softmax_ref, kc.Config(block_sizes=[32, 1024], num_warps=8)),
    (rms_norm_fwd, (X_ODD, W_ODD), rms_norm_ref, kc.Config(block_sizes=[2], num_warps=4)),
    (
        layer_norm_fwd,
        (X_ODD, [1000], W_ODD, W_ODD.flip(0)),
        layer_norm_ref,
        kc.Config(block_sizes=[8], num_warps=4),
    ),
    (
        cross_entropy,
        (X_ODD, torch.randint(0, 1000, (19,))),
        cross_entropy_ref,
        kc.Config(block_sizes=[4], num_warps=2),
    ),
    (
        embedding,
        (torch.randint(0, 1000, (3, 17)), X_ODD.T.contiguous()),
        F.embedding,
        kc.Config(block_sizes=[8, 4], num_warps=4),
    ),
    (
        vector_add,
        (torch.randn(17, 33), torch.randn(33)),
        torch.add,
        kc.Config(block_sizes=[4, 64], num_warps=2),
    ),
    (vector_exp, (torch.randn(4097),), torch.exp, kc.Config(block_sizes=[512], num_warps=4)),
    (
        jagged_mean_kernel,
        (
            torch.randn(30, 7),
            torch.tensor([0, 4, 4, 17, 30]),
            torch.full((4,), 7, dtype=torch.int32),
            7,
        ),
        lambda v, o, c, d: jagged_mean_ref(v, o),
        kc.Config(block_sizes=[2, 4, 8], num_warps=4),
    ),
]


@pytest.mark.parametrize(
    "kernel,args,reference,config",
    CONFIG_CASES,
    ids=[f"{c[0].__name__}-{'-'.join(map(str, c[3].block_sizes))}" for c in CONFIG_CASES],
)
def test_explicit_config(kernel: kc.Kernel, args: tuple, reference, config: kc.Config) -> None:
    k = fresh(kernel, config=config)
    got = assert_matches_torch(k, reference, *args, atol=reduction_atol(torch.float32, 1000))
    # The config's block sizes are the ones compiled in (a literal block_size= would win).
    applied = _applied_blocks(k)
    assert applied, "nothing was compiled"
    for blocks in applied:
        for i, size in enumerate(config.block_sizes):
            if f"block_{i}" in blocks:
                assert blocks[f"block_{i}"] == size, (blocks, config)
    assert got is not None


@given(
    x=tensors(rows_cols(max_numel=2**13), dtypes(), layouts=LAYOUTS),
    bm=st.sampled_from([1, 2, 16, 64]),
    bn=st.sampled_from([16, 256, 8192]),
    warps=st.sampled_from([1, 2, 4, 8]),
)
def test_softmax_two_pass_any_config(x: torch.Tensor, bm: int, bn: int, warps: int) -> None:
    """Results do not depend on the config: any power-of-two blocks (even > the dim) match."""
    k = fresh(softmax_two_pass, config=kc.Config(block_sizes=[bm, bn], num_warps=warps))
    assert_matches_torch(k, softmax_ref, x)


@pytest.mark.parametrize("block", [1, 2, 64, 2048])
def test_sum_block_size_does_not_change_result(block: int) -> None:
    x = torch.randn(37, 17)
    k = fresh(row_sum, config=kc.Config(block_sizes=[block]))
    assert_matches_torch(k, sum_ref, x)
    assert _applied_blocks(k) == [{"block_0": block}]


def test_registered_block_size_default_follows_the_sizes() -> None:
    big = torch.randn(64, 4097)
    expected = fresh(softmax_two_pass).to_triton_code(big)
    k = fresh(softmax_two_pass)
    k(torch.randn(1, 1))
    assert k.to_triton_code(big) == expected


def test_config_is_part_of_the_kernel_identity() -> None:
    """Two configs of one function compile separately and both give torch's result."""
    x = torch.randn(9, 100)
    small = fresh(softmax, config=kc.Config(block_sizes=[1]))
    large = fresh(softmax, config=kc.Config(block_sizes=[16]))
    assert_matches_torch(small, softmax_ref, x)
    assert_matches_torch(large, softmax_ref, x)
    assert _applied_blocks(small) == [{"block_0": 1}]
    assert _applied_blocks(large) == [{"block_0": 16}]


# -- the comparator and strategies themselves -------------------------------------------------------


def test_assert_matches_torch_reports_the_worst_element() -> None:
    x = torch.randn(5, 17)

    def off_by_one_element(x: torch.Tensor) -> torch.Tensor:
        want = softmax_ref(x)
        want[3, 11] += 0.25
        return want

    with pytest.raises(AssertionError) as info:
        assert_matches_torch(softmax, off_by_one_element, x)
    message = str(info.value)
    assert "1 of 85 elements differ" in message
    assert "worst at index [3, 11]" in message
    assert "max abs error 0.25" in message and "max rel error" in message
    assert "shape=[5, 17]" in message and "stride=[17, 1]" in message
    assert "dtype=torch.float32" in message


@pytest.mark.parametrize(
    "got,want,fragment",
    [
        (torch.zeros(3), torch.zeros(4), "shape [3] != reference shape [4]"),
        (torch.zeros(3), torch.zeros(3, dtype=torch.float64), "dtype torch.float32"),
        ((torch.zeros(3),), (torch.zeros(3), torch.zeros(3)), "kernel returned"),
        (torch.tensor([float("nan")]), torch.tensor([1.0]), "1 of 1 elements differ"),
        (torch.tensor([1.0]), torch.tensor([float("inf")]), "1 of 1 elements differ"),
        (torch.tensor([1, 2]), torch.tensor([1, 3]), "rtol=0, atol=0"),
        (3, 4, "kernel returned 3, reference 4"),
        (torch.ones(2), None, "kernel returned"),
    ],
)
def test_assert_matches_torch_catches(got: object, want: object, fragment: str) -> None:
    with pytest.raises(AssertionError, match=re.escape(fragment)):
        assert_matches_torch(lambda: got, lambda: want)


def test_assert_matches_torch_accepts_equal_specials_and_tolerances() -> None:
    special = torch.tensor([float("nan"), float("inf"), -float("inf"), 0.0])
    assert_matches_torch(lambda: special.clone(), lambda: special.clone())
    half = torch.full((4,), 1.0, dtype=torch.float16)
    assert_matches_torch(lambda: half + 0.005, lambda: half)  # within fp16's 1e-2
    with pytest.raises(AssertionError):
        assert_matches_torch(lambda: half + 0.05, lambda: half)
    with pytest.raises(AssertionError):
        assert_matches_torch(lambda: half.float() + 0.005, lambda: half.float())  # fp32: tight


def test_assert_matches_torch_gives_the_reference_clean_inputs() -> None:
    def in_place(x: torch.Tensor) -> torch.Tensor:
        x.mul_(2.0)
        return x

    x = torch.ones(4)
    assert_matches_torch(in_place, lambda x: x * 2.0, x)  # the reference saw the original x


def test_reference_in_float32() -> None:
    x = torch.randn(3, 40).to(torch.bfloat16)
    seen: list[torch.dtype] = []

    def ref(x: torch.Tensor) -> torch.Tensor:
        seen.append(x.dtype)
        return torch.softmax(x, -1)

    assert_matches_torch(softmax, ref, x, reference_in_float32=True)
    assert seen == [torch.float32]


def find(strategy: st.SearchStrategy, condition):  # noqa: ANN001, ANN201
    """hypothesis.find without shrinking: the first example that fits (fast enough for ci)."""
    quick = settings(max_examples=500, phases=[Phase.generate], database=None, derandomize=True)
    return _find(strategy, condition, settings=quick)


@settings(max_examples=50, derandomize=True)
@given(shape=shapes(3, max_numel=5000))
def test_shapes_respect_rank_and_max_numel(shape: tuple[int, ...]) -> None:
    assert len(shape) == 3 and all(s >= 1 for s in shape)
    assert math.prod(shape) <= 5000


def test_sizes_reach_the_special_sizes() -> None:
    for n in (1, 3, 17, 1000, 4097):
        assert find(sizes(), lambda s, n=n: s == n) == n


@pytest.mark.parametrize("layout", LAYOUTS)
def test_tensors_produce_every_layout(layout: str) -> None:
    def is_layout(x: torch.Tensor) -> bool:
        if layout == "contiguous":
            return x.is_contiguous()
        if layout == "expanded":
            return 0 in x.stride() and x.numel() > 1 and x.shape[x.stride().index(0)] > 1
        if layout == "transposed":
            return x.dim() >= 2 and x.stride(-2) == 1 and x.size(-2) > 1 and x.size(-1) > 1
        return x.storage_offset() == 1 and x.stride(-1) == 2 and x.size(-1) > 1

    x = find(tensors(shapes(2, max_numel=256), dtypes(), layouts=[layout]), is_layout)
    assert is_layout(x)
    y = find(tensors(shapes(2, max_numel=256), dtypes(), noncontiguous=False), lambda t: True)
    assert y.is_contiguous()


def test_tensors_int_range() -> None:
    x = find(tensors((100,), torch.int64, low=3, high=7), lambda t: True)
    assert x.dtype == torch.int64 and int(x.min()) >= 3 and int(x.max()) < 7


# Value regimes beyond standard normal rows: a kernel that skips the row max before exp, or
# sums in a form that overflows, passes randn at scale 1 and fails here.
REGIMES = {
    "scale 50": lambda x: x * 50,
    "scale 1e4": lambda x: x * 1e4,
    "shifted +1000": lambda x: x + 1000,
    "shifted -1000": lambda x: x - 1000,
    "nan and inf": lambda x: x.index_put_(
        (torch.tensor([0, 1, 2]), torch.tensor([0, 1, 2]) % x.size(1)),
        torch.tensor([float("nan"), float("inf"), -float("inf")]),
    ),
}


@pytest.mark.parametrize("n", [255, 4097])
@pytest.mark.parametrize("regime", list(REGIMES))
@pytest.mark.parametrize("name", list(ROW_KERNELS))
def test_row_kernels_in_every_value_regime(name: str, regime: str, n: int) -> None:
    """Only the rows change regime; weights and biases stay standard normal (a weight of size
    1000 would make the outputs cancel to float32 noise whatever the kernel)."""
    kernel, make_args, reference = ROW_KERNELS[name]
    base = torch.randn(4, n, generator=torch.Generator().manual_seed(n))
    x, *rest = make_args(base)
    x = REGIMES[regime](base.clone())
    atol = reduction_atol(x.dtype, n)
    if name.startswith("layer_norm") and regime.startswith("shifted"):
        # Centering rows of values ~1000 in float32 loses ~eps * 1000 of each value before any
        # kernel-specific error (torch's reference, with another summation order, as much).
        atol *= 10
    assert_matches_torch(kernel, reference, x, *rest, atol=atol)
