"""Helion language names beyond the core loop/load/store set: ``kl.arange``,
``kl.static_range``, the tile attribute functions, ``kl.subscript``, ``kc.cdiv`` /
``kc.next_power_of_2`` / ``kc.jit``, callables among a kernel's arguments, and the
"not supported" answer for every Helion name kcompiler leaves out."""

from __future__ import annotations

import inspect
import subprocess

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.exc import CompileError, ShapeMismatch, UnsupportedConstruct
from kcompiler.testing import assert_matches_torch, dtypes, tensors


def _line_of(kernel: kc.Kernel, marker: str) -> str:
    lines, start = inspect.getsourcelines(kernel.fn)
    return f":{start + next(i for i, ln in enumerate(lines) if marker in ln)}:"


@kc.kernel
def arange_kernel(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        i = tile.begin + kl.arange(tile.block_size)  # the tile's indices, as tile.index
        odd = kl.arange(1, 10, 2).sum()  # 1 + 3 + 5 + 7 + 9
        out[tile] = x[tile] * i.to(x.dtype) + odd
    return out


@settings(max_examples=8, deadline=None)
@given(tensors(st.tuples(st.sampled_from([1, 3, 17, 1000])), dtypes()))
def test_arange(x: torch.Tensor) -> None:
    def ref(x: torch.Tensor) -> torch.Tensor:
        return x * torch.arange(x.numel()).to(x.dtype) + 25

    assert_matches_torch(arange_kernel, ref, x, reference_in_float32=True, atol=1e-2 * x.numel())


@kc.kernel
def arange_of_whole_dim(x: torch.Tensor) -> torch.Tensor:
    m, n = x.shape
    out = torch.empty_like(x)
    for tile in kl.tile(m):
        cols = kl.arange(n, dtype=torch.int64)
        out[tile, :] = torch.where(cols[None, :] % 2 == 0, x[tile, :], 0.0)
    return out


def test_arange_of_a_size_is_masked_past_it() -> None:
    for n in (1, 3, 17):
        x = torch.randn(5, n)
        assert_matches_torch(
            arange_of_whole_dim,
            lambda x: torch.where(torch.arange(x.size(1))[None, :] % 2 == 0, x, 0.0),
            x,
        )


@kc.kernel
def static_range_kernel(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        acc = kl.zeros([tile], dtype=torch.float32)
        for k in kl.static_range(1, 7, 2):  # 1, 3, 5: unrolled
            acc = acc + x[tile].float() * k
        out[tile] = acc.to(x.dtype)
    return out


def test_static_range_unrolls() -> None:
    x = torch.randn(37)
    assert_matches_torch(static_range_kernel, lambda x: x * 9.0, x)
    body = static_range_kernel.to_triton_code(x).split("def launch_")[0]
    assert "for " not in body.split("pid = ")[1]  # no loop left in the kernel


@kc.kernel
def static_range_break(x: torch.Tensor, stop: kl.constexpr) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        acc = x[tile] * 0
        for k in kl.static_range(8):
            if k == stop:
                break
            if k % 2 == 1:
                continue
            acc = acc + x[tile] * k  # k = 0, 2, 4, ... below stop
        out[tile] = acc
    return out


def test_break_and_continue_of_an_unrolled_loop() -> None:
    x = torch.randn(21)
    for stop in (0, 3, 5, 9):
        factor = sum(k for k in range(min(stop, 8)) if k % 2 == 0)
        assert_matches_torch(static_range_break, lambda x, s, f=factor: x * f, x, stop)


@kc.kernel
def break_on_device_value(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        acc = x[tile]
        for _ in kl.static_range(3):
            if x[tile].sum() > 0:  # BAD
                break
            acc = acc * 2
        out[tile] = acc
    return out


@kc.kernel
def reverse_through_barrier(x: torch.Tensor) -> torch.Tensor:
    n = x.size(0)
    tmp = torch.empty_like(x)
    out = torch.empty_like(x)
    for tile in kl.tile(n):
        tmp[tile] = x[tile] * 2.0
    kl.barrier()  # every write of the first loop lands before the second reads
    for tile in kl.tile(n):
        out[tile] = kl.load(tmp, [n - 1 - tile.index]) + 1.0
    return out


def test_barrier_between_top_level_loops() -> None:
    x = torch.randn(37)
    assert_matches_torch(reverse_through_barrier, lambda x: x.flip(0) * 2.0 + 1.0, x)


@kc.kernel
def barrier_in_device_code(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        kl.barrier()  # BAD
        out[tile] = x[tile]
    return out


@kc.kernel
def tile_functions(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0), block_size=8):
        v = kl.tile_index(tile).to(x.dtype) + kl.tile_begin(tile) * 0 + kl.tile_id(tile) * 0
        w = kl.tile_end(tile) - kl.tile_begin(tile) - kl.tile_block_size(tile) * 0
        row = kl.subscript(x[tile], [None, slice(None)])
        out[tile] = v + w.to(x.dtype) * 0 + row.sum(0) * 0
    return out


def test_tile_attribute_functions_and_subscript() -> None:
    x = torch.randn(19)
    assert_matches_torch(tile_functions, lambda x: torch.arange(19).float(), x)


def test_cdiv_next_power_of_2_and_jit() -> None:
    assert [kc.cdiv(a, 4) for a in (0, 1, 4, 5, 8, 9)] == [0, 1, 1, 2, 2, 3]
    assert [kc.next_power_of_2(n) for n in (0, 1, 2, 3, 17, 64, 65)] == [1, 1, 2, 4, 32, 64, 128]
    assert kc.jit is kc.kernel


@kc.kernel
def cdiv_in_host_code(x: torch.Tensor) -> torch.Tensor:
    n = x.size(0)
    half = kc.next_power_of_2(kc.cdiv(n, 2))
    out = torch.empty([half], dtype=x.dtype)
    for tile in kl.tile(half):
        out[tile] = x[tile] + 1.0
    return out


def test_cdiv_in_a_kernel() -> None:
    x = torch.randn(40)
    assert_matches_torch(cdiv_in_host_code, lambda x: x[:32] + 1.0, x)


def _scale(v: torch.Tensor, s: float) -> torch.Tensor:
    return v * s


@kc.kernel
def with_epilogue(x: torch.Tensor, epilogue=lambda acc, tile: acc) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = epilogue(_scale(x[tile], 3.0), tile)
    return out


def test_callable_arguments_and_helpers_are_inlined() -> None:
    x = torch.randn(33)
    assert_matches_torch(with_epilogue, lambda x: x * 3.0, x)
    assert_matches_torch(
        lambda x: with_epilogue(x, lambda a, t: a + t.index.to(a.dtype)),
        lambda x: x * 3.0 + torch.arange(33),
        x,
    )


@kc.kernel
def arange_of_runtime_value(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        n = x[tile].sum().to(torch.int64)
        out[tile] = x[tile] + kl.arange(n).sum()  # BAD
    return out


@kc.kernel
def arange_of_floats(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] + kl.arange(4, dtype=torch.float32).sum()  # BAD
    return out


@kc.kernel
def uses_unsupported(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        kl.remote_barrier()  # BAD
        out[tile] = x[tile]
    return out


@kc.kernel
def tunable_in_host_code(x: torch.Tensor) -> torch.Tensor:
    split_k = kl.register_tunable("split_k", 4)  # BAD  # noqa: F841
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile]
    return out


@pytest.mark.parametrize(
    "kernel, error, message",
    [
        (tunable_in_host_code, CompileError, r"a tunable's domain must be a fragment"),
        (barrier_in_device_code, UnsupportedConstruct, r"kl.barrier\(\) inside a device loop"),
        (break_on_device_value, UnsupportedConstruct, r"`break` under `if x\[tile\].sum\(\)"),
        (arange_of_runtime_value, UnsupportedConstruct, "must be known when the kernel compiles"),
        (arange_of_floats, ShapeMismatch, "must be an integer type"),
        (uses_unsupported, UnsupportedConstruct, r"not supported: kl.remote_barrier \(distrib"),
    ],
)
def test_misuse_is_located(kernel, error, message) -> None:
    with pytest.raises(error, match=message) as info:
        kernel(torch.randn(8))
    assert _line_of(kernel, "# BAD") in str(info.value)


def test_every_helion_language_name_exists() -> None:
    """Every public name of helion.language at the pinned commit resolves under kl (a
    function, or a "not supported" object), never an AttributeError."""
    names = (
        "atomic_add atomic_and atomic_cas atomic_max atomic_min atomic_or atomic_xchg atomic_xor "
        "barrier constexpr ProcessGroupName specialize arange full zeros breakpoint device_print "
        "AsyncCopyDescriptor make_async_remote_copy remote_barrier inline_asm_elementwise "
        "inline_triton triton_kernel grid jagged_tile static_range tile dot dot_scaled load store "
        "float4_e2m1fn_x2_to_float32 load_bfloat16_x16_to_float16 "
        "load_float4_e2m1fn_x16_to_float16 rand rand4x randint reduce associative_scan cumprod "
        "cumsum StackTensor stacktensor_like tile_begin tile_block_size tile_end tile_id "
        "tile_index Tile register_block_size register_tunable join split subscript"
    ).split()
    for name in names:
        assert getattr(kl, name) is not None
    with pytest.raises(AttributeError):
        kl.no_such_name  # noqa: B018
    # `from kcompiler.language import <unsupported>` works (the error comes at the use)
    code = "from kcompiler.language import remote_barrier, ProcessGroupName; print('ok')"
    assert subprocess.run(["python", "-c", code], capture_output=True, text=True).stdout == "ok\n"
