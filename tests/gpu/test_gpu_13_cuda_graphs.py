"""Issue 23: kernel calls captured in CUDA graphs and replayed (runtime/capture.py).

tests/gpu/test_gpu_2_custom_op.py captures one call of each bundled kernel after a side-stream
warm-up. This file covers the rest of the rule: many calls in one graph, captured at each
stage of the fast path (the direct launch still recording its replay, the replay, Triton's
JIT); replays with new input values against torch, a tensor-descriptor (TMA) kernel's
included; a first call or an unseen argument during capture raising ``CompileUnderCapture``
and leaving the process able to capture again; bounds violations inside a replayed graph
reported by ``kc.check_errors()`` and by the next call; an error flag set before the capture
neither aborting it nor being lost; torch.compile's ``mode="reduce-overhead"`` recording the
kernel into its graphs. Run with::

    TRITON_INTERPRET=0 python -m pytest tests/gpu/test_gpu_13_cuda_graphs.py -q -p no:cacheprovider

tests/runtime/test_capture.py checks the same logic on the CPU with the capture query patched.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from gpu_support import needs_cuda

import kcompiler as kc
from kcompiler.backends.triton import indexing
from kcompiler.kernels.cross_entropy import cross_entropy
from kcompiler.kernels.embedding import embedding
from kcompiler.kernels.softmax import softmax
from kcompiler.kernels.vector_add import vector_add

pytestmark = [needs_cuda, pytest.mark.gpu]


@pytest.fixture(autouse=True)
def _clean_flags():
    """No error left over from another test; none left behind."""
    kc.check_errors()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # log(0) in masked lanes
        yield
    torch.cuda.synchronize()


def fresh(k: kc.Kernel) -> kc.Kernel:
    """A copy of a bundled kernel with its own caches (so a test sees its first call)."""
    return kc.kernel(k.fn, config=k.config)


def capture(fn: Callable[[], Any]) -> tuple[torch.cuda.CUDAGraph, Any]:
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = fn()
    return graph, out


@pytest.mark.parametrize(
    "warm_ups, direct",
    [(1, True), (6, True), (2, False)],
    ids=["recording", "replaying", "jit"],
)
def test_vector_add_chain_in_one_graph(warm_ups: int, direct: bool) -> None:
    """Ten dependent calls in one graph, captured with the entry at each stage of the fast
    path (the first hits record the direct launch, later ones replay it; or Triton's JIT)."""
    add = fresh(vector_add)
    add.direct_launch = direct
    x, y = torch.randn(4099, device="cuda"), torch.randn(4099, device="cuda")
    for _ in range(warm_ups):
        add(x, y)
    misses = add.fast_path_misses

    def chain() -> torch.Tensor:
        z = x
        for _ in range(10):
            z = add(z, y)
        return z

    graph, out = capture(chain)
    assert add.fast_path_misses == misses
    gen = torch.Generator("cuda").manual_seed(1)
    for _ in range(3):
        x.copy_(torch.randn(x.shape, generator=gen, device="cuda"))
        y.copy_(torch.randn(y.shape, generator=gen, device="cuda"))
        graph.replay()
        torch.cuda.synchronize()
        torch.testing.assert_close(out, x + 10 * y, rtol=1e-5, atol=1e-5)


def test_hundred_calls_in_one_graph_match_torch() -> None:
    x, y = torch.randn(4096, device="cuda"), torch.randn(4096, device="cuda")
    vector_add(x, y)
    graph, outs = capture(lambda: [vector_add(x, y) for _ in range(100)])
    x.copy_(torch.randn_like(x))
    graph.replay()
    torch.cuda.synchronize()
    assert len({o.data_ptr() for o in outs}) == 100  # each call its own output in the pool
    for o in outs:
        torch.testing.assert_close(o, x + y)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=str)
def test_softmax_replay_follows_new_values(dtype: torch.dtype) -> None:
    x = torch.randn(257, 1000, device="cuda", dtype=dtype)
    softmax(x)
    graph, out = capture(lambda: softmax(x))
    gen = torch.Generator("cuda").manual_seed(2)
    for _ in range(2):
        x.copy_(3 * torch.randn(x.shape, generator=gen, device="cuda").to(dtype))
        graph.replay()
        torch.cuda.synchronize()
        want = torch.softmax(x.float(), dim=-1).to(dtype)
        tol = 1e-5 if dtype == torch.float32 else 1e-2
        torch.testing.assert_close(out, want, rtol=tol, atol=tol)


def test_tensor_descriptor_kernel_replay() -> None:
    """A softmax whose loads and stores use in-kernel tensor descriptors (TMA): Triton's
    launcher allocates their global scratch at each launch, under capture from the graph's
    pool, and the replay still matches torch."""
    if "tensor_descriptor" not in indexing.supported_modes():
        pytest.skip("this Triton has no tensor descriptors")
    x = torch.randn(257, 1024, device="cuda")
    space = softmax.config_space(x)
    flat = space.to_flat(space.default())
    for n in space.names:
        if n.startswith("indexing[") and "tensor_descriptor" in space.knob(n).values:
            flat[n] = "tensor_descriptor"
    assert not space.violations(flat)
    tma = kc.kernel(softmax.fn, config=space.to_config(flat))
    assert "make_tensor_descriptor" in tma.to_triton_code(x)
    tma(x)
    graph, out = capture(lambda: tma(x))
    x.copy_(torch.randn_like(x))
    graph.replay()
    torch.cuda.synchronize()
    torch.testing.assert_close(out, torch.softmax(x, dim=-1), rtol=1e-5, atol=1e-5)


def test_cross_entropy_replay_follows_new_logits_and_targets() -> None:
    n, v = 513, 32003
    logits = torch.randn(n, v, device="cuda")
    labels = torch.randint(0, v, (n,), device="cuda")
    labels[::7] = -100  # ignore_index rows
    cross_entropy(logits, labels)
    graph, loss = capture(lambda: cross_entropy(logits, labels))
    gen = torch.Generator("cuda").manual_seed(3)
    for _ in range(2):
        logits.copy_(torch.randn(logits.shape, generator=gen, device="cuda"))
        labels.copy_(torch.randint(0, v, (n,), generator=gen, device="cuda"))
        labels[::5] = -100
        graph.replay()
        torch.cuda.synchronize()
        torch.testing.assert_close(loss, F.cross_entropy(logits, labels), rtol=1e-5, atol=1e-5)
    kc.check_errors()  # valid targets: nothing recorded


def test_embedding_out_of_range_in_a_replay_is_reported() -> None:
    w = torch.randn(1000, 64, device="cuda")
    x = torch.randint(0, 1000, (4, 257), device="cuda")
    good = x.clone()
    embedding(x, w)
    graph, out = capture(lambda: embedding(x, w))
    graph.replay()
    torch.cuda.synchronize()
    torch.testing.assert_close(out, F.embedding(x, w))
    kc.check_errors()
    x[1, 7] = 1000  # in the static input: the next replay reads it
    graph.replay()
    with pytest.raises(kc.exc.IndexOutOfBounds, match=r"index 1000 .*'weight'"):
        kc.check_errors()  # synchronizes, then reads the records the replay wrote
    kc.check_errors()  # reported once
    x.copy_(good)
    x[3, 200] = -5
    graph.replay()
    torch.cuda.synchronize()
    with pytest.raises(kc.exc.IndexOutOfBounds, match=r"index -5 "):
        embedding(good, w)  # the kernel's next call outside a capture
    torch.testing.assert_close(embedding(good, w), F.embedding(good, w))


def test_cross_entropy_bad_target_in_a_replay_is_reported() -> None:
    n, v = 64, 1000
    logits = torch.randn(n, v, device="cuda")
    labels = torch.randint(0, v, (n,), device="cuda")
    cross_entropy(logits, labels)
    graph, _ = capture(lambda: cross_entropy(logits, labels))
    labels[9] = v
    graph.replay()
    with pytest.raises(kc.exc.IndexOutOfBounds, match=rf"index {v} .*valid range \[0, {v - 1}\]"):
        cross_entropy.check_errors()


def test_error_before_the_capture_neither_aborts_it_nor_is_lost() -> None:
    emb = fresh(embedding)
    w = torch.randn(100, 16, device="cuda")
    x = torch.randint(0, 100, (300,), device="cuda")
    emb(x, w)
    bad = x.clone()
    bad[17] = 100
    emb(bad, w)  # records the error; nothing waits for it
    torch.cuda.synchronize()
    graph, out = capture(lambda: emb(x, w))  # the flag is set: the capture goes on
    with pytest.raises(kc.exc.IndexOutOfBounds, match=r"index 100 "):
        emb(x, w)  # the next call outside the capture reports it
    graph.replay()
    torch.cuda.synchronize()
    torch.testing.assert_close(out, F.embedding(x, w))
    kc.check_errors()


def test_check_errors_during_capture_keeps_the_capture() -> None:
    x, y = torch.randn(1000, device="cuda"), torch.randn(1000, device="cuda")
    vector_add(x, y)

    def body() -> torch.Tensor:
        out = vector_add(x, y)
        kc.check_errors()  # would synchronize outside a capture
        vector_add.check_errors()
        return out

    graph, out = capture(body)
    y.copy_(torch.randn_like(y))
    graph.replay()
    torch.cuda.synchronize()
    torch.testing.assert_close(out, x + y)


@pytest.mark.parametrize(
    "warm, captured",
    [
        (None, lambda x, y: (x, y)),
        (lambda x, y: (x, y), lambda x, y: (x[:-1], y[:-1])),
        (lambda x, y: (x, y), lambda x, y: (x[1:], y[1:])),  # 4-byte offset: another binary
        (lambda x, y: (x, y), lambda x, y: (x.double(), y.double())),
    ],
    ids=["first-call", "shape", "alignment", "dtype"],
)
def test_unseen_call_during_capture_raises_and_capture_works_after(warm, captured) -> None:
    add = fresh(vector_add)
    x, y = torch.randn(4096, device="cuda"), torch.randn(4096, device="cuda")
    if warm is not None:
        add(*warm(x, y))
    args = captured(x, y)
    with pytest.raises(kc.exc.CompileUnderCapture, match=r"vector_add\.py:\d+: .*Call it once"):
        capture(lambda: add(*args))
    assert not torch.cuda.is_current_stream_capturing()
    torch.cuda.synchronize()  # the CUDA context is intact
    torch.testing.assert_close(add(*args), args[0] + args[1])  # warm-up, outside the capture
    graph, out = capture(lambda: add(*args))
    args[0].add_(1)
    graph.replay()
    torch.cuda.synchronize()
    torch.testing.assert_close(out, args[0] + args[1])


def test_torch_compile_reduce_overhead_captures_the_kernel() -> None:
    """torch.compile's CUDA graphs (mode="reduce-overhead") warm the caller up, then record
    it: the kernel's op is recorded into the graph, not skipped, and replays follow new
    inputs."""
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    add = fresh(vector_add)

    def caller(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return add(a, b) * 2 + 1

    compiled = torch.compile(caller, mode="reduce-overhead", fullgraph=True)
    gen = torch.Generator("cuda").manual_seed(4)
    for _ in range(4):  # warm-up run, recording run, replays
        x = torch.randn(4096, generator=gen, device="cuda")
        y = torch.randn(4096, generator=gen, device="cuda")
        torch.testing.assert_close(compiled(x, y), (x + y) * 2 + 1)
    assert not counters["inductor"]["cudagraph_skips"], dict(counters["inductor"])
    torch._dynamo.reset()
