"""Tensor-core kernels against torch: matmul (+ bias, activation), flash attention, fp8 gemm.

Differential tests on Triton's CPU interpreter at small, odd shapes; plus the frontend's
matmul spellings (``@``, ``torch.matmul/mm/bmm/addmm/baddbmm``, ``kl.dot``) and their errors.
"""

from __future__ import annotations

import re
import warnings

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.kernels.attention import attention, attention_reference
from kcompiler.kernels.fp8_gemm import fp8_gemm, fp8_gemm_reference
from kcompiler.kernels.matmul import ACTIVATIONS, matmul, matmul_dot, matmul_reference

try:
    from kcompiler.testing import assert_matches_torch
except ImportError:  # pragma: no cover - the shared comparator is newer than these tests

    def assert_matches_torch(kernel, reference, *args, atol=None, rtol=None, **kwargs):  # type: ignore[no-redef]
        got = kernel(*args, **kwargs)
        want = reference(*args, **kwargs)
        torch.testing.assert_close(got, want, atol=atol, rtol=rtol)
        return got


SIZES = (1, 3, 16, 17, 33, 65)
DTYPES = (torch.float32, torch.float16, torch.bfloat16)
# fp32: K-long dot products summed in another order; half precision: one rounding.
TOL = {torch.float32: (1e-4, 1e-4), torch.float16: (1e-2, 1e-2), torch.bfloat16: (2e-2, 2e-2)}


@pytest.fixture(autouse=True)
def _quiet_masked_lanes():
    # Masked lanes of online softmax hold -inf - -inf; numpy warns, the lanes are never stored.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _randn(shape, dtype, seed, transposed=False):
    gen = torch.Generator().manual_seed(seed)
    if transposed:
        return torch.randn(shape[::-1], generator=gen).to(dtype).T
    return torch.randn(shape, generator=gen).to(dtype)


# -- matmul ------------------------------------------------------------------------------------


@given(
    m=st.sampled_from(SIZES),
    k=st.sampled_from(SIZES),
    n=st.sampled_from(SIZES),
    dtype=st.sampled_from(DTYPES),
    bias=st.booleans(),
    activation=st.sampled_from(ACTIVATIONS),
    y_transposed=st.booleans(),
    x_transposed=st.booleans(),
)
def test_matmul_matches_torch(m, k, n, dtype, bias, activation, y_transposed, x_transposed):
    x = _randn((m, k), dtype, 0, transposed=x_transposed)
    y = _randn((k, n), dtype, 1, transposed=y_transposed)
    b = _randn((n,), dtype, 2) if bias else None
    rtol, atol = TOL[dtype]
    assert_matches_torch(matmul, matmul_reference, x, y, b, activation, rtol=rtol, atol=atol)


def test_matmul_odd_shape_each_activation():
    x, y, b = (
        _randn((17, 65), torch.float32, 0),
        _randn((65, 33), torch.float32, 1),
        _randn((33,), torch.float32, 2),
    )
    for activation in ACTIVATIONS:
        out = matmul(x, y, b, activation)
        torch.testing.assert_close(out, matmul_reference(x, y, b, activation), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("block_sizes", [[16, 16, 16], [16, 64, 32], [64, 16, 64]])
def test_matmul_configs(block_sizes):
    k = kc.kernel(matmul.fn, config=kc.Config(block_sizes=block_sizes))
    x, y = _randn((33, 65), torch.float16, 3), _randn((65, 17), torch.float16, 4)
    torch.testing.assert_close(
        k(x, y, None, "relu"), matmul_reference(x, y, None, "relu"), rtol=1e-2, atol=1e-2
    )


def test_matmul_emits_one_dot_with_float32_accumulator():
    x, y = _randn((17, 65), torch.float16, 0), _randn((65, 33), torch.float16, 1)
    ir = matmul.to_ir(x, y)
    assert ir.count("tile.dot") == 1
    assert "-> !tile.block<[block_0, block_1], f32>" in ir.split("tile.dot", 1)[1].splitlines()[0]
    code = matmul.to_triton_code(x, y)
    assert code.count("tl.dot(") == 1


def test_kl_dot_matches_torch():
    x, y = _randn((17, 65), torch.bfloat16, 5), _randn((65, 33), torch.bfloat16, 6)
    assert_matches_torch(matmul_dot, matmul_reference, x, y)


# -- the frontend's matmul spellings ----------------------------------------------------------


@kc.kernel
def _spellings(x: torch.Tensor, y: torch.Tensor, c: torch.Tensor, form: str) -> torch.Tensor:
    m, k = x.size()
    _, n = y.size()
    out = torch.empty([m, n], dtype=torch.float32, device=x.device)
    for tile_m, tile_n in kl.tile([m, n]):
        acc = kl.zeros([tile_m, tile_n], dtype=torch.float32)
        for tile_k in kl.tile(k):
            a = x[tile_m, tile_k]
            b = y[tile_k, tile_n]
            if form == "matmul_op":
                acc = acc + a @ b
            elif form == "torch.matmul":
                acc += torch.matmul(a, b)
            elif form == "torch.mm":
                acc = acc + torch.mm(a, b)
            elif form == "addmm_alpha_beta":
                acc = torch.addmm(acc, a, b, beta=1.0, alpha=0.5)
            elif form == "bmm_unit_batch":
                acc = acc + torch.bmm(a[None, :, :], b[None, :, :]).squeeze(0)
            elif form == "baddbmm_unit_batch":
                acc = torch.baddbmm(acc[None, :, :], a[None, :, :], b[None, :, :]).squeeze(0)
            elif form == "kl.dot_out_dtype":
                acc = acc + kl.dot(a, b, out_dtype=torch.float32)
        if form == "addmm_bias_acc":  # a [n] block as addmm's input broadcasts over rows
            acc = torch.addmm(c[tile_n], x[tile_m, :], y[:, tile_n], beta=2.0)
        out[tile_m, tile_n] = acc
    return out


@pytest.mark.parametrize(
    "form",
    [
        "matmul_op",
        "torch.matmul",
        "torch.mm",
        "addmm_alpha_beta",
        "bmm_unit_batch",
        "baddbmm_unit_batch",
        "kl.dot_out_dtype",
        "addmm_bias_acc",
    ],
)
def test_matmul_spellings(form):
    x, y, c = (
        _randn((17, 33), torch.float32, 7),
        _randn((33, 19), torch.float32, 8),
        _randn((19,), torch.float32, 9),
    )
    want = x @ y
    if form == "addmm_alpha_beta":
        want = 0.5 * want
    if form == "addmm_bias_acc":
        want = want + 2.0 * c
    torch.testing.assert_close(_spellings(x, y, c, form), want, rtol=1e-4, atol=1e-4)


def test_half_matmul_result_is_half_like_torch():
    """``a @ b`` of fp16 blocks is fp16 (torch's rule); addmm into a float32 acc is float32."""
    x, y = _randn((16, 32), torch.float16, 0), _randn((32, 16), torch.float16, 1)
    ir = _spellings.to_ir(x, y, torch.zeros(16), "matmul_op")
    assert "tile.cast" in ir and "f16" in ir.split("tile.dot", 1)[1]
    ir = _spellings.to_ir(x, y, torch.zeros(16), "addmm_alpha_beta")
    assert "-> !tile.block<[block_0, block_1], f32>" in ir.split("tile.dot", 1)[1].splitlines()[0]


@kc.kernel
def _batched(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    b, m, k = x.size()
    out = torch.empty([b, m, y.size(2)], dtype=x.dtype, device=x.device)
    for tile_b, tile_m in kl.tile([b, m]):
        out[tile_b, tile_m, :] = torch.bmm(x[tile_b, tile_m, :], y[tile_b, :, :])
    return out


def test_batched_dot_matches_torch_bmm():
    # 3-D blocks multiply batch by batch (it used to be refused as "must be 2-D").
    x, y = torch.randn(4, 16, 16), torch.randn(4, 16, 16)
    torch.testing.assert_close(_batched(x, y), torch.bmm(x, y), atol=1e-4, rtol=1e-4)


# -- attention ---------------------------------------------------------------------------------


@given(
    b=st.sampled_from((1, 2)),
    h=st.sampled_from((1, 3)),
    s_q=st.sampled_from((16, 33)),
    s_k=st.sampled_from((16, 33)),
    d=st.sampled_from((16, 32)),
    causal=st.booleans(),
    dtype=st.sampled_from(DTYPES),
)
def test_attention_matches_sdpa(b, h, s_q, s_k, d, causal, dtype):
    q = _randn((b, h, s_q, d), dtype, 10)
    k = _randn((b, h, s_k, d), dtype, 11)
    v = _randn((b, h, s_k, d), dtype, 12)
    rtol, atol = {torch.float32: (1e-4, 1e-5)}.get(dtype, TOL[dtype])
    assert_matches_torch(attention, attention_reference, q, k, v, causal, rtol=rtol, atol=atol)


@pytest.mark.parametrize("causal", [False, True])
def test_attention_odd_sizes_and_strided_inputs(causal):
    # S = 33 and D = 16: off-grid query and key blocks; k given as a transposed layout.
    q = _randn((2, 3, 33, 16), torch.float32, 13)
    k = _randn((2, 3, 16, 33), torch.float32, 14).transpose(2, 3)
    v = _randn((2, 3, 33, 16), torch.float32, 15)
    torch.testing.assert_close(
        attention(q, k, v, causal), attention_reference(q, k, v, causal), rtol=1e-4, atol=1e-5
    )


def test_causal_attention_skips_blocks_above_the_diagonal():
    q = _randn((1, 1, 64, 16), torch.float16, 16)
    code = attention.to_triton_code(q, q, q, True)
    # The K/V loop ends at the query block's end, not at S.
    assert "tl.minimum(begin_" in code and "tl.range(0, v" in code


# -- fp8 gemm ----------------------------------------------------------------------------------


def _fp8_inputs(m, k, n, seed, y_col_major):
    x = (_randn((m, k), torch.float32, seed) * 2).to(torch.float8_e4m3fn)
    y = (_randn((k, n), torch.float32, seed + 1, transposed=y_col_major) * 2).to(
        torch.float8_e4m3fn
    )
    return x, y, torch.tensor(0.75), torch.tensor(1.25)


def test_fp8_gemm_feeds_e4m3_tiles_to_tl_dot():
    x, y, sa, sb = _fp8_inputs(32, 64, 32, 0, False)
    code = fp8_gemm.to_triton_code(x, y, sa, sb)
    ir = fp8_gemm.to_ir(x, y, sa, sb)
    assert "!tile.tensor<[s0, s1], f8E4M3FN>" in ir
    dot = ir.split("tile.dot", 1)[1].splitlines()[0]
    assert dot.count("f8E4M3FN") == 2 and dot.endswith("f32>")
    loads = [ln for ln in code.splitlines() if "tl.load(x_ptr" in ln or "tl.load(y_ptr" in ln]
    assert (
        len(loads) == 2
        and "tl.dot(v" in code
        and ".to(tl.float32)" not in code.split("tl.dot(")[1].split(")")[0]
    )
    assert ".to(tl.bfloat16)" in code


@given(
    m=st.sampled_from(SIZES[1:]),
    k=st.sampled_from(SIZES[1:]),
    n=st.sampled_from(SIZES[1:]),
    y_col_major=st.booleans(),
)
def test_fp8_gemm_dequantized(m, k, n, y_col_major):
    """The kernel run on the fp8 values dequantized to bf16 (exact: e4m3 fits in bf16), against
    the fp8 reference: checks tiling, masks, scales and the bf16 epilogue on the interpreter."""
    x, y, sa, sb = _fp8_inputs(m, k, n, 20, y_col_major)
    got = fp8_gemm(x.to(torch.bfloat16), y.to(torch.bfloat16), sa, sb)
    want = fp8_gemm_reference(x, y, sa, sb)
    torch.testing.assert_close(got, want, rtol=2e-2, atol=2e-2)


def test_fp8_gemm_native():
    """fp8 tiles loaded and multiplied as fp8. Needs codegen to load fp8 with ``other=0.0``:
    Triton (compiler and interpreter alike) has no int -> fp8 cast, so ``other=0`` fails."""
    x, y, sa, sb = _fp8_inputs(17, 65, 33, 30, True)
    try:
        got = fp8_gemm(x, y, sa, sb)
    except Exception as e:  # noqa: BLE001 - the interpreter's error type varies
        if "cannot cast" in str(e):
            pytest.skip("op_load emits other=0 for fp8; Triton cannot cast int to fp8")
        raise
    assert got.dtype == torch.bfloat16
    torch.testing.assert_close(got, fp8_gemm_reference(x, y, sa, sb), rtol=2e-2, atol=2e-2)
    torch.testing.assert_close(
        got, torch._scaled_mm(x, y, sa, sb, out_dtype=torch.bfloat16), rtol=2e-2, atol=2e-2
    )


@pytest.mark.parametrize("shape", [(64, 64), (100, 70), (1, 33)])
def test_fp8_k_major_copy_is_the_same_matrix_in_column_major(shape: tuple[int, int]) -> None:
    from kcompiler.kernels.fp8_gemm import k_major

    y = torch.randn(*shape).to(torch.float8_e4m3fn)
    out = k_major(y)
    assert out.shape == y.shape and out.stride() == (1, shape[0])
    assert torch.equal(out.view(torch.uint8), y.view(torch.uint8))


@pytest.mark.parametrize("mode", ["block", "imprecise_acc", "fast"])
def test_fp8_accumulation_modes_in_gpu_code(monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    """KCOMPILER_FP8_ACCUMULATE picks how an fp8 dot accumulates in the GPU code (the
    interpreter has no narrow accumulator, so only the generated source shows it): ``block``
    adds each K block's float32 product to the accumulator, ``imprecise_acc`` bounds Triton's
    narrow accumulation by the K block, ``fast`` leaves Triton's default."""
    monkeypatch.setenv("KCOMPILER_FP8_ACCUMULATE", mode)
    x, y, sa, sb = _fp8_inputs(64, 64, 64, 30, True)
    config = kc.Config(block_sizes=[64, 64, 32], num_warps=4)
    launches = fp8_gemm.generated_launches((x, y, sa, sb), {}, config, interpret=False)
    source = launches[-1][0]
    added = re.search(r"= \w+ \+ tl\.dot\(", source) is not None
    assert added == (mode == "block"), source
    assert ("max_num_imprecise_acc" in source) == (mode == "imprecise_acc"), source
