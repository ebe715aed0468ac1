"""Indexing modes (``Config.indexing``): every offered mode computes the torch result, the
config space offers only what the IR and the installed Triton allow, and tensor descriptors
fall back to pointers for arguments they can't take."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
import torch
import triton.language as tl
from hypothesis import given
from hypothesis import strategies as st
from xdsl.parser import Parser

import kcompiler as kc
from kcompiler.backends.triton import indexing
from kcompiler.backends.triton.codegen import CodegenOptions
from kcompiler.kernels.embedding import embedding
from kcompiler.kernels.rms_norm import rms_norm_fwd
from kcompiler.kernels.softmax import softmax
from kcompiler.kernels.sum import sum as row_sum
from kcompiler.kernels.vector_add import vector_add
from kcompiler.passes import indexing as ir_indexing
from kcompiler.passes.pass_manager import PassManager, pipeline_for_config
from kcompiler.passes.pipeline import make_context
from kcompiler.testing import call_with_config

Case = tuple[kc.Kernel, Callable[[int, int], tuple[Any, ...]], Callable[..., torch.Tensor]]

CASES: dict[str, Case] = {
    "softmax": (softmax, lambda m, n: (torch.randn(m, n),), lambda x: torch.softmax(x, 1)),
    "rms_norm": (
        rms_norm_fwd,
        lambda m, n: (torch.randn(m, n), torch.randn(n)),
        lambda x, w: x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w,
    ),
    "vector_add": (vector_add, lambda m, n: (torch.randn(m, n), torch.randn(m, n)), torch.add),
    "vector_add_1d": (vector_add, lambda m, n: (torch.randn(m * n), torch.randn(m * n)), torch.add),
    "sum": (row_sum, lambda m, n: (torch.randn(m, n),), lambda x: x.sum(-1)),
}


def _run(kernel: kc.Kernel, config: kc.Config, *args: Any) -> Any:
    out = call_with_config(kernel, config, *args)
    return out[0] if isinstance(out, tuple) else out


def test_supported_modes_follow_the_installed_triton() -> None:
    modes = indexing.supported_modes()
    assert modes[0] == "pointer"
    assert ("tensor_descriptor" in modes) == hasattr(tl, "make_tensor_descriptor")
    doc = (
        (getattr(tl, "make_block_ptr", None).__doc__ or "").lower()
        if hasattr(tl, "make_block_ptr")
        else "removed"
    )
    if "removed" in doc:  # Triton 3.9: "Block pointers have been removed ..."
        assert "block_ptr" not in modes


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("mode", indexing.supported_modes())
def test_every_mode_matches_torch(name: str, mode: str, descriptor_checks: list[bool]) -> None:
    kernel, make, ref = CASES[name]
    args = make(37, 100)  # ragged row tiles; 400-byte rows: aligned for descriptors
    out = _run(kernel, kc.Config(indexing=mode), *args)
    torch.testing.assert_close(out, ref(*args), atol=1e-4, rtol=1e-4)
    if mode == "tensor_descriptor":
        assert descriptor_checks and all(
            descriptor_checks
        )  # the descriptor kernel ran, not the fallback
        assert "tl.make_tensor_descriptor(" in kernel.to_triton_code(
            *args, config=kc.Config(indexing=mode)
        )


@given(
    name=st.sampled_from(sorted(CASES)),
    m=st.sampled_from([1, 3, 17, 37]),
    n=st.sampled_from([1, 3, 17, 100, 1000]),
    mode=st.sampled_from(indexing.supported_modes()),
    chunk=st.sampled_from([None, 256]),
)
def test_odd_sizes_any_mode(name: str, m: int, n: int, mode: str, chunk: int | None) -> None:
    kernel, make, ref = CASES[name]
    args = make(m, n)
    cfg = kc.Config(indexing=mode)
    if chunk and n > 256 and name in ("softmax", "rms_norm", "sum"):
        cfg = cfg.replace(reduction_loops=[chunk])  # the chunk loops' loads take the mode too
    torch.testing.assert_close(_run(kernel, cfg, *args), ref(*args), atol=1e-4, rtol=1e-4)


def test_descriptors_fall_back_for_arguments_they_cant_take(descriptor_checks: list[bool]) -> None:
    cfg = kc.Config(indexing="tensor_descriptor")
    odd = torch.randn(9, 17)  # 68-byte rows: not 16-byte aligned
    torch.testing.assert_close(_run(softmax, cfg, odd), torch.softmax(odd, 1))
    transposed = torch.randn(100, 9).t()  # last-dim stride 9
    torch.testing.assert_close(_run(softmax, cfg, transposed), torch.softmax(transposed, 1))
    base = torch.randn(9 * 100 + 1)[1:].view(9, 100)  # base pointer 4 bytes off
    torch.testing.assert_close(_run(softmax, cfg, base), torch.softmax(base, 1))
    assert descriptor_checks and not any(descriptor_checks)
    good = torch.randn(9, 100)
    torch.testing.assert_close(_run(softmax, cfg, good), torch.softmax(good, 1))
    assert descriptor_checks[-1] is True


def test_descriptor_guard_rules() -> None:
    guards = [indexing.DescriptorGuard("x", 4, (8, 128))]
    ok = indexing.descriptor_check(["x", "n"], guards, check_bounds=False)
    assert ok([torch.randn(5, 100), 5])
    assert not ok([torch.randn(5, 17), 5])  # stride 68 bytes
    assert not ok([torch.randn(100, 5).t(), 5])  # last-dim stride != 1
    assert not ok([torch.randn(4, 1).expand(4, 100), 4])  # stride 0
    gpu = indexing.descriptor_check(["x", "n"], guards, check_bounds=True)
    assert not gpu([torch.randn(5, 100), 5])  # GPU: a block larger than the tensor
    assert gpu([torch.randn(8, 128), 8])


def _module(kernel: kc.Kernel, *args: Any) -> Any:
    return Parser(make_context(), kernel.to_ir(*args)).parse_module()


def test_ir_legality_gathers_and_jagged_loops_are_pointer_only() -> None:
    ids = torch.randint(0, 50, (7,))
    table = torch.randn(50, 64)
    sites = ir_indexing.sites(_module(embedding, ids, table))
    gathers = [s for s in sites if "gather" in s.op.kinds or "scalar" in s.op.kinds]
    assert gathers and all(s.modes == ("pointer",) for s in gathers)
    assert any("tensor_descriptor" in s.modes for s in sites)
    space = embedding.config_space(ids, table)
    for s in sites:
        knob = space.knob(f"indexing[{s.index}]")
        assert set(knob.values) == set(s.modes) & set(indexing.supported_modes())

    from kcompiler.kernels.jagged_mean import jagged_mean_kernel

    x_data = torch.randn(20, 8)
    offsets = torch.tensor([0, 3, 3, 11, 20])
    counts = torch.full((4,), 8, dtype=torch.int32)
    jsites = ir_indexing.sites(_module(jagged_mean_kernel, x_data, offsets, counts, 8))
    (store,) = [s for s in jsites if s.op.name == "tile.store"]
    assert store.op.kinds == ("tile", "tile") and store.modes == ("pointer",)  # a jagged tile


def test_space_offers_only_installed_modes(monkeypatch: pytest.MonkeyPatch) -> None:
    x = torch.randn(37, 100)
    monkeypatch.setattr(indexing, "SUPPORTED_MODES", ("pointer",))
    assert not any(n.startswith("indexing") for n in softmax.config_space(x).names)
    monkeypatch.setattr(indexing, "SUPPORTED_MODES", ("pointer", "block_ptr", "tensor_descriptor"))
    space = softmax.config_space(x)
    assert space.knob("indexing[0]").values == ("pointer", "block_ptr", "tensor_descriptor")


def test_space_keeps_descriptor_blocks_wide_enough() -> None:
    """A tiled last dim needs >= 16 bytes per descriptor block: the space never draws less,
    and every config it draws is emitted exactly as recorded (no silent fallback)."""
    a = torch.randn(37, 100)
    space = vector_add.config_space(a, a)
    if "tensor_descriptor" not in space.knob("indexing[0]").values:
        pytest.skip("this Triton has no tensor descriptors")
    bad = space.default().replace(block_sizes=[32, 2], indexing=["tensor_descriptor"] * 3)
    assert not space.is_valid(bad)
    assert space.is_valid(bad.replace(block_sizes=[32, 4]))
    module = _module(vector_add, a, a)
    rng = random.Random(0)
    for _ in range(30):
        cfg = space.sample(rng)
        clone = module.clone()
        PassManager(pipeline_for_config(clone, cfg), done=["shape-inference"]).run(clone)
        opts = CodegenOptions(
            block_sizes={f"block_{i}": b for i, b in enumerate(cfg["block_sizes"])}
        )
        hints = indexing._hints_of(clone)
        for op, want in zip(ir_indexing.memory_ops(clone), cfg["indexing"]):
            assert indexing.effective_mode(op, opts, hints) == want


def test_block_ptr_emission(monkeypatch: pytest.MonkeyPatch) -> None:
    """Block pointers (Triton <= 3.6) as emitted; they run only where Triton still has them."""
    monkeypatch.setattr(indexing, "SUPPORTED_MODES", ("pointer", "block_ptr", "tensor_descriptor"))
    x = torch.randn(37, 100)
    src = softmax.to_triton_code(x, config=kc.Config(indexing=["block_ptr", "block_ptr"]))
    assert "tl.make_block_ptr(x_ptr, shape=(s0, s1), strides=(x_stride_0, x_stride_1), " in src
    assert 'boundary_check=(0, 1), padding_option="zero")' in src
    assert "tl.store(bp" in src and "boundary_check=(0, 1))" in src
    if indexing.BLOCK_PTR:
        torch.testing.assert_close(
            _run(softmax, kc.Config(indexing="block_ptr"), x), torch.softmax(x, 1)
        )


def test_int64_indexing_keeps_pointers() -> None:
    module = _module(softmax, torch.randn(5, 100))
    PassManager('indexing{modes="tensor_descriptor"}', done=["shape-inference"]).run(module)
    opts = CodegenOptions(block_sizes={"block_0": 4}, int64_indexing=True)
    assert all(
        indexing.effective_mode(op, opts, indexing._hints_of(module)) == "pointer"
        for op in ir_indexing.memory_ops(module)
    )
    assert indexing.descriptor_guards(module, opts) == []


def test_descriptor_scratch_past_32_bits_falls_back_to_pointers(
    monkeypatch: pytest.MonkeyPatch, descriptor_checks: list[bool]
) -> None:
    """In-kernel descriptors take 128 B of scratch per program; at 2**27 elements in 16-element
    tiles, three of them need 3.2 GB, past what Triton's 32-bit scratch offsets reach (an
    illegal address on the H200). The launcher checks the launch's size and runs the pointer
    kernel instead. Meta tensors: GPU code is generated and the launch is a stand-in."""
    from kcompiler.kernels.vector_add import vector_add
    from kcompiler.runtime import kernel as runtime

    monkeypatch.setattr(runtime, "interpreting", lambda: False)  # generate what a GPU runs
    k = kc.kernel(vector_add.fn)
    tma = kc.Config(block_sizes=[16], indexing=["tensor_descriptor"] * 3)
    for n, descriptors_used in [(2**20, True), (2**27, False)]:
        x = torch.empty(n, device="meta")
        envs = [env for _, env in k.bind(x, x).device_loops(tma)]
        compiled = k.compile_loop(0, envs[0], tma)
        compiled.launcher(*[envs[0][p] for p in compiled.params], _kc_launch=lambda *a: None)
        assert descriptor_checks[-1] is descriptors_used, n


def test_a_longer_list_of_one_mode_applies_it_to_every_access() -> None:
    """Helion's configs number accesses their own way (its rolled reduction copies too), so
    their lists can be longer than a kernel's loads/stores here: one repeated mode still means
    that mode everywhere; different modes are read Helion's way when the list has Helion's
    length for the kernel (tests/passes/test_helion_indexing.py), else refused
    (tests/bad_inputs)."""
    args = (torch.randn(37, 100), torch.randn(37, 100))
    for mode in indexing.supported_modes():
        one = vector_add.to_triton_code(*args, config=kc.Config(indexing=mode))
        listed = vector_add.to_triton_code(*args, config=kc.Config(indexing=[mode] * 6))
        assert listed == one
    with pytest.raises(kc.exc.InvalidConfig, match=r"6 entries .* 3 loads/stores"):
        vector_add.to_triton_code(*args, config=kc.Config(indexing=["pointer"] * 5 + ["block_ptr"]))
