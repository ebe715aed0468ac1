"""Autograd through kernels (``Kernel.register_backward``, runtime/custom_op.py 'Autograd'), on
Triton's CPU interpreter.

The bundled forward kernels with a declared backward (rms_norm, layer_norm, the softmax forms,
cross_entropy, geglu, swiglu) are checked three ways: ``loss.backward()`` against torch's own
gradients in float32, ``torch.autograd.gradcheck`` in float64 (finite differences against the
backward kernels: a wrong formula fails it, as ``test_gradcheck_fails_a_wrong_backward``
shows), and under ``torch.compile(backend="aot_eager")``. Then the API itself: what
setup_context and backward receive, what they may return, and the NoBackward error of a kernel
without one. Shapes are small and odd (never a power of two) so that tiles are partial.
"""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F
from torch.autograd.gradcheck import GradcheckError

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.kernels import backward as B
from kcompiler.kernels.cross_entropy import cross_entropy
from kcompiler.kernels.geglu import geglu
from kcompiler.kernels.layer_norm import layer_norm
from kcompiler.kernels.rms_norm import rms_norm_fwd
from kcompiler.kernels.softmax import softmax, softmax_decomposed, softmax_two_pass
from kcompiler.kernels.swiglu import swiglu

EPS = 1e-5


@pytest.fixture(autouse=True)
def _quiet_interpreter():
    # numpy warns about masked lanes (inf - inf) that are never stored.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _rms_ref(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * w


# name -> (kcompiler function, torch reference, input maker(dtype, generator))
def _two(shape):
    return lambda dt, g: [torch.randn(shape, generator=g, dtype=dt) for _ in range(2)]


def _norm_inputs(bias):
    def make(dt, g):
        m, n = 7, 13
        ts = [torch.randn(m, n, generator=g, dtype=dt) * 0.7 - 0.4]
        ts += [torch.randn(n, generator=g, dtype=dt) for _ in range(2 if bias else 1)]
        return ts

    return make


def _ce_inputs(dt, g):
    return [torch.randn(9, 11, generator=g, dtype=dt)]


LABELS = torch.tensor([0, 10, 3, 3, 7, 1, 9, 5, 2])

CASES = {
    "rms_norm": (
        lambda x, w: rms_norm_fwd(x, w, EPS)[0],
        _rms_ref,
        _norm_inputs(bias=False),
    ),
    "layer_norm": (
        lambda x, w, b: layer_norm(x, [x.shape[1]], w, b, EPS),
        lambda x, w, b: F.layer_norm(x, [x.shape[1]], w, b, EPS),
        _norm_inputs(bias=True),
    ),
    "layer_norm_no_bias": (
        lambda x, w: layer_norm(x, [x.shape[1]], w, None, EPS),
        lambda x, w: F.layer_norm(x, [x.shape[1]], w, None, EPS),
        _norm_inputs(bias=False),
    ),
    "softmax": (softmax, lambda x: torch.softmax(x, -1), _ce_inputs),
    "softmax_decomposed": (softmax_decomposed, lambda x: torch.softmax(x, -1), _ce_inputs),
    "softmax_two_pass": (softmax_two_pass, lambda x: torch.softmax(x, -1), _ce_inputs),
    "cross_entropy": (
        lambda x: cross_entropy(x, LABELS),
        lambda x: F.cross_entropy(x, LABELS),
        _ce_inputs,
    ),
    "geglu": (geglu, lambda a, b: F.gelu(a, approximate="tanh") * b, _two((5, 3, 7))),
    "swiglu": (swiglu, lambda a, b: F.silu(a) * b, _two((5, 3, 7))),
}


def _inputs(name, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [t.requires_grad_(True) for t in CASES[name][2](dtype, g)]


@pytest.mark.parametrize("name", sorted(CASES))
def test_backward_matches_torch(name):
    fn, ref, _ = CASES[name]
    inputs = _inputs(name, torch.float32)
    out = fn(*inputs)
    assert out.grad_fn is not None, name
    weights = torch.randn(out.shape, generator=torch.Generator().manual_seed(1))
    (out * weights).sum().backward()
    twins = [t.detach().clone().requires_grad_(True) for t in inputs]
    want = ref(*twins)
    torch.testing.assert_close(out.detach(), want.detach(), rtol=1e-4, atol=1e-5)
    (want * weights).sum().backward()
    for k, (got, exp) in enumerate(zip(inputs, twins)):
        assert got.grad is not None, (name, k)
        torch.testing.assert_close(got.grad, exp.grad, rtol=1e-4, atol=1e-5, msg=f"{name} #{k}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck_float64(name):
    fn = CASES[name][0]
    assert torch.autograd.gradcheck(fn, tuple(_inputs(name, torch.float64)), eps=1e-6, atol=1e-5)


def test_cross_entropy_ignore_index_rows_get_no_gradient():
    """The backward kernel follows torch's mean over rows whose label is not -100."""
    logits = torch.randn(6, 5, generator=torch.Generator().manual_seed(2))
    labels = torch.tensor([1, -100, 4, 0, -100, 2])
    grad = B.cross_entropy_bwd(torch.tensor(2.0), logits, labels)
    leaf = logits.clone().requires_grad_(True)
    (2.0 * F.cross_entropy(leaf, labels)).backward()
    torch.testing.assert_close(grad, leaf.grad)


@pytest.mark.parametrize("ignore_index", [-100, 3])
def test_cross_entropy_ignore_index_through_autograd(ignore_index: int):
    """The forward's ignore_index reaches the backward: loss and gradient match torch's."""
    logits = torch.randn(6, 5, generator=torch.Generator().manual_seed(3))
    labels = torch.tensor([1, -100, 4, 3, 3, 2])
    if ignore_index != -100:
        labels = torch.where(labels == -100, 0, labels)
    mine = logits.clone().requires_grad_(True)
    ref = logits.clone().requires_grad_(True)
    loss = cross_entropy(mine, labels, ignore_index)
    want = F.cross_entropy(ref, labels, ignore_index=ignore_index)
    torch.testing.assert_close(loss, want)
    loss.backward()
    want.backward()
    torch.testing.assert_close(mine.grad, ref.grad)


def test_gradcheck_fails_a_wrong_backward():
    """The checks above can fail: swiglu's backward with the sigmoid's derivative term dropped
    (grad_a = g * b * sigmoid(a)) is caught by gradcheck."""

    @kc.kernel
    def wrong_swiglu(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return swiglu(a, b)

    @wrong_swiglu.register_backward(
        setup_context=lambda ctx, inputs, out: ctx.save_for_backward(*inputs)
    )
    def _(ctx, g):
        a, b = ctx.saved_tensors
        return g * b * torch.sigmoid(a), g * F.silu(a)

    a, b = _inputs("swiglu", torch.float64)
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        torch.autograd.gradcheck(wrong_swiglu, (a, b), eps=1e-6, atol=1e-5)


def test_torch_compile_aot_eager():
    """Under torch.compile the forward and backward kernels are ops of the traced graphs
    (AOTAutograd reads the op's registered autograd formula); gradients match eager torch."""
    torch._dynamo.reset()

    def block(x, w, b, up, labels):
        h = layer_norm(x, [x.shape[1]], w, b, EPS)
        return cross_entropy(swiglu(h, up), labels)

    compiled = torch.compile(block, backend="aot_eager", fullgraph=True)
    g = torch.Generator().manual_seed(3)
    x, up = torch.randn(9, 11, generator=g), torch.randn(9, 11, generator=g)
    w, b = torch.randn(11, generator=g), torch.randn(11, generator=g)
    ours = [t.clone().requires_grad_(True) for t in (x, w, b, up)]
    theirs = [t.clone().requires_grad_(True) for t in (x, w, b, up)]
    loss = compiled(*ours, LABELS)
    loss.backward()
    tx, tw, tb, tup = theirs
    want = F.cross_entropy(F.silu(F.layer_norm(tx, [11], tw, tb, EPS)) * tup, LABELS)
    want.backward()
    torch.testing.assert_close(loss, want, rtol=1e-4, atol=1e-5)
    for got, exp in zip(ours, theirs):
        torch.testing.assert_close(got.grad, exp.grad, rtol=1e-4, atol=1e-5)


# -- the API ---------------------------------------------------------------------------------


@kc.kernel
def _scale_add(x: torch.Tensor, y: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size()):
        out[tile] = x[tile] * alpha + y[tile]
    return out


@kc.kernel
def _no_backward(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size()):
        out[tile] = x[tile] * y[tile]
    return out


def test_no_backward_forward_runs_and_backward_raises_naming_the_kernel():
    """A kernel without a backward, called where autograd records: the forward runs and its
    output carries a node whose backward raises NoBackward naming the kernel, so forward-only
    use works and no gradient is ever silently dropped."""
    x, y = torch.randn(5), torch.randn(5, requires_grad=True)
    out = _no_backward(x, y)
    torch.testing.assert_close(out.detach(), x * y.detach())
    assert out.requires_grad and out.grad_fn is not None
    with pytest.raises(kc.exc.NoBackward) as info:
        (out * 2).sum().backward()
    msg = str(info.value)
    assert "'_no_backward'" in msg and "'y'" in msg and "'x'" not in msg
    assert "register_backward" in msg and "torch.no_grad()" in msg
    assert "test_autograd.py" in msg  # where the kernel is defined
    assert isinstance(info.value, kc.exc.KCompilerError)
    assert y.grad is None


def test_no_backward_keyword_and_list_arguments():
    x, y = torch.randn(5), torch.randn(5, requires_grad=True)
    out = _no_backward(x, y=y)
    with pytest.raises(kc.exc.NoBackward, match="'y'"):
        torch.autograd.grad(out.sum(), [y])


def test_no_backward_unaffected_without_grad():
    x, y = torch.randn(5), torch.randn(5, requires_grad=True)
    with torch.no_grad():
        out = _no_backward(x, y)
    assert not out.requires_grad
    with torch.inference_mode():
        _no_backward(x, y)
    out = _no_backward(x, y.detach())
    assert not out.requires_grad
    torch.testing.assert_close(out, x * y.detach())


def test_no_backward_once_the_fast_path_is_warm():
    """On the direct path the grad test is at the launch (the fast-path key holds each tensor's
    requires_grad): entries made under no_grad or for tensors that need no gradient do not let
    a later call in grad mode return an output without the refusing node."""
    x, y = torch.randn(5), torch.randn(5, requires_grad=True)
    for _ in range(3):
        _no_backward(x, y.detach())
        with torch.no_grad():
            _no_backward(x, y)
    for _ in range(2):  # the loop's last hit, then another entry
        out = _no_backward(x, y)
        assert out.requires_grad
        with pytest.raises(kc.exc.NoBackward, match="'y'"):
            out.sum().backward()
    # The same op signature with the other argument requiring grad names that one.
    with pytest.raises(kc.exc.NoBackward, match=r"computed from 'x'\)?,"):
        _no_backward(y.detach().requires_grad_(True), x).sum().backward()
        assert not _no_backward(x, y.detach()).requires_grad
    with torch.no_grad():
        torch.testing.assert_close(_no_backward(x, y), x * y)


def test_gradients_that_do_not_pass_through_it_still_flow():
    """Only a gradient asked *of* the forward-only output raises: another path of the graph
    (a kernel with a backward) differentiates as usual."""
    a, b = _inputs("swiglu", torch.float32, seed=6)
    side = _no_backward(torch.randn(b.shape[1:]), b[0])
    total = swiglu(a, b).sum() + side.sum()
    (grad_a,) = torch.autograd.grad(total, [a], retain_graph=True)
    torch.testing.assert_close(grad_a, torch.autograd.grad((F.silu(a) * b).sum(), [a])[0])
    with pytest.raises(kc.exc.NoBackward, match="'_no_backward'"):
        torch.autograd.grad(total, [b])


@kc.kernel
def _writes_argument(x: torch.Tensor, out: torch.Tensor) -> None:
    for tile in kl.tile(x.size()):
        out[tile] = x[tile] * 2


def test_no_backward_kernel_that_writes_its_arguments_is_refused_at_the_call():
    """Such a kernel has no output to carry the refusing node: the call raises instead."""
    x, out = torch.randn(5, requires_grad=True), torch.zeros(5)
    with pytest.raises(kc.exc.NoBackward, match=r"'_writes_argument'.*it writes out"):
        _writes_argument(x, out)
    with torch.no_grad():
        _writes_argument(x, out)
    torch.testing.assert_close(out, x.detach() * 2)


def test_backward_once_the_fast_path_is_warm():
    """A kernel with a backward, warmed up by calls that need no gradient (their fast-path
    entries are the ones a grad call's launch hits), still returns a differentiable output."""
    a, b = _inputs("swiglu", torch.float32, seed=4)
    for _ in range(3):
        with torch.no_grad():
            swiglu(a, b)
        swiglu(a.detach(), b.detach())
    for _ in range(2):
        out = swiglu(a, b)
        assert out.grad_fn is not None
        (grad_a,) = torch.autograd.grad(out.sum(), [a])
        torch.testing.assert_close(grad_a, torch.autograd.grad((F.silu(a) * b).sum(), [a])[0])


def test_kernel_calling_a_kernel_with_a_backward():
    """A kernel without a backward whose host code only calls one with a backward: the inner
    call goes through its op, so the gradient flows (nothing of the outer one is lost)."""

    @kc.kernel
    def wrapper(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return swiglu(a, b)

    a, b = _inputs("swiglu", torch.float64, seed=5)
    assert torch.autograd.gradcheck(wrapper, (a, b), eps=1e-6, atol=1e-5)


def test_no_backward_under_torch_compile():
    """Compiled, the forward runs too (AOTAutograd traces the refusal op's fake), and the
    compiled backward raises NoBackward naming the kernel when it runs."""
    torch._dynamo.reset()
    f = torch.compile(lambda x, y: (_no_backward(x, y) * 3).sum(), backend="aot_eager")
    x, y = torch.randn(5), torch.randn(5, requires_grad=True)
    loss = f(x, y)
    torch.testing.assert_close(loss.detach(), (x * y * 3).sum().detach())
    with pytest.raises(kc.exc.NoBackward, match="'_no_backward'.*'y'"):
        loss.backward()
    assert y.grad is None


def test_setup_context_and_backward_receive_what_they_should():
    seen = {}

    def save(ctx, inputs, output):
        x, y, alpha = inputs
        seen["inputs"] = inputs
        seen["output"] = output
        ctx.save_for_backward(x, output)
        ctx.alpha = alpha

    @kc.kernel
    def k(x: torch.Tensor, y: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
        return _scale_add(x, y, alpha)

    @k.register_backward(setup_context=save)
    def k_backward(ctx, grad):
        x, out = ctx.saved_tensors
        seen["saved"] = (x, out)
        seen["needs"] = ctx.needs_input_grad
        seen["grad"] = grad
        return {"x": grad * ctx.alpha, "y": grad}

    x = torch.randn(6, dtype=torch.float64, requires_grad=True)
    y = torch.randn(6, dtype=torch.float64)  # needs no gradient
    out = k(x, y, alpha=2.5)
    inputs = seen["inputs"]
    assert len(inputs) == 3 and inputs[2] == 2.5  # parameter order; the keyword bound
    torch.testing.assert_close(inputs[0], x.detach())
    torch.testing.assert_close(inputs[1], y)
    torch.testing.assert_close(seen["output"], out.detach())
    g = torch.randn(6, dtype=torch.float64)
    out.backward(g)
    saved_x, saved_out = seen["saved"]
    torch.testing.assert_close(saved_x, x.detach())
    torch.testing.assert_close(saved_out, x.detach() * 2.5 + y)
    assert seen["needs"] == (True, False, False)  # per parameter
    torch.testing.assert_close(seen["grad"], g)
    torch.testing.assert_close(x.grad, 2.5 * g)

    # alpha defaults to 1.0: setup_context sees the default filled in
    k(x, y)
    assert seen["inputs"][2] == 1.0


def test_backward_result_structure_is_checked():
    @kc.kernel
    def k(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return _scale_add(x, y)

    k.register_backward(lambda ctx, g: (g,))  # one gradient for two parameters
    x = torch.randn(4, requires_grad=True)
    with pytest.raises(kc.exc.InvalidArgument, match="returned 1 gradient.*one per parameter"):
        k(x, x).sum().backward()
    k.register_backward(lambda ctx, g: {"z": g})
    with pytest.raises(kc.exc.InvalidArgument, match="not parameters"):
        k(x, x).sum().backward()


def test_register_backward_after_calls_and_without_custom_op():
    """Signatures registered before the backward get a new op that has it; a kernel made with
    custom_op=False goes through its op when a gradient is needed."""

    @kc.kernel(custom_op=False)
    def k(x: torch.Tensor) -> torch.Tensor:
        out = torch.empty_like(x)
        for tile in kl.tile(x.size()):
            out[tile] = x[tile] * x[tile]
        return out

    x = torch.randn(7, requires_grad=True)
    with torch.no_grad():
        k(x)
    with pytest.raises(kc.exc.NoBackward):
        k(x).sum().backward()  # the forward-only op (custom_op=False: one is made for it)
    k.register_backward(lambda ctx, g: 2 * ctx.saved_tensors[0] * g,
                        setup_context=lambda ctx, inputs, out: ctx.save_for_backward(inputs[0]))  # fmt: skip
    k(x).sum().backward()
    torch.testing.assert_close(x.grad, 2 * x.detach())


def test_list_argument_gets_a_list_of_gradients():
    @kc.kernel
    def add_all(xs: list[torch.Tensor]) -> torch.Tensor:
        a, b = xs
        out = torch.empty_like(a)
        for tile in kl.tile(out.size()):
            out[tile] = a[tile] + b[tile]
        return out

    add_all.register_backward(lambda ctx, g: [g, 3 * g])  # 3*: a deliberate, visible mark
    a, b = torch.randn(5, requires_grad=True), torch.randn(5, requires_grad=True)
    add_all([a, b]).sum().backward()
    torch.testing.assert_close(a.grad, torch.ones(5))
    torch.testing.assert_close(b.grad, torch.full((5,), 3.0))


def test_mutating_kernel_cannot_have_a_backward():
    @kc.kernel
    def add_into(x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        for tile in kl.tile(x.size()):
            out[tile] = x[tile] + 1
        return out.sum(0, keepdim=True)

    add_into.register_backward(lambda ctx, g: (None, None))
    with pytest.raises(kc.exc.InvalidArgument, match="may not write its arguments"):
        add_into(torch.randn(4, requires_grad=True), torch.zeros(4))


def test_backward_under_a_dispatch_mode():
    """Under a TorchDispatchMode (FlopCounterMode) the call goes through the op at once: the
    forward and backward kernels are counted, and the gradient is right."""
    from torch.utils.flop_counter import FlopCounterMode

    a, b = _inputs("swiglu", torch.float32, seed=6)
    with FlopCounterMode(display=False) as counter:
        out = swiglu(a, b)
        out.sum().backward()
    ops = {str(op) for op in counter.get_flop_counts()["Global"]}
    assert any("swiglu_" in op for op in ops) and any("swiglu_bwd_" in op for op in ops), ops
    ta, tb = a.detach().requires_grad_(True), b.detach().requires_grad_(True)
    (F.silu(ta) * tb).sum().backward()
    torch.testing.assert_close(a.grad, ta.grad)
    torch.testing.assert_close(b.grad, tb.grad)


_SCALE = torch.ones(5, requires_grad=True)


def test_tensor_requiring_grad_that_is_no_argument():
    """A kernel with a backward whose loop reads a global that requires grad: the op's formula
    cannot see that tensor, so the call is refused rather than detached."""

    @kc.kernel
    def scaled(x: torch.Tensor) -> torch.Tensor:
        out = torch.empty_like(x)
        scale = _SCALE
        for tile in kl.tile(x.size()):
            out[tile] = x[tile] * scale[tile]
        return out

    scaled.register_backward(lambda ctx, g: g)
    with pytest.raises(kc.exc.NoBackward, match="'scale'.*no argument"):
        scaled(torch.randn(5))
    with torch.no_grad():
        torch.testing.assert_close(scaled(torch.randn(5) * 0 + 2), torch.full((5,), 2.0))
