"""Host ints the kernel's own code fixes (``BC = 16``, ``BC = GLOBAL``) are static sizes in
device code, as a literal is: a slice ``i : i + BC`` then has the shape of ``kl.arange(16)``.
Sizes and int arguments stay size symbols (one variant serves every value), and a constant's
value is part of the specialization key."""

from __future__ import annotations

import ast

import pytest
import torch

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.exc import ShapeMismatch
from kcompiler.frontend.host_constants import constant_locals
from kcompiler.testing import FLOAT_DTYPES, assert_matches_torch

SUB = 4  # a module global: a constant of every kernel that reads it


@kc.kernel(static_shapes=False)
def causal_blocks(x: torch.Tensor) -> torch.Tensor:
    """Masks each SUB x SUB diagonal block of every row-block of x to its lower triangle (the
    linear-attention pattern: a literal arange against a host-constant slice length)."""
    bc = SUB
    n = kl.specialize(x.size(1))
    nc = n // bc
    out = torch.zeros_like(x)
    for tile_b in kl.tile(x.size(0), block_size=1):
        rows = kl.arange(4)
        incl = (rows[:, None] >= rows[None, :])[None, :, :]
        for i in range(nc):
            d0 = i * bc
            blk = x[tile_b, d0 : d0 + bc, d0 : d0 + bc]
            out[tile_b, d0 : d0 + bc, d0 : d0 + bc] = torch.where(incl, blk, 0.0)
    return out


def causal_blocks_ref(x: torch.Tensor) -> torch.Tensor:
    out = torch.zeros_like(x)
    mask = torch.ones(SUB, SUB, dtype=torch.bool).tril()
    for d0 in range(0, x.size(1), SUB):
        blk = x[:, d0 : d0 + SUB, d0 : d0 + SUB]
        out[:, d0 : d0 + SUB, d0 : d0 + SUB] = torch.where(mask, blk, 0.0)
    return out


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_constant_slice_length_matches_a_literal_arange(dtype: torch.dtype) -> None:
    x = torch.randn(3, 12, 12).to(dtype)
    assert_matches_torch(causal_blocks, causal_blocks_ref, x)


@kc.kernel(static_shapes=False)
def window_sum(x: torch.Tensor, w: int) -> torch.Tensor:
    """Sums columns [0, width) of each row, where ``width`` is an argument or a constant."""
    width = w
    bw = 8  # the literal: a static size
    out = torch.empty([x.size(0)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        cols = kl.arange(8)
        vals = x[tile, 0:bw]
        out[tile] = torch.where(cols[None, :] < width, vals, 0.0).sum(-1)
    return out


def test_int_argument_stays_a_symbol_and_a_literal_local_is_static() -> None:
    x = torch.randn(4, 8)
    for w in (3, 6):
        assert_matches_torch(window_sum, lambda x, w: x[:, :w].sum(-1), x, w)
    # 5 and 7 share a power-of-two bucket and divisor: only their values differ.
    spec = window_sum.loop_specialization(0, {"x": x, "w": 5, "width": 5, "bw": 8})
    entries = dict((e[0], e[1:]) for e in spec.key[0])
    assert entries["bw"] == ("K", 8)  # static, keyed by value
    assert entries["width"][0] == "I" and entries["width"][1].startswith("s")  # a symbol
    other = window_sum.loop_specialization(0, {"x": x, "w": 7, "width": 7, "bw": 8})
    assert other.key == spec.key  # the argument's value does not key a variant


def test_a_constant_value_is_part_of_the_key() -> None:
    x = torch.randn(5, 8)
    a = window_sum.loop_specialization(0, {"x": x, "w": 3, "width": 3, "bw": 8})
    b = window_sum.loop_specialization(0, {"x": x, "w": 3, "width": 3, "bw": 4})
    assert a.key != b.key


def _constants(src: str, params: set[str] = frozenset(), constexprs: frozenset = frozenset()):
    fdef = ast.parse(src).body[0]
    assert isinstance(fdef, ast.FunctionDef)
    return constant_locals(
        fdef, set(params) | {a.arg for a in fdef.args.args}, constexprs, lambda e: None
    )


def test_rule_admits_literals_globals_and_their_arithmetic() -> None:
    got = _constants(
        "def k(x, n, c):\n"
        "    a = 16\n"
        "    b = G * 2 + a\n"
        "    d: int = min(a, 8)\n"
        "    e, f = 1, a // 2\n"
        "    g = 3 if a > 4 else 5\n"
        "    h = c + 1\n",
        constexprs=frozenset({"c"}),
    )
    assert got == {"a", "b", "d", "e", "f", "g", "h"}


def test_rule_rejects_run_time_values() -> None:
    got = _constants(
        "def k(x, n):\n"
        "    a = x.size(0)\n"  # a size
        "    b = n\n"  # an int argument
        "    c = 4\n"
        "    c += 1\n"  # not a plain assignment
        "    for d in range(3):\n"  # a loop variable
        "        pass\n"
        "    e = a * 2\n"  # built from a run-time value
        "    f = 8\n"
        "    if n > 2:\n"
        "        f = n\n"  # one assignment is run-time
        "    g, h = x.shape\n"  # unpacked from a run-time tuple
        "    i = foo(4)\n"  # an arbitrary call
        "    j = [y := 3 for _ in range(2)]\n"
    )
    assert got == set()


@kc.kernel(static_shapes=False)
def mismatched(x: torch.Tensor) -> torch.Tensor:
    bc = SUB + 1
    out = torch.zeros_like(x)
    for tile_b in kl.tile(x.size(0), block_size=1):
        rows = kl.arange(4)
        blk = x[tile_b, 0:bc]
        out[tile_b, 0:bc] = blk + rows[None, :]  # <- mismatch
    return out


def test_a_constant_of_another_size_is_a_located_shape_error() -> None:
    with pytest.raises(ShapeMismatch, match=r"test_host_constants.py:\d+:\d+: .*5 vs 4|4 vs 5"):
        mismatched(torch.randn(2, 8))


# -- sizes the specialization fixes ----------------------------------------------------------


@kc.kernel(static_shapes=False)
def arange_weights(x: torch.Tensor) -> torch.Tensor:
    """A literal arange against a dim of a tensor whose size is a run-time symbol: when that
    size is a power of two the key fixes it, and the two are one dim."""
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile, :] = x[tile, :] * kl.arange(8).to(x.dtype)[None, :]
    return out


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_literal_arange_matches_a_fixed_size_symbol(dtype: torch.dtype) -> None:
    x = torch.randn(13, 8).to(dtype)
    assert_matches_torch(arange_weights, lambda x: x * torch.arange(8).to(x.dtype), x)


def test_an_unfixed_size_is_not_the_literal() -> None:
    with pytest.raises(ShapeMismatch, match=r"test_host_constants.py:\d+:\d+: .*dim s1 vs 8"):
        arange_weights(torch.randn(13, 12))


@kc.kernel(static_shapes=False)
def stack_pair(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty([x.size(0), 2, x.size(1)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        out[tile, :, :] = torch.stack([x[tile, :], y[tile, :]], dim=1)
    return out


def test_stack_stores_into_a_dynamic_dim_of_two() -> None:
    x, y = torch.randn(7, 5), torch.randn(7, 5)
    assert_matches_torch(stack_pair, lambda x, y: torch.stack([x, y], 1), x, y)


WIDTH = 4  # changed by the test below: each value compiles its own variant


@kc.kernel(static_shapes=False)
def first_columns(x: torch.Tensor) -> torch.Tensor:
    w = WIDTH
    out = torch.zeros_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile, 0:w] = x[tile, 0:w] * kl.arange(w).to(x.dtype)[None, :]
    return out


def test_a_changed_global_compiles_another_variant() -> None:
    global WIDTH
    x = torch.randn(9, 8)
    try:
        for width in (4, 2, 4):
            WIDTH = width

            def ref(x: torch.Tensor, w: int = width) -> torch.Tensor:
                out = torch.zeros_like(x)
                out[:, :w] = x[:, :w] * torch.arange(w).to(x.dtype)
                return out

            assert_matches_torch(first_columns, ref, x)
    finally:
        WIDTH = 4


@kc.kernel(static_shapes=False)
def fixed_block(x: torch.Tensor) -> torch.Tensor:
    block = 2 * SUB  # a constant: a block size fixed when the kernel compiles, as a literal is
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0), block_size=block):
        out[tile] = x[tile] + 1
    return out


def test_a_constant_block_size_is_fixed() -> None:
    x = torch.randn(29)
    assert_matches_torch(fixed_block, lambda x: x + 1, x)
    assert "BLOCK_0=8" in fixed_block.to_triton_code(x)
