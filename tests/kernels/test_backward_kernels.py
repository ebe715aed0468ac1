"""Backward kernels (kcompiler/kernels/backward.py, Helion's exp/rms_norm/layer_norm/softmax
backward examples) against torch autograd, on Triton's CPU interpreter.

Sizes are odd on purpose: n is never a power of two and m is not a multiple of the row block,
so the last program of the ``mb_cta`` loop holds a partial block and its partial weight-gradient
row (``grad_weight[mb_cta.id, :]``) covers fewer rows than the others before the host ``.sum(0)``.

rms_norm_bwd and layer_norm_bwd run twice: as written (kcompiler's default dynamic shapes, where
``kl.specialize`` must make every dim of that size static) and as ``static_shapes=True`` copies
(Helion's default setting, where every size is static anyway).
"""

from __future__ import annotations

import warnings

import pytest
import torch

import kcompiler as kc
from kcompiler.kernels import backward as B

DTYPES = (torch.float32, torch.bfloat16)
# fp32: sums in another order; bf16: inputs are bf16 in both, so one final rounding.
TOL = {torch.float32: dict(rtol=1e-4, atol=1e-4), torch.bfloat16: dict(rtol=2e-2, atol=2e-2)}
EPS = 1e-5

_QUIET = [kc.exc.TensorOperationInWrapper]
STATIC = {
    "rms_norm_bwd": kc.kernel(B.rms_norm_bwd.fn, static_shapes=True, ignore_warnings=_QUIET),
    "layer_norm_bwd": kc.kernel(B.layer_norm_bwd.fn, static_shapes=True),
}
VARIANTS = ["as_written", "static_shapes"]

# (m, n): m not a multiple of the row blocks, n not a power of two; m=1 is a single partial row.
SIZES = [(1, 3), (37, 100), (67, 257)]
# [m_block (outer mb_cta tile), inner mb tile]: partial last blocks, inner > outer, one row each.
ROW_BLOCKS = [[1, 1], [4, 2], [16, 16], [32, 8], [8, 64], [64, 32]]


@pytest.fixture(autouse=True)
def _quiet_interpreter():
    # numpy warns about masked lanes (inf - inf) that are never stored.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


@pytest.fixture(params=VARIANTS)
def variant(request, monkeypatch):
    """The autograd wrappers call the module's kernels: static_shapes points them at the copies."""
    if request.param == "static_shapes":
        for name, k in STATIC.items():
            monkeypatch.setattr(B, name, k)
    return request.param


def _kernel(name, variant, block_sizes):
    options = {"ignore_warnings": _QUIET} if name == "rms_norm_bwd" else {}
    return kc.kernel(
        getattr(B, name).fn,
        static_shapes=variant == "static_shapes",
        config=kc.Config(block_sizes=block_sizes),
        **options,
    )


def _randn(shape, dtype, seed):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed)).to(dtype)


def _leaf(t):
    return t.detach().clone().requires_grad_(True)


def _close(got, want, dtype, name):
    assert got is not None, name
    assert got.dtype == dtype and got.shape == want.shape, (name, got.dtype, got.shape)
    torch.testing.assert_close(got.float(), want.float(), **TOL[dtype], msg=name)


def _grads(fn, inputs, grad_out):
    """Gradients of fn (run in fp32 on upcast copies) w.r.t. inputs, in the inputs' dtypes."""
    leaves = [t.detach().float().clone().requires_grad_(True) for t in inputs]
    fn(*leaves).backward(grad_out.float())
    return [leaf.grad.to(t.dtype) for leaf, t in zip(leaves, inputs)]


def _rms_ref(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * w


# -- exp -------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1,), (1000,), (37, 100), (3, 5, 17)])
def test_exp_autograd(shape, dtype):
    x = _leaf(_randn(shape, dtype, 0))
    g = _randn(shape, dtype, 1)
    y = B.exp(x)
    y.backward(g)
    _close(y, torch.exp(x.detach().float()).to(dtype), dtype, "exp")
    (want,) = _grads(torch.exp, [x.detach()], g)
    _close(x.grad, want, dtype, "grad_x")


@pytest.mark.parametrize("block", [1, 16, 128, 1024])
def test_exp_bwd_configs(block):
    k = kc.kernel(B.exp_bwd.fn, config=kc.Config(block_sizes=[block]))
    dy, ex = _randn((1000,), torch.float32, 2), _randn((1000,), torch.float32, 3).exp()
    torch.testing.assert_close(k(dy, ex), dy * ex)


# -- softmax ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m, n", SIZES)
def test_softmax_autograd(m, n, dtype):
    x = _leaf(_randn((m, n), dtype, 4))
    g = _randn((m, n), dtype, 5)
    y = B.softmax_fwd_bwd(x)
    y.backward(g)
    _close(y, torch.softmax(x.detach().float(), -1).to(dtype), dtype, "softmax")
    (want,) = _grads(lambda t: torch.softmax(t, -1), [x.detach()], g)
    _close(x.grad, want, dtype, "grad_x")


@pytest.mark.parametrize("block_sizes", [[1, 1, 1], [4, 16, 8], [16, 128, 32], [64, 1, 128]])
def test_softmax_bwd_configs(block_sizes):
    k = kc.kernel(B.softmax_bwd.fn, config=kc.Config(block_sizes=block_sizes))
    # Small: block_sizes [1, 1, 1] runs 17 programs of 2 x 33 loop steps on the interpreter.
    x, g = _randn((17, 33), torch.float32, 6), _randn((17, 33), torch.float32, 7)
    y = torch.softmax(x, -1)
    (want,) = _grads(lambda t: torch.softmax(t, -1), [x], g)
    torch.testing.assert_close(k(g, y), want, **TOL[torch.float32])


# -- rms_norm --------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m, n", SIZES)
def test_rms_norm_autograd(m, n, dtype, variant):
    x, w = _leaf(_randn((m, n), dtype, 8)), _leaf(_randn((n,), dtype, 9))
    g = _randn((m, n), dtype, 10)
    y = B.rms_norm(x, w, EPS)
    y.backward(g)
    _close(y, _rms_ref(x.detach().float(), w.detach().float()).to(dtype), dtype, "rms_norm")
    want_x, want_w = _grads(_rms_ref, [x.detach(), w.detach()], g)
    _close(x.grad, want_x, dtype, "grad_x")
    _close(w.grad, want_w, dtype, "grad_weight")


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("block_sizes", ROW_BLOCKS)
def test_rms_norm_bwd_configs(block_sizes, dtype, variant):
    k = _kernel("rms_norm_bwd", variant, block_sizes)
    m, n = 37, 100
    x, w, g = _randn((m, n), dtype, 11), _randn((n,), dtype, 12), _randn((m, n), dtype, 13)
    rsqrt = torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + EPS)
    grad_x, grad_w = k(g, x, w, rsqrt)
    want_x, want_w = _grads(_rms_ref, [x, w], g)
    _close(grad_x, want_x, dtype, "grad_x")
    _close(grad_w, want_w, dtype, "grad_weight")


# -- layer_norm ------------------------------------------------------------------------------


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m, n", SIZES)
def test_layer_norm_autograd(m, n, dtype, bias, variant):
    x = _leaf(_randn((m, n), dtype, 14) * 0.5 - 2.3)
    w = _leaf(_randn((n,), dtype, 15))
    b = _leaf(_randn((n,), dtype, 16)) if bias else None
    g = _randn((m, n), dtype, 17)
    y = B.layer_norm(x, [n], w, b, EPS)
    y.backward(g)
    plain = [x.detach(), w.detach()] + ([b.detach()] if bias else [])
    ref = lambda *t: torch.nn.functional.layer_norm(t[0], [n], *t[1:], eps=EPS)  # noqa: E731
    _close(y, ref(*[t.float() for t in plain]).to(dtype), dtype, "layer_norm")
    wants = _grads(ref, plain, g)
    _close(x.grad, wants[0], dtype, "grad_x")
    _close(w.grad, wants[1], dtype, "grad_weight")
    if bias:
        _close(b.grad, wants[2], dtype, "grad_bias")


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("compute_bias_grad", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("block_sizes", ROW_BLOCKS)
def test_layer_norm_bwd_configs(block_sizes, dtype, compute_bias_grad, variant):
    k = _kernel("layer_norm_bwd", variant, block_sizes)
    m, n = 37, 100
    x, w = _randn((m, n), dtype, 18), _randn((n,), dtype, 19)
    b, g = _randn((n,), dtype, 20), _randn((m, n), dtype, 21)
    mean = x.float().mean(-1)
    rstd = torch.rsqrt(x.float().var(-1, unbiased=False) + EPS)
    grad_x, grad_w, grad_b = k(g, x, mean, rstd, w, compute_bias_grad)
    ref = lambda t, wt, bt: torch.nn.functional.layer_norm(t, [n], wt, bt, eps=EPS)  # noqa: E731
    want_x, want_w, want_b = _grads(ref, [x, w, b], g)
    _close(grad_x, want_x, dtype, "grad_x")
    _close(grad_w, want_w, dtype, "grad_weight")
    if compute_bias_grad:
        _close(grad_b, want_b, dtype, "grad_bias")
    else:
        assert grad_b is None


@pytest.mark.parametrize("m_block", [1, 16, 64])
def test_weight_grad_partials_one_row_per_program(m_block):
    """The cross-program reduction: the host allocates ceil(m / m_block) fp32 partial rows and
    sums them; each program of the mb_cta loop stores one row (``grad_*_blocks[mb_cta.id, :]``)."""
    m, n = 37, 100
    k = _kernel("layer_norm_bwd", "as_written", [m_block, 8])
    x, g = _randn((m, n), torch.float32, 22), _randn((m, n), torch.float32, 23)
    args = (g, x, x.mean(-1), torch.ones(m), torch.ones(n), True)
    code = k.to_triton_code(*args)
    assert "tl.program_id(0)" in code
    seen = []
    real_empty = torch.Tensor.new_empty

    def spy(self, size, **kw):  # the partial buffers come from x.new_empty([num_blocks, n])
        out = real_empty(self, size, **kw)
        seen.append(tuple(out.shape))
        return out

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(torch.Tensor, "new_empty", spy)
        _, grad_w, grad_b = k(*args)
    assert seen[:2] == [(-(-m // m_block), n)] * 2  # grad_weight_blocks, grad_bias_blocks
    torch.testing.assert_close(grad_b, g.sum(0), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(
        grad_w, (g * (x - x.mean(-1, keepdim=True))).sum(0), rtol=1e-4, atol=1e-4
    )
