"""Issue 6: every bundled kernel on CUDA against torch, at a realistic and an odd shape, in
fp32 and bf16.

The kernels (``kcompiler/kernels``): the nine reference kernels (softmax in its three forms),
the backward kernels through their autograd wrappers (forward output and every gradient
checked), matmul / matmul_dot / attention (causal and not) / fp8_gemm. References are torch
computed in float32 and rounded once to the output dtype, as the kernels compute. The ``cpu``
case of each test runs the odd shape on Triton's interpreter (so the table itself is checked
by the CPU CI); the ``cuda`` case runs both shapes on the GPU.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from gpu_support import DEVICES, import_test_module

from kcompiler.kernels import backward as B
from kcompiler.kernels.attention import attention, attention_reference
from kcompiler.kernels.cross_entropy import cross_entropy
from kcompiler.kernels.embedding import embedding
from kcompiler.kernels.fp8_gemm import fp8_gemm, fp8_gemm_reference
from kcompiler.kernels.jagged_mean import jagged_mean
from kcompiler.kernels.layer_norm import layer_norm_fwd
from kcompiler.kernels.matmul import matmul, matmul_dot, matmul_reference
from kcompiler.kernels.rms_norm import rms_norm_fwd
from kcompiler.kernels.softmax import softmax, softmax_decomposed, softmax_two_pass
from kcompiler.kernels.sum import sum as row_sum
from kcompiler.kernels.vector_add import vector_add
from kcompiler.kernels.vector_exp import vector_exp
from kcompiler.testing import assert_matches_torch, default_tolerances

DTYPES = [torch.float32, torch.bfloat16]
EPS = 1e-5


@pytest.fixture(autouse=True)
def _quiet_masked_lanes():
    # The interpreter (cpu case) warns about masked lanes (inf - inf) that are never stored.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


class Inputs:
    """Seeded random tensors on one device."""

    def __init__(self, device: str, dtype: torch.dtype, seed: int = 0):
        self.device, self.dtype = device, dtype
        self.gen = torch.Generator(device).manual_seed(seed)

    def randn(self, *shape: int, dtype: torch.dtype | None = None, scale: float = 1.0):
        x = torch.randn(shape, generator=self.gen, device=self.device) * scale
        return x.to(dtype or self.dtype)

    def randint(self, high: int, *shape: int):
        return torch.randint(0, high, shape, generator=self.gen, device=self.device)


def _atol(dtype: torch.dtype, n: int) -> float:
    """fp32 sums of n terms in another order differ by ~eps * sqrt(n) * |x|."""
    _, atol = default_tolerances(dtype)
    return max(atol, 2e-6 * math.sqrt(n)) if dtype == torch.float32 else atol


# -- references: float32 math, rounded once ------------------------------------------------------


def _softmax_ref(x):
    return torch.softmax(x.float(), -1).to(x.dtype)


def _rms_ref(x, w, eps):
    xf = x.float()
    inv = torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)
    return (xf * inv * w.float()).to(x.dtype), inv


def _ln_ref(x, shape, w, b, eps):
    xf = x.float()
    out = F.layer_norm(xf, shape, w.float(), None if b is None else b.float(), eps)
    return out.to(x.dtype), xf.mean(-1), torch.rsqrt(xf.var(-1, unbiased=False) + eps)


def _jagged_ref(values, offsets):
    counts = (offsets[1:] - offsets[:-1]).to(torch.float32)
    rows = torch.repeat_interleave(
        torch.arange(counts.numel(), device=values.device), counts.long()
    )
    sums = torch.zeros(counts.numel(), values.size(1), device=values.device)
    sums.index_add_(0, rows, values.float())
    mean = torch.where(counts[:, None] > 0, sums / counts.clamp(min=1)[:, None], 0.0)
    return mean.to(values.dtype)


def _with_grads(fn: Callable[..., torch.Tensor], grad_out: torch.Tensor, upcast: bool):
    """``fn`` as a function returning (output, grad of each tensor input) after backward."""

    def run(*inputs: Any):
        leaves = [
            (t.detach().float() if upcast else t.detach()).requires_grad_(True)
            if isinstance(t, torch.Tensor)
            else t
            for t in inputs
        ]
        out = fn(*leaves)
        out.backward(grad_out.float() if upcast else grad_out)
        grads = [leaf.grad for leaf in leaves if isinstance(leaf, torch.Tensor)]
        if upcast:  # rounded once, to the dtypes the kernels produce
            dt = grad_out.dtype
            return (out.detach().to(dt), *(g.to(dt) for g in grads))
        return (out.detach(), *grads)

    return run


# -- the cases: name -> (device, dtype, odd) -> (kernel call, args, reference, tolerances) --------


def _vector_add(inp: Inputs, odd: bool):
    if odd:  # broadcast [17, 1000] + [1000]
        args = (inp.randn(17, 1000), inp.randn(1000))
    else:
        args = (inp.randn(1 << 24), inp.randn(1 << 24))
    return vector_add, args, lambda x, y: (x.float() + y.float()).to(x.dtype), {}


def _vector_exp(inp: Inputs, odd: bool):
    args = (inp.randn(4097) if odd else inp.randn(1 << 24),)
    return vector_exp, args, lambda x: torch.exp(x.float()).to(x.dtype), {}


def _embedding(inp: Inputs, odd: bool):
    v, d, idx = (1000, 17, (3, 17)) if odd else (32000, 1024, (8, 2048))
    args = (inp.randint(v, *idx), inp.randn(v, d))
    return embedding, args, F.embedding, {}


def _rows(odd: bool) -> tuple[int, int]:
    return (17, 4097) if odd else (4096, 8192)


def _row_sum(inp: Inputs, odd: bool):
    m, n = _rows(odd)
    ref = lambda x: x.float().sum(-1).to(x.dtype)  # noqa: E731
    return row_sum, (inp.randn(m, n),), ref, {"atol": _atol(inp.dtype, n)}


def _softmax_case(kernel):
    def case(inp: Inputs, odd: bool):
        m, n = _rows(odd)
        return kernel, (inp.randn(m, n),), _softmax_ref, {}

    return case


def _rms_norm(inp: Inputs, odd: bool):
    m, n = _rows(odd)
    return rms_norm_fwd, (inp.randn(m, n), inp.randn(n), EPS), _rms_ref, {}


def _layer_norm(inp: Inputs, odd: bool):
    m, n = _rows(odd)
    bias = None if odd else inp.randn(n)
    args = (inp.randn(m, n), [n], inp.randn(n), bias, EPS)
    return layer_norm_fwd, args, _ln_ref, {"atol": _atol(inp.dtype, n)}


def _cross_entropy(inp: Inputs, odd: bool):
    n, v = (17, 1000) if odd else (4096, 32000)
    ref = lambda lg, lb: F.cross_entropy(lg.float(), lb).to(lg.dtype)  # noqa: E731
    return cross_entropy, (inp.randn(n, v), inp.randint(v, n)), ref, {"atol": _atol(inp.dtype, v)}


def _jagged_mean(inp: Inputs, odd: bool):
    if odd:  # empty rows included
        lengths = torch.tensor([0, 3, 17, 0, 1], device=inp.device)
        d = 17
    else:
        lengths = inp.randint(513, 256)
        d = 256
    offsets = torch.cat([lengths.new_zeros(1), lengths.cumsum(0)])
    values = inp.randn(int(offsets[-1]), d)
    return jagged_mean, (values, offsets), _jagged_ref, {"atol": _atol(inp.dtype, 512)}


def _matmul(inp: Inputs, odd: bool):
    m, k, n = (17, 65, 33) if odd else (2048, 2048, 2048)
    bias, act = (None, "relu") if odd else (inp.randn(n), "gelu")
    args = (inp.randn(m, k), inp.randn(k, n), bias, act)
    return matmul, args, matmul_reference, {"atol": _atol(inp.dtype, k), "dot_k": k}


def _matmul_dot(inp: Inputs, odd: bool):
    m, k, n = (33, 17, 65) if odd else (2048, 4096, 1024)
    args = (inp.randn(m, k), inp.randn(k, n))
    return matmul_dot, args, matmul_reference, {"atol": _atol(inp.dtype, k), "dot_k": k}


def _attention_case(causal: bool):
    def case(inp: Inputs, odd: bool):
        b, h, sq, sk, d = (2, 3, 33, 17, 32) if odd else (4, 16, 1024, 1024, 64)
        if causal and odd:
            sk = 33  # SDPA's causal mask is aligned top-left: keep every query row non-empty
        q, k, v = inp.randn(b, h, sq, d), inp.randn(b, h, sk, d), inp.randn(b, h, sk, d)
        tol = {"atol": _atol(inp.dtype, sk), "dot_k": sk}
        return attention, (q, k, v, causal), attention_reference, tol

    return case


def _fp8_gemm(inp: Inputs, odd: bool):
    """The fp8 inputs are fixed; the test's dtype is the output dtype (fp32 or bf16)."""
    m, k, n = (17, 64, 33) if odd else (2048, 2048, 2048)
    x = inp.randn(m, k, dtype=torch.float32, scale=2).to(torch.float8_e4m3fn)
    y = inp.randn(n, k, dtype=torch.float32, scale=2).to(torch.float8_e4m3fn).T  # col-major
    sa = torch.tensor(0.75, device=inp.device)
    sb = torch.tensor(1.25, device=inp.device)
    args = (x, y, sa, sb, inp.dtype)
    if inp.device == "cpu":
        # The interpreter has no fp8 dot; the values dequantized to bf16 are exact.
        args = (x.to(torch.bfloat16), y.to(torch.bfloat16), sa, sb, inp.dtype)
    ref = lambda x, y, sa, sb, dt: fp8_gemm_reference(x, y, sa, sb, dt)  # noqa: E731
    return fp8_gemm, args, ref, {"atol": _atol(inp.dtype, k), "fp8_k": k}


def _exp_autograd(inp: Inputs, odd: bool):
    x = inp.randn(4097) if odd else inp.randn(1 << 22)
    g = inp.randn(*x.shape)
    return (
        _with_grads(B.exp, g, upcast=False),
        (x,),
        _with_grads(torch.exp, g, upcast=True),
        {},
    )


def _norm_rows(odd: bool) -> tuple[int, int]:
    return (37, 100) if odd else (4096, 4096)


def _softmax_autograd(inp: Inputs, odd: bool):
    m, n = _norm_rows(odd)
    x, g = inp.randn(m, n), inp.randn(m, n)
    ref = _with_grads(lambda t: torch.softmax(t, -1), g, upcast=True)
    return _with_grads(B.softmax_fwd_bwd, g, upcast=False), (x,), ref, {"atol": _atol(inp.dtype, n)}


def _rms_autograd(inp: Inputs, odd: bool):
    m, n = _norm_rows(odd)
    x, w, g = inp.randn(m, n), inp.randn(n), inp.randn(m, n)

    def ref_fn(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * w

    kernel = _with_grads(lambda x, w: B.rms_norm(x, w, EPS), g, upcast=False)
    # grad_weight sums m rows: its tolerance grows with sqrt(m)
    atol = _atol(inp.dtype, m) if inp.dtype == torch.float32 else 2e-2 * math.sqrt(m / 37)
    return kernel, (x, w), _with_grads(ref_fn, g, upcast=True), {"atol": atol}


def _ln_autograd(inp: Inputs, odd: bool):
    m, n = _norm_rows(odd)
    x, w, b, g = inp.randn(m, n) * 0.5 - 2.3, inp.randn(n), inp.randn(n), inp.randn(m, n)

    def ref_fn(x, w, b):
        return F.layer_norm(x, [n], w, b, EPS)

    kernel = _with_grads(lambda x, w, b: B.layer_norm(x, [n], w, b, EPS), g, upcast=False)
    atol = _atol(inp.dtype, m) if inp.dtype == torch.float32 else 2e-2 * math.sqrt(m / 37)
    return kernel, (x, w, b), _with_grads(ref_fn, g, upcast=True), {"atol": atol}


CASES: dict[str, Callable[[Inputs, bool], tuple]] = {
    "vector_add": _vector_add,
    "vector_exp": _vector_exp,
    "embedding": _embedding,
    "sum": _row_sum,
    "rms_norm": _rms_norm,
    "layer_norm": _layer_norm,
    "softmax": _softmax_case(softmax),
    "softmax_decomposed": _softmax_case(softmax_decomposed),
    "softmax_two_pass": _softmax_case(softmax_two_pass),
    "cross_entropy": _cross_entropy,
    "jagged_mean": _jagged_mean,
    "exp_fwd_bwd": _exp_autograd,
    "softmax_fwd_bwd": _softmax_autograd,
    "rms_norm_fwd_bwd": _rms_autograd,
    "layer_norm_fwd_bwd": _ln_autograd,
    "matmul": _matmul,
    "matmul_dot": _matmul_dot,
    "attention": _attention_case(causal=False),
    "attention_causal": _attention_case(causal=True),
    "fp8_gemm": _fp8_gemm,
}


def _params() -> list[Any]:
    """cuda: both shapes, both dtypes. cpu: the odd shape in fp32 only (the interpreter is slow,
    and tests/kernels covers the kernels on CPU; this checks the table itself)."""
    cpu, cuda = DEVICES
    out = []
    for name in CASES:
        out.append(pytest.param(cpu.values[0], name, torch.float32, "odd", marks=cpu.marks))
        for dtype in DTYPES:
            for shape in ("realistic", "odd"):
                out.append(pytest.param(cuda.values[0], name, dtype, shape, marks=cuda.marks))
    return out


# Seen on the H100 (torch 2.11, Triton 3.6) before float32 dots followed torch's matmul precision:
# tl.dot ran in TF32 (Triton's default), ~1e-3 relative error against torch's full float32. Now
# they are "ieee" unless torch allows TF32 (backends/triton/compile.py fp32_dot_precision), and
# a float32 dot of length K is held to full-float32 accumulation error (dot_atol below): on the
# H100 matmul_dot at K=4096 was off by at most 1.3e-3 on outputs of size ~64, where TF32 gives
# errors ~50x that.


def dot_atol(k: int) -> float:
    """A float32 dot accumulating K products of size ~1 in sequence: partial sums grow to
    ~sqrt(K), each of the K additions rounds by eps * sqrt(K), so the error is ~eps * K."""
    return 1e-6 * k


def tolerances(device: str, dtype: torch.dtype, tol: dict) -> dict:
    """(rtol, atol) for a case: the dtype's defaults, the case's own, and for a float32 dot of
    length K (``tol["dot_k"]``) the accumulation bound ``dot_atol(K)``."""
    rtol, atol = default_tolerances(dtype)
    atol = tol.get("atol", atol)
    if dtype == torch.float32 and "dot_k" in tol:
        atol = max(atol, dot_atol(tol["dot_k"]))
    if device == "cuda" and "fp8_k" in tol:
        # Hopper's fp8 MMA adds within a K block with ~14 significant bits (the kernel widens
        # to float32 once per block): ~1e-3 of the output's scale, 4 * sqrt(K) for inputs of
        # scale 2. Seen on the H100: 0.175 at K=2048 with 128-wide blocks.
        atol = max(atol, 2e-3 * 4 * math.sqrt(tol["fp8_k"]))
    return {"rtol": tol.get("rtol", rtol), "atol": atol}


@pytest.mark.parametrize("device,name,dtype,shape", _params())
def test_kernel_matches_torch(device: str, name: str, dtype: torch.dtype, shape: str) -> None:
    inp = Inputs(device, dtype, seed=sum(map(ord, name + shape)))
    kernel, args, reference, tol = CASES[name](inp, shape == "odd")
    assert_matches_torch(kernel, reference, *args, **tolerances(device, dtype, tol))


# -- argmax/argmin over NaN (tests/dialects/test_ir_fuzz.py's regression test, on CUDA) --------
# Triton's compiled max/argmax handle NaN differently from the interpreter's numpy, so the fix
# (the first NaN's index wins, as in torch) is checked on the GPU too.


@pytest.mark.parametrize("reduction_loops", [None, [256]], ids=["whole_row", "looped"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=str)
@pytest.mark.parametrize("device", DEVICES[1:])
def test_argmax_argmin_of_rows_with_nan(device: str, dtype: torch.dtype, reduction_loops) -> None:
    fuzz_tests = import_test_module("dialects", "test_ir_fuzz")
    assert fuzz_tests.DEVICE == device
    fuzz_tests.test_regression_argmax_argmin_of_rows_with_nan(dtype, reduction_loops)
