"""Kernels as torch.library custom ops: FlopCounterMode, dispatch modes, torch.compile, opcheck.

CPU: kernels run through Triton's interpreter. CUDA-graph capture is tested only with a GPU.
"""

from __future__ import annotations

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.kernels.cross_entropy import cross_entropy
from kcompiler.kernels.layer_norm import layer_norm_fwd
from kcompiler.kernels.rms_norm import rms_norm_fwd
from kcompiler.kernels.softmax import softmax
from kcompiler.kernels.vector_add import vector_add
from kcompiler.runtime import custom_op, flops
from kcompiler.runtime.kernel import interpreting

pytestmark = pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")

M, N = 5, 7


def _inputs():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(M, N, generator=g)
    w = torch.randn(N, generator=g)
    labels = torch.randint(0, N, (M,), generator=g)
    return x, w, labels


def _cases():
    x, w, labels = _inputs()
    a, b = torch.randn(100), torch.randn(100)
    return {
        "vector_add": (vector_add, (a, b), a + b),
        "softmax": (softmax, (x,), torch.softmax(x, dim=1)),
        "rms_norm": (
            rms_norm_fwd, (x, w, 1e-5),
            x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w,
        ),
        "layer_norm": (
            layer_norm_fwd, (x, [N], w, None, 1e-5),
            torch.nn.functional.layer_norm(x, [N], w, None, 1e-5),
        ),
        "cross_entropy": (
            cross_entropy, (x, labels), torch.nn.functional.cross_entropy(x, labels),
        ),
    }  # fmt: skip


# FLOPs derived from each kernel's tile IR (float ops only; index math is integer):
#   vector_add  add                                                       n
#   softmax     max, sub, exp, sum, div over [M, N]                       5MN
#   rms_norm    x*x, sum, *rstd, *w over [M, N]; /N, +eps, rsqrt over M   4MN + 3M
#   layer_norm  sum, sub, sq, sum, *rstd, *w over [M, N]; 2 div, +eps,
#               rsqrt over M                                              6MN + 4M
#   cross_entropy  max, sub, exp, sum over [M, N]; log, add, sub over M   4MN + 3M
EXPECTED_FLOPS = {
    "vector_add": 100,
    "softmax": 5 * M * N,
    "rms_norm": 4 * M * N + 3 * M,
    "layer_norm": 6 * M * N + 4 * M,
    "cross_entropy": 4 * M * N + 3 * M,
}


def _first(r):
    return r[0] if isinstance(r, tuple) else r


def _close(a, b):
    torch.testing.assert_close(_first(a), b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", list(EXPECTED_FLOPS))
def test_flop_counter_mode_counts_the_formula(name):
    kernel, args, expected = _cases()[name]
    with FlopCounterMode(display=False) as counter:
        result = kernel(*args)
    _close(result, expected)
    total = counter.get_total_flops()
    assert total == EXPECTED_FLOPS[name] > 0
    assert total == flops.flops(kernel, *args)
    (packet,) = counter.get_flop_counts()["Global"]
    assert str(packet).startswith(f"{custom_op.NAMESPACE}.")


def test_flop_count_scales_with_sizes():
    x = torch.randn(33, 70)
    assert flops.flops(softmax, x) == 5 * 33 * 70
    with FlopCounterMode(display=False) as counter:
        softmax(x)
    assert counter.get_total_flops() == 5 * 33 * 70


def test_first_call_inside_flop_counter_mode():
    """The op is registered lazily, after the mode copied torch's formula registry."""

    @kc.kernel
    def scale_add(x: torch.Tensor, y: torch.Tensor, alpha: float) -> torch.Tensor:
        out = torch.empty_like(x)
        for tile in kl.tile(x.size()):
            out[tile] = x[tile] * alpha + y[tile]
        return out

    x, y = torch.randn(3, 10), torch.randn(3, 10)
    with FlopCounterMode(display=False) as counter:
        out = scale_add(x, y, 2.0)
    torch.testing.assert_close(out, x * 2.0 + y)
    assert counter.get_total_flops() == 2 * 30


def test_bytes_moved():
    a, b = torch.randn(100), torch.randn(100)
    assert flops.bytes_moved(vector_add, a, b) == 3 * 4 * 100
    x = torch.randn(M, N)
    counts = flops.kernel_counts(softmax, x)
    assert (counts.bytes_loaded, counts.bytes_stored) == (4 * M * N, 4 * M * N)
    assert counts.launches == 1 and not counts.approximate


class _LogOps(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.ops: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.append(str(func))
        return func(*args, **(kwargs or {}))


def test_dispatch_mode_sees_one_kcompiler_op():
    kernel, args, expected = _cases()["layer_norm"]
    with _LogOps() as log:
        result = kernel(*args)
    _close(result, expected)
    assert len(log.ops) == 1 and log.ops[0].startswith("kcompiler.layer_norm_fwd_")


def test_custom_op_off_runs_host_code_directly():
    @kc.kernel(custom_op=False)
    def double(x: torch.Tensor) -> torch.Tensor:
        out = torch.empty_like(x)
        for tile in kl.tile(x.size(0)):
            out[tile] = x[tile] * 2
        return out

    x = torch.randn(9)
    with _LogOps() as log:
        out = double(x)
    torch.testing.assert_close(out, x * 2)
    assert not any(op.startswith("kcompiler.") for op in log.ops)
    assert any("empty" in op for op in log.ops)


def test_one_op_per_signature():
    x, w, _ = _inputs()
    b = torch.randn(N)
    op_none = custom_op.op_for(layer_norm_fwd, x, [N], w, None, 1e-5)
    op_bias = custom_op.op_for(layer_norm_fwd, x, [N], w, b, 1e-5)
    op_eps = custom_op.op_for(layer_norm_fwd, x, [N], w, None, 1e-6)
    assert len({op_none, op_bias, op_eps}) == 3
    assert custom_op.op_for(layer_norm_fwd, x.clone(), [N], w, None, 1e-5) is op_none
    assert "Tensor bias" in str(op_bias._schema) and "bias" not in str(op_none._schema)
    out = layer_norm_fwd(x, [N], w, b, 1e-5)[0]
    torch.testing.assert_close(out, torch.nn.functional.layer_norm(x, [N], w, b, 1e-5))


def test_fake_tensor_mode_runs_host_code_only():
    from torch._subclasses.fake_tensor import FakeTensor, FakeTensorMode

    x, w, _ = _inputs()
    with FakeTensorMode() as mode:
        fx, fw = mode.from_tensor(x), mode.from_tensor(w)
        out, inv = rms_norm_fwd(fx, fw, 1e-5)
    assert isinstance(out, FakeTensor) and out.shape == (M, N)
    assert inv.shape == (M, 1) and inv.dtype == torch.float32


@pytest.mark.parametrize("name", list(EXPECTED_FLOPS))
def test_opcheck(name):
    kernel, args, _ = _cases()[name]
    op = custom_op.op_for(kernel, *args)
    tensors = [a for a in args if isinstance(a, torch.Tensor)]
    torch.library.opcheck(op, tensors)


@pytest.mark.parametrize("backend", ["eager", "aot_eager"])
@pytest.mark.parametrize("name", list(EXPECTED_FLOPS))
def test_torch_compile_fullgraph(name, backend):
    kernel, args, expected = _cases()[name]
    torch._dynamo.reset()

    def caller(*args):
        r = kernel(*args)
        return (_first(r) * 2).sum() if name != "cross_entropy" else r * 2

    compiled = torch.compile(caller, fullgraph=True, backend=backend)
    got = compiled(*args)
    want = (expected * 2).sum() if name != "cross_entropy" else expected * 2
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)


def test_torch_compile_inductor():
    torch._dynamo.reset()
    a, b = torch.randn(100), torch.randn(100)
    compiled = torch.compile(lambda a, b: vector_add(a, b).sin(), fullgraph=True)
    torch.testing.assert_close(compiled(a, b), (a + b).sin())


@kc.kernel
def _add_into(x: torch.Tensor, out: torch.Tensor) -> None:
    flat, x_flat = out.view(-1), x.reshape(-1)
    for tile in kl.tile(x_flat.size(0)):
        flat[tile] = x_flat[tile] + 1


@kc.kernel
def _add_into_returning(x: torch.Tensor, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] + 1
    total = torch.empty([1], dtype=x.dtype, device=x.device)
    for tile in kl.tile(1):
        total[tile] = kl.zeros([tile], dtype=x.dtype) + x.size(0)
    return out, total


def test_mutated_argument_is_declared():
    x, out = torch.randn(3, 4), torch.zeros(3, 4)
    op = custom_op.op_for(_add_into, x, out)
    schema = str(op._schema)
    assert "Tensor(a1!) out" in schema and schema.endswith("-> ()"), schema
    with _LogOps() as log:
        assert _add_into(x, out) is None
    assert log.ops == [str(op)]
    torch.testing.assert_close(out, x + 1)

    torch._dynamo.reset()
    out2 = torch.zeros(3, 4)

    def caller(x, out):
        _add_into(x, out)
        return out * 2

    got = torch.compile(caller, fullgraph=True, backend="aot_eager")(x, out2)
    torch.testing.assert_close(out2, x + 1)
    torch.testing.assert_close(got, (x + 1) * 2)


def test_returned_argument_passes_through():
    x, out = torch.randn(6), torch.zeros(6)
    with _LogOps() as log:
        r, total = _add_into_returning(x, out)
    assert len(log.ops) == 1 and "(a1!) out) -> Tensor" in str(
        custom_op.op_for(_add_into_returning, x, out)._schema
    )
    assert r is out
    torch.testing.assert_close(out, x + 1)
    torch.testing.assert_close(total, torch.tensor([6.0]))


def test_requires_grad_inputs_without_backward_refuse_the_gradient():
    """vector_add has no backward: a call autograd would record goes through its forward-only
    op (a dispatch mode is active, and directly), whose output's backward raises NoBackward;
    without grad mode it runs through the plain op, detached."""
    a = torch.randn(10, requires_grad=True)
    b = torch.randn(10)
    with _LogOps() as log:
        out = vector_add(a, b)
    assert len(log.ops) == 1 and log.ops[0].startswith("kcompiler.vector_add_")
    torch.testing.assert_close(out.detach(), (a + b).detach())
    with pytest.raises(kc.exc.NoBackward, match="'vector_add'.*'x'"):
        out.sum().backward()
    with pytest.raises(kc.exc.NoBackward, match="register_backward"):
        vector_add(a, b).sum().backward()
    with torch.no_grad(), _LogOps() as log:
        out = vector_add(a, b)
    assert log.ops[0].startswith("kcompiler.vector_add_")
    torch.testing.assert_close(out, (a + b).detach())
    assert not out.requires_grad


@pytest.mark.skipif(
    not torch.cuda.is_available() or interpreting(), reason="CUDA graphs need a GPU"
)
def test_cuda_graph_capture():
    x = torch.randn(4096, device="cuda")
    y = torch.randn(4096, device="cuda")
    vector_add(x, y)  # compile and register outside the capture
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        vector_add(x, y)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = vector_add(x, y)
    x.copy_(torch.randn_like(x))
    graph.replay()
    torch.cuda.synchronize()
    torch.testing.assert_close(out, x + y)
