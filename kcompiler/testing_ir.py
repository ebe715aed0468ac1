"""Random well-typed ``tile`` IR programs (hypothesis strategies) and a runner for them.

``programs()`` draws a ``tile.kernel`` whose tensor arguments have random ranks, dims and
dtypes, with one parallel ``tile.for`` over dim 0 holding a random chain of loads, constants,
``tile.index``, binary / unary / cast / select / full / reshape / reduce ops and one or more
stores. Programs are built with the dialect's Python API, each result typed by the op's own
rule (``refine_result_type``), so every draw verifies; the generator only picks operands the
typing rules accept (broadcastable dims, integer operands for bitwise ops, ...).

``run_program`` emits Triton for a module (``codegen.generate``), executes the launcher on
given tensors and returns the outputs: with ``TRITON_INTERPRET=1`` this runs on CPU. Tests use
it to check that a pass preserves a program's results::

    @given(programs(whole_dim_reduction=True), st.data())
    def test_split(program, data):
        inputs = program.random_inputs(seed=0)
        want = run_program(program, program.module, inputs)
        ...

Values avoid undefined behaviour the IR does not pin down, so the original and a rewritten
program must agree: integer division only by positive constants, no float -> int casts (NaN),
no arithmetic on two booleans.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from hypothesis import strategies as st
from xdsl.dialects.builtin import DictionaryAttr, FloatAttr, IntegerAttr, ModuleOp, i64
from xdsl.ir import Attribute, Block, Operation, SSAValue

from kcompiler.backends.triton.codegen import CodegenOptions, generate
from kcompiler.backends.triton.precompile import load_module
from kcompiler.compiler.driver import interpreting
from kcompiler.dialects import tile as t
from kcompiler.passes.pipeline import make_context
from kcompiler.tools.kc_opt import size_sources

# Element types the generator draws tensors from (f64 and fp8 are left out: the interpreter's
# fp8 is not arithmetic, and f64 adds nothing f32 does not exercise).
DTYPES: dict[str, Attribute] = {
    "float32": t.f32,
    "float16": t.f16,
    "bfloat16": t.bf16,
    "int32": t.i32,
    "int64": i64,
    "int8": t.i8,
    "bool": t.i1,
}
_TORCH = {
    t.f32: torch.float32,
    t.f16: torch.float16,
    t.bf16: torch.bfloat16,
    t.f64: torch.float64,
    t.i32: torch.int32,
    i64: torch.int64,
    t.i8: torch.int8,
    t.u8: torch.uint8,
    t.i16: torch.int16,
    t.i1: torch.bool,
}
BLOCK = "block_0"  # the parallel loop's block symbol


def torch_dtype(elt: Attribute) -> torch.dtype:
    return _TORCH[elt]


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dims: tuple[str, ...]
    dtype: Attribute

    def shape(self, sizes: dict[str, int]) -> tuple[int, ...]:
        return tuple(int(d) if d.isdigit() else sizes[d] for d in self.dims)


@dataclass
class Program:
    """A generated kernel: its module, tensor arguments, sizes and the tile's block size."""

    module: ModuleOp
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    sizes: dict[str, int]  # the size symbols' values (also the module's size_hints)
    block_size: int
    ops: list[str] = field(default_factory=list)  # what was generated, for statistics

    @property
    def text(self) -> str:
        return str(self.module)

    def __repr__(self) -> str:  # what hypothesis shows for a failing example
        return f"Program(sizes={self.sizes}, block_size={self.block_size}, module=\n{self.text})"

    def random_inputs(self, seed: int = 0) -> dict[str, torch.Tensor]:
        g = torch.Generator().manual_seed(seed)
        out = {}
        for info in self.inputs:
            shape = info.shape(self.sizes)
            dt = torch_dtype(info.dtype)
            if dt == torch.bool:
                out[info.name] = torch.rand(shape, generator=g) < 0.5
            elif dt.is_floating_point:
                out[info.name] = torch.randn(shape, generator=g).to(dt)
            else:
                out[info.name] = torch.randint(-8, 9, shape, generator=g).to(dt)
        return out


# Compiler bugs this generator found; it avoids their patterns unless asked (known_bugs=True).
# tests/dialects/test_ir_fuzz.py keeps a minimal strict-xfail case of each.
KNOWN_BUGS: dict[str, str] = {}
# Found by this generator and fixed since (tests/dialects/test_ir_fuzz.py keeps a regression
# test of each): pow 0.5 of a half value (tl.sqrt on fp16); a bool/int operand promoted to
# half cast straight to bf16 (interpreter crash); max/argmax over the tile dim of i64 values
# that are int32 in Triton (tile.index, argmax of an i64 operand: int64 neutral out of range);
# argmax/argmin of values holding NaN (torch returns the first NaN's index; whole-dim and
# split-reductions' chunked form); max/min/maximum/minimum skipping NaN (torch returns NaN).


# -- building ------------------------------------------------------------------------------------


class _Gen:
    """Appends ops to the parallel loop's body; every result is typed as it is created."""

    def __init__(
        self, draw: Any, block: Block, tile: SSAValue, inner: Sequence[str], avoid_bugs: bool
    ):
        self.draw = draw
        self.block = block
        self.tile = tile
        self.inner = list(inner)
        self.avoid = avoid_bugs  # steer clear of KNOWN_BUGS
        self.values: list[SSAValue] = []
        self.ops: list[str] = []
        self.finite: set[SSAValue] = set()  # values that cannot hold NaN

    def add(self, op: Operation, keep: bool = True) -> SSAValue | None:
        self.block.add_op(op)
        if isinstance(op, t.TileOp) and op.results:
            t.refine_result_type(op)
            v = op.results[0]
            self.classify(op, v)
            if keep:
                self.values.append(v)
            self.ops.append(
                op.name.split(".")[1] + (f":{op.kind.data}" if hasattr(op, "kind") else "")
            )
            return v
        return None

    def classify(self, op: Operation, v: SSAValue) -> None:
        """Track the values KNOWN_BUGS patterns are about: which cannot hold NaN."""
        ins = [o for o in op.operands if isinstance(o.type, t.BlockType)]
        nan_free = (t.LoadOp, t.ConstantOp, t.TileIndexOp, t.CastOp, t.ReshapeOp, t.FullOp,
                    t.SelectOp, t.ReduceOp)  # fmt: skip
        kind = op.kind.data if isinstance(op, (t.BinaryOp, t.UnaryOp)) else None
        if (isinstance(op, nan_free) or kind in ("neg", "abs", "maximum", "minimum")) and all(
            o in self.finite or isinstance(o.owner, t.ConstantOp) for o in ins
        ):
            self.finite.add(v)
        elif kind in t.BINARY_COMPARE:
            self.finite.add(v)  # a bool is never NaN

    # -- picking operands ----------------------------------------------------------------------
    def pick(self, pred: Any = None) -> SSAValue | None:
        vals = [v for v in self.values if pred is None or pred(t.block_of(v))]
        return vals[self.draw(st.integers(0, len(vals) - 1))] if vals else None

    def constant(self, elt: Attribute) -> SSAValue:
        if t.is_float(elt):
            value: Any = FloatAttr(self.draw(st.sampled_from([0.5, -1.5, 2.0, 3.0, 0.25])), t.f32)
        elif elt == t.i1:
            value = IntegerAttr(int(self.draw(st.booleans())), t.i1)
        else:
            value = IntegerAttr(self.draw(st.integers(-4, 4)), i64)
        v = self.add(t.ConstantOp(value), keep=False)
        assert v is not None
        return v

    def partner(self, a: SSAValue, pred: Any = None) -> SSAValue:
        """A value that broadcasts with ``a`` (or a fresh scalar constant)."""
        da = t.block_of(a).dims

        def ok(b: t.BlockType) -> bool:
            if pred is not None and not pred(b):
                return False
            return _broadcasts(da, b.dims)

        b = self.pick(ok) if self.draw(st.integers(0, 3)) else None
        if b is None:
            elt = t.block_of(a).element_type
            b = self.constant(elt if pred is None or pred(t.BlockType([], elt)) else t.f32)
        return b

    # -- ops -------------------------------------------------------------------------------------
    def load(self, tensor: SSAValue) -> None:
        ty = tensor.type
        assert isinstance(ty, t.TensorType)
        kinds = ["tile"] + ["full"] * (len(ty.dims) - 1)
        self.add(t.LoadOp(tensor, kinds, [self.tile]))

    def binary(self) -> None:
        a = self.pick()
        if a is None:
            return
        ea = t.block_of(a).element_type
        family = self.draw(
            st.sampled_from(["arith", "arith", "compare", "minmax", "bitwise", "intdiv", "pow"])
        )
        if family == "bitwise":
            if t.is_float(ea):
                return
            kind = self.draw(st.sampled_from(t.BINARY_BITWISE))
            b = self.partner(a, lambda b: not t.is_float(b.element_type))
        elif family == "intdiv":
            if not t.is_int(ea):
                return
            kind = self.draw(st.sampled_from(["floordiv", "mod"]))
            b = self.add(t.ConstantOp(IntegerAttr(self.draw(st.integers(1, 5)), i64)), keep=False)
        elif family == "pow":
            if not t.is_float(ea):
                return
            kind = "pow"
            p = self.draw(st.sampled_from([2.0, 3.0, 0.5]))
            b = self.add(t.ConstantOp(FloatAttr(p, t.f32)), keep=False)
        else:
            kind = self.draw(
                st.sampled_from(
                    {"arith": ["add", "sub", "mul", "div"], "compare": t.BINARY_COMPARE,
                     "minmax": ["maximum", "minimum"]}[family]
                )
            )  # fmt: skip
            b = self.partner(a)
        assert b is not None
        if self.draw(st.booleans()) and kind not in ("floordiv", "mod", "pow"):
            a, b = b, a
        ta, tb = t.block_of(a), t.block_of(b)
        dtype = t.result_dtype([ta, tb])
        if t.is_bool(dtype) and kind not in t.BINARY_BITWISE + t.BINARY_COMPARE:
            return  # bool arithmetic: torch has its own rules (add = or); not modelled
        if kind in ("maximum", "minimum") and t.is_bool(dtype):
            return
        self.add(t.BinaryOp(kind, a, b))

    def unary(self) -> None:
        a = self.pick(lambda b: b.element_type != t.i1)
        if a is None:
            return
        kind = self.draw(st.sampled_from([*t.UNARY_FLOAT, "neg", "abs"]))
        self.add(t.UnaryOp(kind, a))

    def logical_not(self) -> None:
        a = self.pick(lambda b: b.element_type == t.i1)
        if a is not None:
            self.add(t.UnaryOp("not", a))

    def cast(self) -> None:
        a = self.pick()
        if a is None:
            return
        src = t.block_of(a).element_type
        targets = [k for k, d in DTYPES.items() if not (t.is_float(src) and not t.is_float(d))]
        self.add(t.CastOp(a, DTYPES[self.draw(st.sampled_from(targets))]))

    def select(self) -> None:
        c = self.pick(lambda b: b.element_type == t.i1)
        if c is None:
            return
        a = self.partner(c)
        b = self.partner(c, lambda b: _broadcasts(t.block_of(a).dims, b.dims))
        ta, tb = t.block_of(a), t.block_of(b)
        if not _broadcasts(ta.dims, tb.dims) or not _broadcasts(
            t.block_of(c).dims, ta.dims, tb.dims
        ):
            return
        self.add(t.SelectOp(c, a, b))

    def full(self) -> None:
        like = self.pick(lambda b: b.rank > 0)
        if like is None:
            return
        dtype = DTYPES[self.draw(st.sampled_from(list(DTYPES)))]
        self.add(t.FullOp(self.constant(dtype), t.block_of(like).dims, dtype))

    def index(self) -> None:
        self.add(t.TileIndexOp(self.tile))

    def reshape(self) -> None:
        a = self.pick(lambda b: b.rank > 0)
        if a is None:
            return
        dims = list(t.block_of(a).dims)
        if "1" in dims and self.draw(st.booleans()):
            dims.remove("1")
        else:
            dims.insert(self.draw(st.integers(0, len(dims))), "1")
        self.add(t.ReshapeOp(a, dims))

    def reduce(self, whole_dim: bool = False) -> bool:
        def ok(b: t.BlockType) -> bool:
            if b.rank == 0 or b.element_type == t.i1 and not whole_dim:
                return False
            return not whole_dim or any(_whole(d) for d in b.dims)

        a = self.pick(ok)
        if a is None:
            return False
        ty = t.block_of(a)
        axes = [i for i, d in enumerate(ty.dims) if not whole_dim or _whole(d)]
        axis = self.draw(st.sampled_from(axes))
        kinds = ["sum"] if ty.element_type == t.i1 else ["sum", "max", "min", "argmax", "argmin"]
        kind = self.draw(st.sampled_from(kinds))
        self.add(t.ReduceOp(kind, a, axis, self.draw(st.booleans())))
        return True


def _whole(d: str) -> bool:
    return d != "1" and d != BLOCK


def _broadcasts(*shapes: Sequence[str]) -> bool:
    """Whether the shapes broadcast, to dims with the tile's block symbol at most once (a
    value with two block_0 dims, an outer product of the tile with itself, is legal IR that
    codegen rejects with a clear CodegenError: not generated)."""
    try:
        dims = t.broadcast_dims(*(tuple(s) for s in shapes))
    except t.ShapeError:
        return False
    return dims.count(BLOCK) <= 1


@st.composite
def programs(
    draw: Any,
    *,
    max_ops: int = 10,
    max_inputs: int = 3,
    whole_dim_reduction: bool = False,
    dtypes: Sequence[str] = tuple(DTYPES),
    known_bugs: bool = False,
) -> Program:
    """A random well-typed program; ``whole_dim_reduction``: at least one ``tile.reduce``
    over a whole size dim (what ``split-reductions`` rewrites); ``known_bugs``: also draw
    the patterns of ``KNOWN_BUGS`` (by default the generator steers clear of them)."""
    # Dims: s0 is tiled by the parallel loop; inner dims are size symbols or static sizes.
    inner_pool = ["s1", "s2", "3", "4"]
    n_inner = draw(st.integers(1 if whole_dim_reduction else 0, 2))
    inner = draw(
        st.lists(st.sampled_from(inner_pool), min_size=n_inner, max_size=n_inner, unique=True)
    )
    if whole_dim_reduction and not any(d.startswith("s") for d in inner):
        inner[0] = "s1"
    sizes = {"s0": draw(st.integers(2, 19))}
    for d in inner:
        if d.startswith("s"):
            sizes[d] = draw(st.sampled_from([2, 5, 16, 33, 100, 300, 700]))

    inputs: list[TensorInfo] = []
    for i in range(draw(st.integers(1, max_inputs))):
        rank = draw(st.integers(1, 1 + len(inner)))
        dims = ["s0"] + [
            "1" if draw(st.integers(0, 5)) == 0 else d for d in inner[: rank - 1]
        ]  # fmt: skip
        dtype = DTYPES[draw(st.sampled_from(list(dtypes)))]
        inputs.append(TensorInfo(f"x{i}", tuple(dims), dtype))

    # A value holds block_size x every inner dim (rounded up to a power of two): keep it within
    # Triton's 2**20 elements, as the config space does for real kernels.
    whole = 1
    for d in inner:
        n = sizes.get(d, int(d) if d.isdigit() else 1)
        whole *= 1 << max(0, n - 1).bit_length()
    block_size = draw(st.sampled_from([b for b in (1, 2, 4, 8, 16) if b * whole <= 1 << 20]))
    kernel = t.KernelOp(
        "fuzz_kernel", [x.name for x in inputs], [t.TensorType(x.dims, x.dtype) for x in inputs]
    )
    body = kernel.body.block
    n = t.SizeOp("s0")
    zero = t.ConstantOp(IntegerAttr(0, i64))
    for op in (n, zero):
        body.add_op(op)
        t.refine_result_type(op)
    loop = t.ForOp(zero.results[0], n.results[0], BLOCK, "tile", parallel=True)
    body.add_op(loop)
    gen = _Gen(draw, loop.body.block, loop.tile, inner, avoid_bugs=not known_bugs)
    for arg in body.args:
        gen.load(arg)
    steps = ["binary", "binary", "binary", "unary", "cast", "select", "reduce", "reshape",
             "full", "index", "logical_not"]  # fmt: skip
    for _ in range(draw(st.integers(1, max_ops))):
        getattr(gen, draw(st.sampled_from(steps)))()
    if whole_dim_reduction and not _has_whole_reduce(loop.body.block):
        if not gen.reduce(whole_dim=True):  # no value has a whole dim: load one first
            wide = [a for a in body.args if any(d.startswith("s") for d in a.type.dims[1:])]
            if not wide:
                dims = ("s0", *[d for d in inner if d.startswith("s")][:1])
                wide = [body.insert_arg(t.TensorType(dims, t.f32), len(body.args))]
                inputs.append(TensorInfo(f"x{len(inputs)}", dims, t.f32))
            gen.load(wide[0])
            gen.reduce(whole_dim=True)

    # Stores: the last storable value, and maybe another one. A value is stored into a
    # tensor of dims (s0, *rest) when its dims are (block_0, *rest) or just rest (a value
    # without the tile's dim is the same for every row of the tile); unit dims in front of
    # block_0 are squeezed first.
    storable = [v for v in gen.values if _store_dims(t.block_of(v).dims) is not None]
    outputs: list[TensorInfo] = []
    to_store = [storable[-1]]
    if len(storable) > 1 and draw(st.booleans()):
        to_store.append(storable[draw(st.integers(0, len(storable) - 2))])
    for j, v in enumerate(to_store):
        ty = t.block_of(v)
        target = _store_dims(ty.dims)
        assert target is not None
        if BLOCK in ty.dims and ty.dims[0] != BLOCK:
            v = gen.add(t.ReshapeOp(v, target), keep=False)
            assert v is not None
        dims = ("s0", *target[1:])
        info = TensorInfo(f"out{j}", dims, ty.element_type)
        arg = body.insert_arg(t.TensorType(dims, ty.element_type), len(body.args))
        outputs.append(info)
        gen.add(t.StoreOp(v, arg, ["tile"] + ["full"] * (len(dims) - 1), [loop.tile]))
    loop.body.block.add_op(t.YieldOp())
    kernel.properties["arg_names"] = t.KernelOp(
        "k", [x.name for x in inputs + outputs], []
    ).arg_names
    used = {d for x in inputs + outputs for d in x.dims}
    sizes = {s: v for s, v in sizes.items() if s in used}
    kernel.attributes["size_hints"] = DictionaryAttr(
        {s: IntegerAttr(v, i64) for s, v in sizes.items()}
    )
    module = ModuleOp([kernel])
    module.verify()
    return Program(module, inputs, outputs, sizes, block_size, gen.ops)


def _store_dims(dims: tuple[str, ...]) -> tuple[str, ...] | None:
    """The indexed dims a value of ``dims`` is stored to, None if it cannot be."""
    if BLOCK not in dims:
        return (BLOCK, *dims)
    i = dims.index(BLOCK)
    if any(d != "1" for d in dims[:i]) or BLOCK in dims[i + 1 :]:
        return None
    return dims[i:]


def _has_whole_reduce(block: Block) -> bool:
    for op in block.ops:
        if isinstance(op, t.ReduceOp) and _whole(t.block_of(op.operand).dims[op.axis]):
            return True
    return False


def program_from_text(text: str, block_size: int = 4) -> Program:
    """A Program for IR text (a regression case): tensors stored to are the outputs, the
    others inputs; sizes come from the kernel's ``size_hints``."""
    from xdsl.parser import Parser

    module = Parser(make_context(), text).parse_module()
    kernel = next(op for op in module.ops if isinstance(op, t.KernelOp))
    stored = {op.tensor for op in kernel.walk() if isinstance(op, t.StoreOp)}
    inputs, outputs = [], []
    for name, arg in zip(kernel.names, kernel.body.block.args):
        if isinstance(arg.type, t.TensorType):
            info = TensorInfo(name, arg.type.dims, arg.type.element_type)
            (outputs if arg in stored else inputs).append(info)
    return Program(module, inputs, outputs, kernel.size_hints, block_size)


# -- running ---------------------------------------------------------------------------------------


def run_program(
    program: Program,
    module: ModuleOp,
    inputs: dict[str, torch.Tensor],
    *,
    block_sizes: dict[str, int] | None = None,
    num_warps: int = 4,
    int64_indexing: bool = False,
) -> dict[str, torch.Tensor]:
    """Emit Triton for ``module`` (``program``'s kernel or a rewrite of it), run it on
    ``inputs`` and return the outputs (zero-initialised, then written by the kernel)."""

    sizes = {BLOCK: program.block_size, **(block_sizes or {})}
    options = CodegenOptions(
        block_sizes=sizes,
        num_warps=num_warps,
        int64_indexing=int64_indexing,
        interpret=interpreting(),
    )
    gen = generate(module, options, size_sources(module))
    scope = load_module(gen.source, gen.name)
    device = next(iter(inputs.values())).device
    outs = {
        o.name: torch.zeros(o.shape(program.sizes), dtype=torch_dtype(o.dtype), device=device)
        for o in program.outputs
    }
    env = {**inputs, **outs}
    scope[gen.launcher_name](*[env[p] for p in gen.launcher_params])
    return outs


def assert_same_outputs(
    got: dict[str, torch.Tensor], want: dict[str, torch.Tensor], what: str
) -> None:
    """Equal up to float rounding (a rewrite may reorder a float sum)."""
    for name, w in want.items():
        g = got[name]
        if w.dtype.is_floating_point:
            tol = 2e-2 if w.dtype in (torch.float16, torch.bfloat16) else 1e-4
            scale = max(
                1.0,
                float(w.float().abs().nan_to_num(posinf=0, neginf=0).max()) if w.numel() else 1.0,
            )
            torch.testing.assert_close(
                g.float(), w.float(), rtol=tol, atol=tol * scale, equal_nan=True,
                msg=lambda m, name=name: f"{what}: output {name}: {m}",
            )  # fmt: skip
        else:
            if not torch.equal(g, w):
                diff = (g != w).nonzero()[:5].tolist()
                raise AssertionError(f"{what}: output {name} differs at {diff}")


__all__ = [
    "DTYPES",
    "Program",
    "TensorInfo",
    "assert_same_outputs",
    "programs",
    "run_program",
    "torch_dtype",
]
