"""The `tile` dialect's Python API: typing rules, verifiers, and print/parse round trips."""

from __future__ import annotations

import io
import itertools
import re

import pytest
import torch
from xdsl.dialects.builtin import ModuleOp, StringAttr, i64
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.rewriter import Rewriter
from xdsl.utils.exceptions import VerifyException

from kcompiler.dialects import tile as t
from kcompiler.frontend.dtypes import to_ir, to_torch
from kcompiler.passes.pipeline import make_context

ELEMENT_TYPES = [t.f16, t.bf16, t.f32, t.f64, t.i1, t.i8, t.u8, t.i16, t.i32, i64]


def parse(text: str) -> ModuleOp:
    return Parser(make_context(), text).parse_module()


def generic(module: ModuleOp) -> str:
    out = io.StringIO()
    Printer(stream=out, print_generic_format=True).print_op(module)
    return out.getvalue()


# --------------------------------------------------------------------------------------------
# Typing rules
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("a, b", list(itertools.product(ELEMENT_TYPES, ELEMENT_TYPES)))
def test_promote_pair_is_torch_promote_types(a, b) -> None:
    assert t.promote_pair(a, b) == to_ir(torch.promote_types(to_torch(a), to_torch(b)))


def test_result_dtype_of_dimensioned_values_is_torch_result_type() -> None:
    for a, b in itertools.product(ELEMENT_TYPES, ELEMENT_TYPES):
        got = t.result_dtype([t.BlockType(["4"], a), t.BlockType(["4"], b)])
        want = torch.result_type(
            torch.zeros(4, dtype=to_torch(a)), torch.zeros(4, dtype=to_torch(b))
        )
        assert got == to_ir(want), (a, b)


def test_result_dtype_scalar_of_same_or_lower_category_keeps_the_block_dtype() -> None:
    category = {**dict.fromkeys([t.f16, t.bf16, t.f32, t.f64], 2), t.i1: 0}
    for block, scalar in itertools.product(ELEMENT_TYPES, ELEMENT_TYPES):
        if category.get(scalar, 1) <= category.get(block, 1):
            dtype = t.result_dtype([t.BlockType(["s0"], block), t.BlockType([], scalar)])
            assert dtype == block, (block, scalar)


@pytest.mark.parametrize(
    "operands, expected",
    [
        ([(["s0"], t.i32), ([], t.f64)], t.f32),  # a float scalar raises ints to float32
        ([(["s0"], t.bf16), ([], t.f32)], t.bf16),  # ... but does not widen a float block
        ([(["s0"], t.i1), ([], i64)], i64),  # an int scalar raises bools
        ([(["s0"], t.i32), ([], i64)], t.i32),
        ([([], t.f16), ([], t.f32)], t.f32),  # all 0-d: plain promotion
        ([([], t.i8), ([], t.u8)], t.i16),
        ([(["s0"], t.bf16), (["s0"], t.f16)], t.f32),
    ],
)
def test_result_dtype_cases(operands, expected) -> None:
    assert t.result_dtype([t.BlockType(d, e) for d, e in operands]) == expected


@pytest.mark.parametrize(
    "shapes, expected",
    [
        ([("block_0", "s1"), ("s1",)], ("block_0", "s1")),
        ([("block_0", "1"), ("1", "s1")], ("block_0", "s1")),
        ([("block_0", "1"), ("s1",)], ("block_0", "s1")),
        ([(), ("block_0",)], ("block_0",)),
        ([("1",), ("1",)], ("1",)),
        ([("a", "1", "c"), ("b", "1"), ("c",)], ("a", "b", "c")),
        ([], ()),
    ],
)
def test_broadcast_dims(shapes, expected) -> None:
    assert t.broadcast_dims(*shapes) == expected


@pytest.mark.parametrize(
    "shapes", [[("block_0", "s1"), ("s2",)], [("s0",), ("s0", "s1")], [("2",), ("3",)]]
)
def test_broadcast_dims_rejects_mismatched_dims(shapes) -> None:
    with pytest.raises(t.ShapeError, match="do not broadcast"):
        t.broadcast_dims(*shapes)


def test_infer_type_of_ops_built_in_python() -> None:
    kernel = t.KernelOp(
        "k", ["x", "y"], [t.BlockType(["s0", "1"], t.bf16), t.BlockType(["s1"], t.f32)]
    )
    x, y = kernel.body.block.args
    add = t.BinaryOp("add", x, y)
    red = t.ReduceOp("sum", add.result, 1, keepdim=True)
    kernel.body.block.add_ops([add, red])
    assert not add.result.type.known
    assert t.refine_result_type(add) and t.refine_result_type(red)
    assert add.result.type == t.BlockType(["s0", "s1"], t.f32)
    assert red.result.type == t.BlockType(["s0", "1"], t.f32)
    assert not t.refine_result_type(add)  # already inferred
    ModuleOp([kernel]).verify()


# --------------------------------------------------------------------------------------------
# Verifiers: each op rejects a bad program
# --------------------------------------------------------------------------------------------

KERNEL = """
builtin.module {
  tile.kernel @k(%x: !tile.tensor<[s0, s1], f32>, %v: !tile.block<[s0, s1], f32>,
                 %w: !tile.block<[s1], f32>, %i: !tile.block<[], i64>,
                 %f: !tile.block<[], f32>, %m: !tile.block<[s0, s1], i1>) {
    tile.for %t = %i to %i block block_0 kind tile parallel {
      OPS
    }
  }
}
"""

GOOD_OPS = """
      %idx = tile.index %t : !tile.tile<block_0> -> !tile.block<[block_0], i64>
      %begin = tile.tile_attr "begin" %t : !tile.tile<block_0> -> !tile.block<[], i64>
      %n = tile.size "s0" : !tile.block<[], i64>
      %c = tile.constant 1.500000e+00 : f32 : !tile.block<[], f32>
      %z = tile.full %f shape ["block_0", "s1"] dtype f32 : !tile.block<[], f32> -> !tile.block<[block_0, s1], f32>
      %a = tile.load %x[%t] ["tile", "full"] : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0> -> !tile.block<[block_0, s1], f32>
      tile.store %w, %x[%t] ["tile", "full"] : !tile.block<[s1], f32>, !tile.tensor<[s0, s1], f32>, !tile.tile<block_0>
      %s = tile.binary "add" %v, %w : !tile.block<[s0, s1], f32>, !tile.block<[s1], f32> -> !tile.block<[s0, s1], f32>
      %e = tile.unary "exp" %v : !tile.block<[s0, s1], f32> -> !tile.block<[s0, s1], f32>
      %h = tile.cast %v to f16 : !tile.block<[s0, s1], f32> -> !tile.block<[s0, s1], f16>
      %q = tile.select %m, %v, %f : !tile.block<[s0, s1], i1>, !tile.block<[s0, s1], f32>, !tile.block<[], f32> -> !tile.block<[s0, s1], f32>
      %red = tile.reduce "max" %v dim 1 : i64 : !tile.block<[s0, s1], f32> -> !tile.block<[s0], f32>
      %p = tile.reshape %w to ["s1", "1"] : !tile.block<[s1], f32> -> !tile.block<[s1, 1], f32>
      %acc0 = tile.full %f shape ["s0", "1"] dtype f32 : !tile.block<[], f32> -> !tile.block<[s0, 1], f32>
      %d = tile.dot %v, %p, %acc0 : !tile.block<[s0, s1], f32>, !tile.block<[s1, 1], f32>, !tile.block<[s0, 1], f32> -> !tile.block<[s0, 1], f32>
"""


def test_the_verifier_template_is_valid() -> None:
    parse(KERNEL.replace("OPS", GOOD_OPS)).verify()


BAD_OPS = {
    "tile.index": (
        "%r = tile.index %t : !tile.tile<block_0> -> !tile.block<[block_1], i64>",
        "does not match inferred",
    ),
    "tile.tile_attr": (
        '%r = tile.tile_attr "middle" %t : !tile.tile<block_0> -> !tile.block<[], i64>',
        "unknown tile attribute 'middle'",
    ),
    "tile.size": ('%r = tile.size "s0" : !tile.block<[], f32>', "does not match inferred"),
    "tile.constant": (
        "%r = tile.constant 1 : i64 : !tile.block<[], f32>",
        "does not match inferred",
    ),
    "tile.full": (
        '%r = tile.full %v shape ["s0"] dtype f32 : !tile.block<[s0, s1], f32> -> !tile.block<[s0], f32>',
        "fill value must be a scalar",
    ),
    "tile.load": (
        '%r = tile.load %x[%t] ["tile"] : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0> -> !tile.block<[block_0], f32>',
        "indexing a rank-2 tensor with 1 indices",
    ),
    "tile.load (index dtype)": (
        '%r = tile.load %x[%f] ["scalar", "full"] : !tile.tensor<[s0, s1], f32>, !tile.block<[], f32> -> !tile.block<[s1], f32>',
        "is not an integer",
    ),
    "tile.store": (
        'tile.store %v, %x[%t] ["tile", "full"] : !tile.block<[s0, s1], f32>, !tile.tensor<[s0, s1], f32>, !tile.tile<block_0>',
        "do not broadcast",
    ),
    "tile.binary": (
        '%r = tile.binary "xor" %v, %v : !tile.block<[s0, s1], f32>, !tile.block<[s0, s1], f32> -> !tile.block<[s0, s1], f32>',
        "bitwise xor on floating-point values",
    ),
    "tile.binary (shapes)": (
        '%r = tile.binary "add" %v, %idx : !tile.block<[s0, s1], f32>, !tile.block<[block_0], i64> -> !tile.block<[s0, s1], f32>',
        "do not broadcast",
    ),
    "tile.unary": (
        '%r = tile.unary "not" %v : !tile.block<[s0, s1], f32> -> !tile.block<[s0, s1], f32>',
        "logical not of a non-boolean value",
    ),
    "tile.cast": (
        "%r = tile.cast %v to f16 : !tile.block<[s0, s1], f32> -> !tile.block<[s0, s1], f32>",
        "does not match inferred",
    ),
    "tile.select": (
        "%r = tile.select %v, %v, %v : !tile.block<[s0, s1], f32>, !tile.block<[s0, s1], f32>, !tile.block<[s0, s1], f32> -> !tile.block<[s0, s1], f32>",
        "condition must be bool",
    ),
    "tile.reduce": (
        '%r = tile.reduce "sum" %v dim 2 : i64 : !tile.block<[s0, s1], f32> -> !tile.block<[s0], f32>',
        "reduction dim 2 out of range for rank 2",
    ),
    "tile.reduce (kind)": (
        '%r = tile.reduce "mean" %v dim 1 : i64 : !tile.block<[s0, s1], f32> -> !tile.block<[s0], f32>',
        "unknown reduction 'mean'",
    ),
    "tile.reshape": (
        '%r = tile.reshape %v to ["s1", "s0"] : !tile.block<[s0, s1], f32> -> !tile.block<[s1, s0], f32>',
        r"cannot reshape \['s0', 's1'\] to \['s1', 's0'\]",
    ),
    "tile.dot": (
        "%r = tile.dot %v, %v, %v : !tile.block<[s0, s1], f32>, !tile.block<[s0, s1], f32>, !tile.block<[s0, s1], f32> -> !tile.block<[s0, s1], f32>",
        "inner dims differ: s1 vs s0",
    ),
    "tile.dot (rank)": (
        "%r = tile.dot %w, %w, %v : !tile.block<[s1], f32>, !tile.block<[s1], f32>, !tile.block<[s0, s1], f32> -> !tile.block<[s0, s1], f32>",
        "needs 2-D operands",
    ),
    "tile.for (kind)": (
        "tile.for %u = %i to %i block block_1 kind spiral {\n}",
        "unknown kind 'spiral'",
    ),
    "tile.for (yield)": (
        "%r = tile.for %u = %i to %i block block_1 kind tile iter_args(%acc = %f) -> (!tile.block<[], f32>) {\n"
        "  tile.yield %i : !tile.block<[], i64>\n}",
        "yielded types must match the results",
    ),
    "tile.yield": (
        'tile.yield {loc = "k.py:1"}\n%r = tile.size "s0" : !tile.block<[], i64>',
        "must be the last operation in its parent block",
    ),
}


@pytest.mark.parametrize("case", list(BAD_OPS))
def test_verifier_rejects(case: str) -> None:
    op, message = BAD_OPS[case]
    module = parse(KERNEL.replace("OPS", GOOD_OPS + op))
    with pytest.raises(VerifyException, match=message):
        module.verify()


def test_kernel_verifier_rejects_unnamed_arguments() -> None:
    kernel = t.KernelOp("k", ["x"], [t.BlockType([], t.f32), t.BlockType([], t.f32)])
    with pytest.raises(VerifyException, match="arg_names must name every block argument"):
        kernel.verify()


def test_for_verifier_rejects_a_tile_of_another_block() -> None:
    module = parse(KERNEL.replace("OPS", ""))
    loop = next(op for op in module.walk() if isinstance(op, t.ForOp))
    Rewriter.replace_value_with_new_type(loop.tile, t.TileType("block_7"))
    with pytest.raises(VerifyException, match="first block argument must be !tile.tile<block>"):
        module.verify()


def test_for_verifier_rejects_a_body_without_yield() -> None:
    kernel = t.KernelOp("k", ["n"], [t.BlockType([], i64)])
    (n,) = kernel.body.block.args
    loop = t.ForOp(n, n, "block_0", "tile")
    loop.body.block.add_op(t.SizeOp("s0"))  # built in Python: no trailing yield
    kernel.body.block.add_op(loop)
    # xDSL's check of single-block regions fires before tile.for's own "must end in tile.yield".
    with pytest.raises(VerifyException, match="is not a terminator|must end in tile.yield"):
        ModuleOp([kernel]).verify()


# --------------------------------------------------------------------------------------------
# Printing and parsing
# --------------------------------------------------------------------------------------------


def _kernel_cases():
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

    g = torch.Generator().manual_seed(0)

    def rnd(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g)

    a, x, w = rnd(100), rnd(8, 40), rnd(40)
    offsets = torch.tensor([0, 2, 2, 5])
    return {
        "vector_add": lambda: vector_add.vector_add.to_ir(a, a),
        "vector_exp": lambda: vector_exp.vector_exp.to_ir(a),
        "embedding": lambda: embedding.embedding.to_ir(
            torch.randint(0, 50, (3, 5), generator=g), rnd(50, 16)
        ),
        "sum": lambda: row_sum.sum.to_ir(x),
        "rms_norm": lambda: rms_norm.rms_norm_fwd.to_ir(x, w, 1e-6),
        "layer_norm": lambda: layer_norm.layer_norm_fwd.to_ir(x, [40], w, rnd(40)),
        "softmax": lambda: softmax.softmax.to_ir(x),
        "cross_entropy": lambda: cross_entropy.cross_entropy.to_ir(
            rnd(6, 30), torch.randint(0, 30, (6,), generator=g)
        ),
        "jagged_mean": lambda: jagged_mean.jagged_mean_kernel.to_ir(
            rnd(5, 8), offsets, torch.full((3,), 8, dtype=torch.int32), 8
        ),
    }


KERNELS = [
    "vector_add", "vector_exp", "embedding", "sum", "rms_norm", "layer_norm", "softmax",
    "cross_entropy", "jagged_mean",
]  # fmt: skip


def _modules(text: str) -> list[str]:
    """to_ir prints one module per device loop; split them."""
    starts = [m.start() for m in re.finditer(r"^builtin\.module", text, re.MULTILINE)]
    return [text[s:e].strip() + "\n" for s, e in zip(starts, [*starts[1:], len(text)])]


@pytest.mark.parametrize("name", KERNELS)
def test_traced_kernel_round_trips(name: str) -> None:
    text = _kernel_cases()[name]()
    modules = _modules(text)
    assert modules, text
    for source in modules:
        module = parse(source)
        module.verify()
        printed = str(module) + "\n"
        assert printed == source  # to_ir prints with the same printer: parse is its inverse
        again = parse(printed)
        assert str(again) + "\n" == printed
        assert generic(again) == generic(module)
        assert generic(parse(generic(module))) == generic(module)


def test_loop_with_results_of_other_types_round_trips() -> None:
    """Malformed IR (results typed apart from the carried values) still prints faithfully."""
    source = KERNEL.replace(
        "OPS",
        "%r = tile.for %u = %i to %i block block_1 kind tile iter_args(%acc = %f) -> (!tile.block<[], f32>) {\n"
        "  tile.yield %acc : !tile.block<[], f32>\n}",
    )
    module = parse(source)
    loop = next(op for op in module.walk() if isinstance(op, t.ForOp) and op.iter_args)
    Rewriter.replace_value_with_new_type(loop.res[0], t.BlockType.unknown())
    printed = str(module)
    assert "-> (!tile.block<[], f32>) results (!tile.block<?>)" in printed
    assert str(parse(printed)) == printed
    assert generic(parse(printed)) == generic(module)


def test_python_built_loop_prints_its_implicit_yield_only_when_needed() -> None:
    kernel = t.KernelOp("k", ["n"], [t.BlockType([], i64)])
    (n,) = kernel.body.block.args
    loop = t.ForOp(n, n, "block_0", "grid", parallel=True)
    loop.body.block.add_op(t.YieldOp())
    kernel.body.block.add_op(loop)
    printed = str(ModuleOp([kernel]))
    assert "tile.for %0 = %n to %n block block_0 kind grid parallel {\n    }" in printed
    assert "tile.yield" not in printed
    assert "tile.yield" in generic(parse(printed))
    loop.body.block.last_op.attributes["loc"] = StringAttr("k.py:1")
    assert 'tile.yield {loc = "k.py:1"}' in str(ModuleOp([kernel.clone()]))
