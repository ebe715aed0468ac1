"""Every config drawn from a bundled kernel's derived space compiles and is right.

For each bundled kernel (the nine of ``kcompiler.kernels.NAMES``, the softmax variants, the
backward kernels, matmul, attention, fp8_gemm), hypothesis draws an input of odd shape and a
seed; the seed picks a config with ``space.sample(random.Random(seed))`` from
``kernel.config_space(*args)`` -- the space the autotuner searches for those arguments. The
kernel runs with that config and is compared with torch. Any drawn config that fails to compile
or gives a wrong answer is a bug: a tuner would have to skip it (or, worse, time a wrong kernel).

Shapes stay small (Triton's CPU interpreter runs each program in Python). ``CASES`` is also
used by ``benchmarks/space_report.py``, which draws many configs per kernel and tallies them.
"""

from __future__ import annotations

import random
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import kcompiler as kc
from kcompiler.kernels import backward as B
from kcompiler.kernels import (
    cross_entropy,
    embedding,
    jagged_mean,
    layer_norm,
    rms_norm,
    softmax,
    vector_add,
    vector_exp,
)
from kcompiler.kernels import sum as row_sum
from kcompiler.kernels.attention import attention, attention_reference
from kcompiler.kernels.fp8_gemm import fp8_gemm, fp8_gemm_reference
from kcompiler.kernels.matmul import ACTIVATIONS, matmul, matmul_dot, matmul_reference

DTYPES = (torch.float32, torch.bfloat16)
TOL = {
    torch.float32: dict(rtol=1e-4, atol=1e-4),
    torch.bfloat16: dict(rtol=2e-2, atol=2e-2),
}
EPS = 1e-5

# rms_norm_bwd / layer_norm_bwd also as static_shapes=True copies (Helion's default setting):
# every size static, so a different specialization and space.
RMS_BWD_STATIC = kc.kernel(
    B.rms_norm_bwd.fn, static_shapes=True, ignore_warnings=[kc.exc.TensorOperationInWrapper]
)
LN_BWD_STATIC = kc.kernel(B.layer_norm_bwd.fn, static_shapes=True)

# Odd sizes: 1, just past a power of two, not a power of two; rows stay few (programs).
ROWS = (1, 3, 5, 17)
COLS = (1, 3, 17, 33, 100)
LENGTHS = (1, 3, 17, 100, 257)


@dataclass(frozen=True)
class Case:
    """A kernel, how to draw its inputs, and the torch computation it must match."""

    name: str
    kernel: kc.Kernel
    inputs: Callable[[Callable[[Any], Any], torch.Generator], tuple]  # (draw, gen) -> args
    reference: Callable[..., Any]


def _randn(gen, *shape, dtype=torch.float32):
    return torch.randn(*shape, generator=gen).to(dtype)


def _dtype(draw):
    return draw(st.sampled_from(DTYPES))


def _rows_cols(draw, rows=ROWS, cols=COLS):
    return draw(st.sampled_from(rows)), draw(st.sampled_from(cols))


def _grads(fn, inputs, grad_out):
    leaves = [t.detach().float().requires_grad_(True) for t in inputs]
    fn(*leaves).backward(grad_out.float())
    return [leaf.grad.to(t.dtype) for leaf, t in zip(leaves, inputs)]


def _rms(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * w


# -- inputs and references -------------------------------------------------------------------


def _vector_add_inputs(draw, gen):
    m, n = _rows_cols(draw)
    dt = _dtype(draw)
    y_shape = draw(st.sampled_from([(m, n), (n,), (m, 1)]))
    return _randn(gen, m, n, dtype=dt), _randn(gen, *y_shape, dtype=dt)


def _vector_exp_inputs(draw, gen):
    return (_randn(gen, draw(st.sampled_from(LENGTHS)), dtype=_dtype(draw)),)


def _embedding_inputs(draw, gen):
    v, d = draw(st.sampled_from((1, 5, 50))), draw(st.sampled_from((1, 3, 17, 24)))
    idx_shape = draw(st.sampled_from([(1,), (3, 7), (2, 3, 5)]))
    return torch.randint(0, v, idx_shape, generator=gen), _randn(gen, v, d, dtype=_dtype(draw))


def _rows_inputs(draw, gen):
    m, n = _rows_cols(draw)
    return (_randn(gen, m, n, dtype=_dtype(draw)),)


def _rms_fwd_inputs(draw, gen):
    m, n = _rows_cols(draw)
    dt = _dtype(draw)
    return _randn(gen, m, n, dtype=dt), _randn(gen, n, dtype=dt), EPS


def _rms_fwd_ref(x, w, eps):
    xf = x.float()
    inv = torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)
    return (xf * inv * w.float()).to(x.dtype), inv


def _ln_fwd_inputs(draw, gen):
    m, n = _rows_cols(draw)
    dt = _dtype(draw)
    bias = _randn(gen, n, dtype=dt) if draw(st.booleans()) else None
    return _randn(gen, m, n, dtype=dt), [n], _randn(gen, n, dtype=dt), bias, EPS


def _ln_fwd_ref(x, shape, w, b, eps):
    xf = x.float()
    out = torch.nn.functional.layer_norm(
        xf, shape, w.float(), None if b is None else b.float(), eps
    )
    mean = xf.mean(-1)
    rstd = torch.rsqrt(xf.var(-1, unbiased=False) + eps)
    return out.to(x.dtype), mean, rstd


def _softmax_ref(x):
    return torch.softmax(x.float(), -1).to(x.dtype)


def _cross_entropy_inputs(draw, gen):
    n, v = draw(st.sampled_from(ROWS)), draw(st.sampled_from((1, 3, 17, 300)))
    return _randn(gen, n, v, dtype=_dtype(draw)), torch.randint(0, v, (n,), generator=gen)


def _cross_entropy_ref(logits, labels):
    return torch.nn.functional.cross_entropy(logits.float(), labels).to(logits.dtype)


def _jagged_inputs(draw, gen):
    b, d = draw(st.sampled_from((1, 3, 5))), draw(st.sampled_from((1, 3, 17)))
    lengths = torch.tensor(draw(st.lists(st.sampled_from((0, 1, 3, 7)), min_size=b, max_size=b)))
    offsets = torch.cat([torch.zeros(1, dtype=torch.int64), lengths.cumsum(0)])
    values = _randn(gen, int(lengths.sum()), d)
    counts = torch.full((b,), d, dtype=torch.int32)
    return values, offsets, counts, d


def _jagged_ref(values, offsets, counts, d):
    out = torch.zeros(offsets.numel() - 1, d, dtype=values.dtype)
    for i in range(out.size(0)):
        s, e = int(offsets[i]), int(offsets[i + 1])
        if e > s:
            out[i] = values[s:e].mean(0)
    return out


MM_SIZES = (1, 3, 17, 33)


def _matmul_inputs(draw, gen):
    m, k, n = (draw(st.sampled_from(MM_SIZES)) for _ in range(3))
    dt = _dtype(draw)
    bias = _randn(gen, n, dtype=dt) if draw(st.booleans()) else None
    return (
        _randn(gen, m, k, dtype=dt),
        _randn(gen, k, n, dtype=dt),
        bias,
        draw(st.sampled_from(ACTIVATIONS)),
    )


def _matmul_dot_inputs(draw, gen):
    m, k, n = (draw(st.sampled_from(MM_SIZES)) for _ in range(3))
    dt = _dtype(draw)
    return _randn(gen, m, k, dtype=dt), _randn(gen, k, n, dtype=dt)


def _attention(draw, gen, causal, kv_lengths):
    b, h = draw(st.sampled_from((1, 2))), draw(st.sampled_from((1, 3)))
    sq, sk = draw(st.sampled_from((1, 5, 17, 33))), draw(st.sampled_from(kv_lengths))
    d, dt = draw(st.sampled_from((16, 32))), _dtype(draw)
    q = _randn(gen, b, h, sq, d, dtype=dt)
    k, v = _randn(gen, b, h, sk, d, dtype=dt), _randn(gen, b, h, sk, d, dtype=dt)
    return q, k, v, causal


def _attention_inputs(draw, gen):
    causal = draw(
        st.booleans()
    )  # causal with S_k == 1 included (torch.clamp with a static int bound)
    return _attention(draw, gen, causal, (5, 17, 33) if causal else (1, 5, 17, 33))


def _attention_causal_kv1_inputs(draw, gen):
    return _attention(draw, gen, True, (1,))


def _fp8_inputs(draw, gen):
    m, k, n = (draw(st.sampled_from(MM_SIZES)) for _ in range(3))
    x = (_randn(gen, m, k) * 2).to(torch.float8_e4m3fn)
    y = (_randn(gen, k, n) * 2).to(torch.float8_e4m3fn)
    return x, y, torch.tensor(0.75), torch.tensor(1.25)


def _exp_bwd_inputs(draw, gen):
    n, dt = draw(st.sampled_from(LENGTHS)), _dtype(draw)
    return _randn(gen, n, dtype=dt), _randn(gen, n, dtype=dt).exp()


def _exp_bwd_ref(dy, ex):
    return (dy.float() * ex.float()).to(dy.dtype)


def _softmax_bwd_inputs(draw, gen):
    m, n = _rows_cols(draw)
    dt = _dtype(draw)
    return _randn(gen, m, n, dtype=dt), torch.softmax(_randn(gen, m, n), -1).to(dt)


def _softmax_bwd_ref(g, y):
    gf, yf = g.float(), y.float()
    return (yf * (gf - (yf * gf).sum(-1, keepdim=True))).to(g.dtype)


def _rms_bwd_inputs(draw, gen):
    m, n = _rows_cols(draw, rows=ROWS + (37,))
    dt = _dtype(draw)
    x, w, g = _randn(gen, m, n, dtype=dt), _randn(gen, n, dtype=dt), _randn(gen, m, n, dtype=dt)
    return g, x, w, torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + EPS)


def _rms_bwd_ref(g, x, w, rsqrt):
    return tuple(_grads(_rms, [x, w], g))


def _ln_bwd_inputs(draw, gen):
    # n > 1: a one-element row is constant, x_hat = (x - mean) * rsqrt(0 + eps) is 0 only up to
    # rounding amplified 316x, and torch's autograd returns that rounding (~1e-4), not 0.
    m, n = _rows_cols(draw, rows=ROWS + (37,), cols=COLS[1:])
    dt = _dtype(draw)
    x, w, g = _randn(gen, m, n, dtype=dt), _randn(gen, n, dtype=dt), _randn(gen, m, n, dtype=dt)
    mean = x.float().mean(-1)
    rstd = torch.rsqrt(x.float().var(-1, unbiased=False) + EPS)
    return g, x, mean, rstd, w, draw(st.booleans())


def _ln_bwd_ref(g, x, mean, rstd, w, compute_bias_grad):
    n = x.size(1)
    b = torch.zeros(n, dtype=w.dtype)
    gx, gw, gb = _grads(
        lambda t, wt, bt: torch.nn.functional.layer_norm(t, [n], wt, bt, eps=EPS), [x, w, b], g
    )
    return gx, gw, gb if compute_bias_grad else None


CASES: dict[str, Case] = {
    c.name: c
    for c in [
        Case(
            "vector_add",
            vector_add.vector_add,
            _vector_add_inputs,
            lambda x, y: (x.float() + y.float()).to(x.dtype),
        ),
        Case(
            "vector_exp",
            vector_exp.vector_exp,
            _vector_exp_inputs,
            lambda x: torch.exp(x.float()).to(x.dtype),
        ),
        Case("embedding", embedding.embedding, _embedding_inputs, lambda idx, w: w[idx]),
        Case("sum", row_sum.sum, _rows_inputs, lambda x: x.float().sum(-1).to(x.dtype)),
        Case("rms_norm_fwd", rms_norm.rms_norm_fwd, _rms_fwd_inputs, _rms_fwd_ref),
        Case("layer_norm_fwd", layer_norm.layer_norm_fwd, _ln_fwd_inputs, _ln_fwd_ref),
        Case("softmax", softmax.softmax, _rows_inputs, _softmax_ref),
        Case("softmax_decomposed", softmax.softmax_decomposed, _rows_inputs, _softmax_ref),
        Case("softmax_two_pass", softmax.softmax_two_pass, _rows_inputs, _softmax_ref),
        Case(
            "cross_entropy", cross_entropy.cross_entropy, _cross_entropy_inputs, _cross_entropy_ref
        ),
        Case("jagged_mean", jagged_mean.jagged_mean_kernel, _jagged_inputs, _jagged_ref),
        Case("matmul", matmul, _matmul_inputs, matmul_reference),
        Case("matmul_dot", matmul_dot, _matmul_dot_inputs, matmul_reference),
        Case("attention", attention, _attention_inputs, attention_reference),
        Case("fp8_gemm", fp8_gemm, _fp8_inputs, fp8_gemm_reference),
        Case("exp_bwd", B.exp_bwd, _exp_bwd_inputs, _exp_bwd_ref),
        Case("softmax_bwd", B.softmax_bwd, _softmax_bwd_inputs, _softmax_bwd_ref),
        Case("rms_norm_bwd", B.rms_norm_bwd, _rms_bwd_inputs, _rms_bwd_ref),
        Case("layer_norm_bwd", B.layer_norm_bwd, _ln_bwd_inputs, _ln_bwd_ref),
        Case("rms_norm_bwd_static", RMS_BWD_STATIC, _rms_bwd_inputs, _rms_bwd_ref),
        Case("layer_norm_bwd_static", LN_BWD_STATIC, _ln_bwd_inputs, _ln_bwd_ref),
        # Known failure (XFAIL): causal attention over a single key.
        Case(
            "attention_causal_kv_len_1",
            attention,
            _attention_causal_kv1_inputs,
            attention_reference,
        ),
    ]
}
XFAIL: dict[str, str] = {}


# -- one draw --------------------------------------------------------------------------------


def _outputs(result):
    return list(result) if isinstance(result, (tuple, list)) else [result]


def _tolerance(t: torch.Tensor) -> dict[str, float]:
    if t.dtype in (torch.float16, torch.bfloat16, torch.float8_e4m3fn):
        return TOL[torch.bfloat16]
    return TOL[torch.float32]


@dataclass
class Draw:
    """What happened to one drawn (inputs, config): ``outcome`` is ok | space | compile | wrong."""

    case: str
    shapes: list
    config: Any
    outcome: str
    detail: str = ""


def run_draw(case: Case, args: tuple, seed: int) -> Draw:
    shapes = [tuple(a.shape) if isinstance(a, torch.Tensor) else a for a in args]
    try:
        space = case.kernel.config_space(*args)
        config = space.sample(random.Random(seed))
    except Exception as e:  # noqa: BLE001 - reported, never swallowed by the test
        return Draw(case.name, shapes, None, "space", _describe(e))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # masked lanes (inf - inf)
            got = _outputs(case.kernel.bind(*args).run(config))
    except Exception as e:  # noqa: BLE001
        return Draw(case.name, shapes, config, "compile", _describe(e))
    want = _outputs(case.reference(*args))
    if len(got) != len(want):
        return Draw(case.name, shapes, config, "wrong", f"{len(got)} outputs, want {len(want)}")
    for i, (g, w) in enumerate(zip(got, want)):
        if g is None or w is None:
            if g is not w:
                return Draw(case.name, shapes, config, "wrong", f"output {i}: {g!r} vs {w!r}")
            continue
        try:
            assert g.shape == w.shape, f"shape {tuple(g.shape)} vs {tuple(w.shape)}"
            assert g.dtype == w.dtype, f"dtype {g.dtype} vs {w.dtype}"
            torch.testing.assert_close(g.float(), w.float(), **_tolerance(w))
        except AssertionError as e:
            return Draw(case.name, shapes, config, "wrong", f"output {i}: {e}")
    return Draw(case.name, shapes, config, "ok")


def _describe(e: BaseException) -> str:
    last = traceback.extract_tb(e.__traceback__)[-1] if e.__traceback__ else None
    where = f" at {last.filename.rsplit('/', 2)[-1]}:{last.lineno}" if last else ""
    return f"{type(e).__name__}{where}: {str(e).splitlines()[0] if str(e) else ''}"


def draw_strategy(case: Case):
    """A hypothesis strategy for (args, config seed)."""

    @st.composite
    def strategy(draw):
        seed = draw(st.integers(0, 2**32 - 1))
        gen = torch.Generator().manual_seed(seed)
        return case.inputs(draw, gen), seed

    return strategy()


# -- the test --------------------------------------------------------------------------------


def _param(name: str):
    if name in XFAIL:
        return pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=XFAIL[name]))
    return name


@pytest.mark.parametrize("name", [_param(n) for n in CASES])
@given(data=st.data())
def test_drawn_config_compiles_and_matches(name, data):
    case = CASES[name]
    args, seed = data.draw(draw_strategy(case), label="args, seed")
    result = run_draw(case, args, seed)
    assert result.outcome == "ok", (
        f"{name}: shapes {result.shapes}, config {dict(result.config or {})}: "
        f"{result.outcome}: {result.detail}"
    )
