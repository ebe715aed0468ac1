"""Device-loop tracer: a device loop's Python AST + the host values it reads -> a tile.kernel.

Statements are interpreted here (assignments, device ``for`` loops with loop-carried values,
``if`` on compile-time values, unrolled ``range`` loops); expressions are evaluated by Python
itself on proxy values (``values.py``) that append tile ops. Anything else is rejected with the
kernel's ``file:line``.
"""

from __future__ import annotations

import ast
import inspect
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import CellType, FunctionType, ModuleType
from typing import Any

import torch
from xdsl.builder import Builder, InsertPoint
from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    FloatAttr,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    i64,
)
from xdsl.ir import Block, Operation, Region, SSAValue

from kcompiler.dialects import tile as t
from kcompiler.exc import (
    CompileError,
    InvalidArgument,
    KCompilerError,
    ShapeMismatch,
    UnsupportedConstruct,
)
from kcompiler.frontend import dtypes
from kcompiler.frontend.errors import internal_error, raised_by_kcompiler, user_terms
from kcompiler.frontend.inline_asm import build_inline_asm
from kcompiler.frontend.slices import slice_index, slice_within
from kcompiler.frontend.specialize import (
    BlockSizeInt,
    Specialization,
    SpecializedInt,
    captured_tensors,
    lifted_name,
    pow2_divisor,
    strided_last,
)
from kcompiler.frontend.strided_loops import check_step, position, static_step, trip_count
from kcompiler.frontend.values import TensorArg, TileHandle, TileValue
from kcompiler.language import unwrap_constexpr
from kcompiler.language._context import tracing


@dataclass
class TileDim:
    """One loop of a tile request. A strided grid loop (frontend/strided_loops.py) runs from 0
    to its trip count; its loop variable is ``origin + counter * step``."""

    lb: TileValue
    ub: TileValue
    block: str
    kind: str
    origin: Any = None
    step: Any = None


@dataclass
class TileRequest:
    """What ``kl.tile(...)`` evaluates to inside device code: the loop dims to build."""

    dims: list[TileDim]
    multi: bool


class BlockAllocator:
    """Hands out block symbols in a stable order, so ``Config.block_sizes[i]`` means the same
    loop on every call of one specialization."""

    def __init__(self) -> None:
        self._by_site: dict[tuple[Any, ...], str] = {}
        self.fixed: dict[str, int] = {}  # literal block_size= values
        self.defaults: dict[str, int] = {}  # defaults of host-registered block sizes
        self.minimums: dict[str, int] = {}  # their minimums, where above 1

    def symbol(self, site: tuple[Any, ...]) -> str:
        sym = self._by_site.get(site)
        if sym is None:
            sym = f"block_{len(self._by_site)}"
            self._by_site[site] = sym
        return sym

    @property
    def count(self) -> int:
        return len(self._by_site)


def _assigned_names(stmts: Sequence[ast.stmt]) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.Module(body=list(stmts), type_ignores=[])):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            for sub in ast.walk(target):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    if sub.id not in names:
                        names.append(sub.id)
    return names


class _LoopExit(Exception):  # noqa: N818 - control flow, not an error
    """A ``break``/``continue`` leaving the body of an unrolled Python loop."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


class _Namespace(dict):
    """Locals for ``eval``: traced locals first, then host values converted on first use."""

    def __init__(self, tracer: DeviceTracer):
        super().__init__()
        self.tracer = tracer

    def __missing__(self, name: str) -> Any:
        env = self.tracer.env
        if name in env:
            value = self.tracer.import_host_value(name, env[name])
            self[name] = value
            return value
        if name == "print" and name not in self.tracer.globals:
            return self.tracer.print_in_device_code
        if name in ("min", "max") and name not in self.tracer.globals:
            return self.tracer.builtin_min if name == "min" else self.tracer.builtin_max
        if name == "range" and name not in self.tracer.globals:
            return self.tracer.builtin_range
        raise KeyError(name)


_BIN_AST = {
    ast.Add: "add",
    ast.Sub: "sub",
    ast.Mult: "mul",
    ast.Div: "div",
    ast.FloorDiv: "floordiv",
    ast.Mod: "mod",
    ast.Pow: "pow",
    ast.BitAnd: "and",
    ast.BitOr: "or",
    ast.BitXor: "xor",
}

# Statements device code has no meaning for, by the keyword the user wrote, and what to do.
_STATEMENTS = {
    ast.While: (
        "`while` on a compile-time value (or with `else`)",
        "a `while` loop's condition must be a device scalar; otherwise loop over "
        "kl.tile/kl.grid or a Python range",
    ),
    ast.Try: ("`try`", "device code cannot catch exceptions"),
    ast.With: ("`with`", "move it to host code, around or before the device loop"),
    ast.Global: (
        "`global`",
        "device code reads module globals as constants; results leave a "
        "device loop only through tensors",
    ),
    ast.Nonlocal: ("`nonlocal`", "results leave a device loop only through tensors"),
    ast.Delete: ("`del`", "a device value needs no deleting; drop the statement"),
    ast.Match: ("`match`", "use `if` on compile-time values or torch.where"),
    ast.FunctionDef: ("a nested `def`", "define the helper at module level (or as a lambda)"),
    ast.AsyncFunctionDef: ("a nested `async def`", "define helpers at module level"),
    ast.ClassDef: ("a `class` definition", "define it at module level"),
    ast.Raise: ("`raise`", "device code cannot raise; check inputs in host code"),
    ast.Import: ("`import`", "import at module level"),
    ast.ImportFrom: ("`from ... import`", "import at module level"),
    ast.Break: ("`break`", "device loops run every iteration"),
    ast.Continue: ("`continue`", "use torch.where to skip elements"),
    ast.Return: ("`return`", "return from host code, after the device loop"),
    ast.AsyncFor: ("`async for`", "use kl.tile"),
    ast.AsyncWith: ("`async with`", "move it to host code"),
}
if hasattr(ast, "TryStar"):
    _STATEMENTS[ast.TryStar] = _STATEMENTS[ast.Try]

# Expressions whose Python scopes (a comprehension's, a lambda's) cannot see eval's locals.
_SCOPED = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Lambda)


def _describe(x: Any) -> str:
    """A value as the user would call it, for messages."""
    if isinstance(x, TileValue):
        return f"a {str(x.dtype).removeprefix('torch.')} device value"
    if isinstance(x, TensorArg):
        return f"the tensor {x.name!r}"
    if isinstance(x, TileHandle):
        return "a tile (the loop variable of kl.tile)"
    if isinstance(x, TileRequest):
        return "kl.tile(...)"
    if isinstance(x, (bool, int, float)):
        return f"the {type(x).__name__} {x!r}"
    if x is None:
        return "None"
    return f"a {type(x).__module__}.{type(x).__qualname__}".replace("builtins.", "")


def _whole(s: slice) -> bool:
    """Whether a slice is ':' (compared field by field: a bound may be a device value, whose
    ``==`` builds an op)."""
    return s.start is None and s.stop is None and s.step is None


def _result_rank(entries: Sequence[Any]) -> int:
    """The rank of ``tensor[entries]`` when every index tensor among them is 0-d or 1-D and
    unpaired (the stores whose slice widths come from the value)."""
    rank = 0
    for e in entries:
        if e is None or isinstance(e, (slice, TileHandle)):
            rank += 1
        elif isinstance(e, TileValue):
            rank += min(e.ndim, 1)
    return rank


def _is_range(v: SSAValue) -> bool:
    """Whether a 1-D integer block is a run of positions: ``kl.arange(n)`` shifted or scaled by
    0-d values (and cast), an affine function of the position like a slice's index."""
    op = v.owner
    while True:
        if isinstance(op, t.ArangeOp):
            return True
        if isinstance(op, t.CastOp):
            op = op.operand.owner
        elif isinstance(op, t.BinaryOp) and op.kind.data in ("add", "sub", "mul"):
            a, b = t.block_of(op.lhs), t.block_of(op.rhs)
            if b.rank == 0 and a.rank == 1:
                op = op.lhs.owner
            elif a.rank == 0 and b.rank == 1:
                op = op.rhs.owner
            else:
                return False
        else:
            return False


def _is_kernel(fn: Any) -> bool:
    """A ``@kc.kernel`` (runtime's Kernel, which the frontend does not import)."""
    cls = type(fn)
    return cls.__name__ == "Kernel" and cls.__module__.startswith("kcompiler.")


class DeviceTracer:
    def __init__(
        self,
        *,
        kernel_name: str,
        loop: ast.For,
        env: dict[str, Any],
        fn_globals: dict[str, Any],
        spec: Specialization,
        blocks: BlockAllocator,
        site: Any,
        filename: str,
        line_offset: int,
    ) -> None:
        self.env = env
        self.globals = fn_globals
        self.spec = spec
        self.blocks = blocks
        self.site = site
        self.filename = filename
        self.line_offset = line_offset
        self.loop = loop
        self.kernel = t.KernelOp(kernel_name, [], [])
        self._arg_names: list[str] = []
        self.ns = _Namespace(self)
        self._builders: list[Builder] = [Builder(InsertPoint.at_end(self.kernel.body.block))]
        self._node: ast.AST = loop
        self._codes: dict[int, Any] = {}
        self._block_ordinal = 0
        self._unrolling = 0  # unrolled Python loops that a `break`/`continue` here would leave
        # Widths of slices known only at run time: (bound, start, stop, step) -> their symbol.
        self._slice_widths: dict[tuple[str, str, str, str], str] = {}
        self._width_sources: dict[str, str] = {}  # width symbol -> the slice's source text
        self.record_sizes()

    # -- locations and errors ----------------------------------------------------------------
    @property
    def location(self) -> str:
        line = getattr(self._node, "lineno", 0) + self.line_offset
        col = getattr(self._node, "col_offset", 0) + 1
        return f"{self.filename}:{line}:{col}"

    def error(self, exc_type: type[CompileError], message: str) -> CompileError:
        return exc_type(message + self._width_notes(message), self.location)

    def _width_notes(self, message: str) -> str:
        """What the run-time slice widths a message names are, in the user's terms."""
        notes = []
        for sym, written in self._width_sources.items():
            if re.search(rf"\b{sym}\b", message):
                notes.append(
                    f"; {sym} is the width of {written}, known only at run time: it matches only "
                    "slices with the same bounds of same-size dims (where it must equal another "
                    "size, write the slice as a:a + n with n an int argument, e.g. n = b - a "
                    "computed in host code)"
                )
        return "".join(notes)

    @property
    def device(self) -> torch.device:
        """Where the kernel runs: the device of its tensor arguments."""
        for v in self.env.values():
            if isinstance(v, torch.Tensor):
                return v.device
        return torch.device("cpu")

    # -- building ----------------------------------------------------------------------------
    @property
    def builder(self) -> Builder:
        return self._builders[-1]

    def emit(self, op: Operation) -> Any:
        op.attributes["loc"] = StringAttr(
            f"{os.path.basename(self.filename)}:{getattr(self._node, 'lineno', 0) + self.line_offset}"
        )
        self.builder.insert(op)
        if isinstance(op, t.TileOp) and op.results:
            try:
                t.refine_result_type(op)
            except t.ShapeError as e:
                raise self.error(ShapeMismatch, str(e)) from None
            return TileValue(self, op.results[0])
        if isinstance(op, t.StoreOp):
            try:
                op.verify_()
            except t.ShapeError as e:
                raise self.error(ShapeMismatch, str(e)) from None
        return op

    def add_arg(self, name: str, ty: Any) -> Any:
        block = self.kernel.body.block
        arg = block.insert_arg(ty, len(block.args))
        self._arg_names.append(name)
        return arg

    def finish(self) -> ModuleOp:
        self.kernel.properties["arg_names"] = ArrayAttr([StringAttr(n) for n in self._arg_names])
        self.record_sizes()
        module = ModuleOp([self.kernel])
        return module

    def record_sizes(self) -> None:
        """The kernel's size hints and divisors: set before tracing too, because typing rules
        (a reshape that splits a dim) read what the specialization fixes."""
        syms = self.spec.symbols.values
        self.kernel.attributes["size_hints"] = DictionaryAttr(
            {s: IntegerAttr(v, i64) for s, v in syms.items()}
        )
        # Part of the specialization key, so code may rely on it (see specialize.py).
        self.kernel.attributes["size_divisors"] = DictionaryAttr(
            {s: IntegerAttr(pow2_divisor(v), i64) for s, v in syms.items()}
        )
        if self._slice_widths:
            hints = dict(syms)
            for (bound, _, _, _), w in self._slice_widths.items():
                hints[w] = int(bound) if bound.isdigit() else syms[bound]
            self.kernel.attributes["size_hints"] = DictionaryAttr(
                {s: IntegerAttr(v, i64) for s, v in hints.items()}
            )
            self.kernel.attributes["slice_widths"] = DictionaryAttr(
                {
                    w: ArrayAttr([StringAttr(d) for d in entry])
                    for entry, w in self._slice_widths.items()
                }
            )
        if self.spec.block_values:  # kl.register_block_size values: fixed in this variant
            self.kernel.attributes["block_values"] = DictionaryAttr(
                {b: IntegerAttr(v, i64) for b, v in self.spec.block_values.items()}
            )

    def slice_width(self, bound: str, start: str, stop: str, step: int, written: str) -> str:
        """The size symbol of the width of ``start:stop:step`` in a dim of size ``bound``, a
        width the launcher computes (``tile.kernel``'s ``slice_widths``); one symbol per
        distinct slice, so two slices with the same bounds of same-size dims share a dim."""
        entry = (bound, start, stop, str(step))
        sym = self._slice_widths.get(entry)
        if sym is None:
            sym = f"width{len(self._slice_widths)}"
            self._slice_widths[entry] = sym
            self._width_sources[sym] = written
            self.record_sizes()
        return sym

    def record_arg(self, attr: str, names: tuple[str, ...], name: str) -> None:
        """Add argument ``name`` to the kernel's name-list attribute ``attr`` (now ``names``)."""
        self.kernel.attributes[attr] = ArrayAttr([StringAttr(n) for n in (*names, name)])

    # -- host values -------------------------------------------------------------------------
    def import_host_value(self, name: str, value: Any) -> Any:
        if name in self.spec.constexprs:
            # A kl.constexpr parameter or a kl.constexpr(...) wrapper: its Python value is
            # baked into the IR.
            return unwrap_constexpr(value)
        if isinstance(value, torch.Tensor):
            if not dtypes.supported(value.dtype):
                raise self.error(
                    CompileError, f"tensor {name!r} has unsupported dtype {value.dtype}"
                )
            dims = [self.spec.symbols.dim(int(s), (name, i)) for i, s in enumerate(value.shape)]
            arg = self.add_arg(name, t.TensorType(dims, dtypes.to_ir(value.dtype)))
            tensor = TensorArg(self, name, arg, value)
            # Both are part of the specialization key (specialize.py): the launcher runs the
            # pointer kernel for such a tensor read through a descriptor.
            if tensor.overlapping:
                self.record_arg("broadcast_args", self.kernel.broadcast_args, name)
            if strided_last(value):
                self.record_arg("strided_args", self.kernel.strided_args, name)
            return tensor
        if isinstance(value, bool) or value is None:
            return value
        if type(value).__module__ == "numpy" and hasattr(value, "__array__"):
            raise InvalidArgument(
                f"{self.location}: {name!r} is a numpy array; device code "
                f"reads torch tensors: pass torch.from_numpy({name}) (or torch.as_tensor)"
            )
        if isinstance(value, BlockSizeInt):
            return value
        if self.spec.static_int(name, value):
            return int(value)  # a constant of the kernel: a static size, as a literal is
        if isinstance(value, int):
            dim = self.spec.symbols.dim(value, (name, None))
            return self.dim_value(dim)
        if isinstance(value, float):
            arg = self.add_arg(name, t.BlockType([], t.f32))
            return TileValue(self, arg)
        captured = captured_tensors(value)
        if captured and all(lifted_name(name, v) in self.env for v in captured):
            # A function passed in that closes over tensors: run it with device views of them
            # (the host put them in the loop's environment as arguments).
            cells = []
            for var, cell in zip(value.__code__.co_freevars, value.__closure__):
                if var in captured:
                    cell = CellType(self.ns[lifted_name(name, var)])
                cells.append(cell)
            return FunctionType(
                value.__code__, value.__globals__, value.__name__, value.__defaults__, tuple(cells)
            )
        return value

    def dim_value(self, dim: str) -> Any:
        if dim.isdigit():
            return int(dim)
        return TileValue(self, self.emit(t.SizeOp(dim)).value, sym=dim)

    # -- scalars and conversions --------------------------------------------------------------
    def constant(self, value: bool | int | float) -> TileValue:
        if isinstance(value, bool):
            attr: Any = IntegerAttr(int(value), t.i1)
        elif isinstance(value, int):
            attr = IntegerAttr(value, i64)
        else:
            attr = FloatAttr(float(value), t.f32)
        return self.emit(t.ConstantOp(attr))

    def as_value(self, x: Any) -> TileValue:
        if isinstance(x, TileValue):
            return x
        if isinstance(x, (bool, int, float)):
            return self.constant(x)
        if isinstance(x, TileHandle):
            return x.index
        if isinstance(x, TensorArg):
            raise self.error(
                UnsupportedConstruct,
                f"the tensor {x.name!r} is used as a value; device code reads a tensor by "
                f"indexing it ({x.name}[tile]) or asks for its size ({x.name}.size(0))",
            )
        raise self.error(UnsupportedConstruct, f"cannot use {_describe(x)} as a device value")

    def dim_of(self, x: Any) -> str:
        """The dim string of a shape entry: a tile, a size, or an int."""
        if isinstance(x, TileHandle):
            return x.block
        if isinstance(x, BlockSizeInt):
            return x.block_sym
        if isinstance(x, TileValue) and x.sym is not None:
            return x.sym
        if isinstance(x, (int, SpecializedInt)) and not isinstance(x, bool):
            return str(int(x))
        if isinstance(x, TileValue):
            d = self._block_extent(x)
            if d is not None:
                return d
        raise self.error(
            UnsupportedConstruct,
            f"{_describe(x)} is not a valid shape entry (use a tile, a size or an int)",
        )

    def _block_extent(self, x: TileValue) -> str | None:
        """The dim of ``tile.block_size`` (its block symbol), or of ``tile.block_size * k`` when
        the host code fixed that block (``kl.register_block_size``): a static dim."""
        op = x.value.owner
        if isinstance(op, t.TileAttrOp) and op.attr.data == "block_size":
            ty = op.tile.type
            assert isinstance(ty, t.TileType)
            return ty.block.data
        if not (isinstance(op, t.BinaryOp) and op.kind.data == "mul"):
            return None
        for a, b in ((op.lhs, op.rhs), (op.rhs, op.lhs)):
            block = self._block_extent(TileValue(self, a))
            k = b.owner
            fixed = self.spec.block_values.get(block or "")
            if fixed is not None and isinstance(k, t.ConstantOp):
                factor = k.value.value.data  # type: ignore[union-attr]
                if isinstance(factor, int) and factor > 0:
                    return str(fixed * factor)
        return None

    # -- ops used by proxies -----------------------------------------------------------------
    def binary(self, kind: str, a: TileValue, b: TileValue) -> TileValue:
        if kind == "pow" and not (a.dtype.is_floating_point or b.dtype.is_floating_point):
            # Triton's pow is a float function; an integer power is a product of the base,
            # which needs a literal exponent.
            owner = b.value.owner
            literal = isinstance(owner, t.ConstantOp) and isinstance(owner.value, IntegerAttr)
            if not (literal and 1 <= owner.value.value.data <= 4):  # type: ignore[union-attr]
                raise self.error(
                    UnsupportedConstruct,
                    f"{self._written()}: an integer power needs a literal exponent from 1 to 4 "
                    "in device code; for others, make the base a float (x.float() ** n)",
                )
        return self.emit(t.BinaryOp(kind, a.value, b.value))

    def unary(self, kind: str, a: TileValue) -> TileValue:
        return self.emit(t.UnaryOp(kind, a.value))

    def cast(self, a: TileValue, dtype: torch.dtype) -> TileValue:
        if a.dtype == dtype:
            return a
        ty = dtypes.to_ir(dtype)
        owner = a.value.owner
        if isinstance(owner, t.ConstantOp) and isinstance(owner.value, IntegerAttr):
            # An int or bool literal converts here: its cast would print as `2.to(...)`.
            v = owner.value.value.data
            if dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
                return self.emit(t.ConstantOp(FloatAttr(float(v), ty)))
            if dtype == torch.bool:
                return self.emit(t.ConstantOp(IntegerAttr(int(v != 0), ty)))
            info = torch.iinfo(dtype)
            if info.min <= v <= info.max:
                return self.emit(t.ConstantOp(IntegerAttr(v, ty)))
        return self.emit(t.CastOp(a.value, ty))

    def select(self, c: TileValue, a: TileValue, b: TileValue) -> TileValue:
        return self.emit(t.SelectOp(c.value, a.value, b.value))

    def _axes(self, v: TileValue, dim: Any) -> list[int]:
        if dim is None:
            return list(range(v.ndim))
        dims = dim if isinstance(dim, (list, tuple)) else [dim]
        try:
            return sorted({t.normalize_dim(int(d), v.ndim) for d in dims})
        except t.ShapeError as e:
            raise self.error(ShapeMismatch, str(e)) from None

    def reduce(self, kind: str, v: Any, dim: Any, keepdim: bool) -> TileValue:
        v = self.as_value(v)
        out = v
        for axis in reversed(self._axes(v, dim)):
            out = self.emit(t.ReduceOp(kind, out.value, axis, keepdim))
        return out

    def _one_axis(self, v: TileValue, dim: Any, what: str) -> int:
        if isinstance(dim, bool) or not isinstance(dim, int):
            raise self.error(
                UnsupportedConstruct, f"{what} needs one int dim, got {_describe(dim)}"
            )
        return self._axes(v, dim)[0]

    def scan(self, kind: str, v: Any, dim: Any, reverse: bool) -> TileValue:
        """``cumsum``/``cumprod`` along ``dim`` (from the end with ``reverse``)."""
        v = self.as_value(v)
        axis = self._one_axis(v, dim, f"cum{kind}")
        return self.emit(t.ScanOp(kind, v.value, axis, bool(reverse)))

    def combine(
        self,
        mode: str,
        fn: Any,
        inputs: Any,
        dim: Any,
        *,
        reverse: bool = False,
        others: Any = 0,
        keepdim: bool = False,
    ) -> Any:
        """``kl.associative_scan`` (``mode="scan"``) / ``kl.reduce`` (``"reduce"``): one
        ``tile.combine`` whose body is ``fn`` traced on scalars. ``fn`` takes the left and the
        right element (tuples of them for several inputs), or all of them flattened."""
        what = "kl.associative_scan" if mode == "scan" else "kl.reduce"
        if not callable(fn):
            raise self.error(
                UnsupportedConstruct, f"{what}: the first argument is the combine function"
            )
        several = isinstance(inputs, (tuple, list))
        values = [self.as_value(x) for x in (inputs if several else [inputs])]
        if not values or any(x.dims != values[0].dims for x in values):
            raise self.error(
                ShapeMismatch,
                f"{what}: inputs must be one or more blocks of one shape, got "
                f"{[list(x.dims) for x in values]}",
            )
        if mode == "reduce" and dim is None:
            if values[0].ndim != 1:
                raise self.error(
                    UnsupportedConstruct, f"{what} over all dims: reduce one dim at a time"
                )
            dim = 0
        axis = self._one_axis(values[0], dim, what)
        scalars = [t.BlockType([], x.type.element_type) for x in values]
        body = Block(arg_types=scalars + scalars)
        n = len(values)
        left = [TileValue(self, a) for a in body.args[:n]]
        right = [TileValue(self, a) for a in body.args[n:]]
        self._builders.append(Builder(InsertPoint.at_end(body)))
        try:
            try:
                params = len(inspect.signature(fn).parameters)
            except (TypeError, ValueError):
                params = 2
            if n > 1 and params == 2 * n:
                out = fn(*left, *right)
            elif n > 1:
                out = fn(tuple(left), tuple(right))
            else:
                out = fn(left[0], right[0])
            outs = list(out) if isinstance(out, (tuple, list)) else [out]
            if len(outs) != n:
                raise self.error(
                    ShapeMismatch,
                    f"{what}: the combine function returned {len(outs)} values for {n} inputs",
                )
            yields = []
            for o, x in zip(outs, values):
                o = self.as_value(o)
                if o.ndim != 0:
                    raise self.error(
                        ShapeMismatch,
                        f"{what}: the combine function must combine elements (scalars); it "
                        f"returned a block of shape {list(o.dims)}",
                    )
                yields.append(self.cast(o, x.dtype).value)
            self.emit(t.YieldOp(yields))
        finally:
            self._builders.pop()
        fills: list[Any] = []
        if mode == "reduce":
            given = list(others) if isinstance(others, (tuple, list)) else [others] * n
            if len(given) != n:
                raise self.error(ShapeMismatch, f"{what}: one `other` value per input")
            fills = [self.cast(self.as_value(o), x.dtype).value for o, x in zip(given, values)]
        if mode == "scan":
            result_types = [x.type for x in values]
        else:
            result_types = []
            for x in values:
                dims = list(x.dims)
                if keepdim:
                    dims[axis] = "1"
                else:
                    del dims[axis]
                result_types.append(t.BlockType(dims, x.type.element_type))
        op = t.CombineOp(
            mode,
            [x.value for x in values],
            axis,
            Region(body),
            result_types,
            reverse=bool(reverse),
            keepdim=bool(keepdim),
            others=fills,
        )
        self.emit(op)
        try:
            op.verify_()
        except t.ShapeError as e:
            raise self.error(ShapeMismatch, str(e)) from None
        results = [TileValue(self, r) for r in op.res]
        return tuple(results) if several else results[0]

    def mean(self, v: Any, dim: Any, keepdim: bool) -> TileValue:
        v = self.as_value(v)
        if not v.dtype.is_floating_point:
            raise self.error(ShapeMismatch, f"mean of a {v.dtype} value; cast it to float first")
        total = self.reduce("sum", v, dim, keepdim)
        return self.cast(self.binary("div", total, self.reduced_count(v, dim)), v.dtype)

    def reduced_axes(self, v: TileValue, dim: Any) -> list[int]:
        return self._axes(v, dim)

    def reduced_count(self, v: TileValue, dim: Any) -> TileValue:
        """How many elements a reduction over ``dim`` combines: a product of whole sizes (a
        tile's size varies at its last block, so a mean or variance over a tile is refused)."""
        count: Any = 1
        for axis in self._axes(v, dim):
            d = v.dims[axis]
            if d.startswith("block_"):
                raise self.error(
                    UnsupportedConstruct,
                    "mean/var/std over a tile dim; reduce a whole dim (':'), or use sum / count",
                )
            size = self.dim_value(d)
            count = size if isinstance(count, int) and count == 1 else count * size
        return self.as_value(count)

    def squeeze_dims(self, v: TileValue, axes: Sequence[int]) -> TileValue:
        """``v`` without the (unit) dims at ``axes``: a keepdim result made plain."""
        dims = [d for i, d in enumerate(v.dims) if i not in set(axes)]
        return self.emit(t.ReshapeOp(v.value, dims))

    def softmax(self, v: TileValue, dim: int, log: bool) -> TileValue:
        if not v.dtype.is_floating_point:  # torch's softmax is defined for floats only
            name = "log_softmax" if log else "softmax"
            raise self.error(
                ShapeMismatch,
                f"{name} of a {v.dtype} value; cast it to float first (or pass dtype=)",
            )
        x = self.cast(v, torch.float32) if v.dtype in (torch.float16, torch.bfloat16) else v
        m = self.reduce("max", x, dim, True)
        shifted = self.binary("sub", x, m)
        e = self.unary("exp", shifted)
        s = self.reduce("sum", e, dim, True)
        if log:
            out = self.binary("sub", shifted, self.unary("log", s))
        else:
            out = self.binary("div", e, s)
        return self.cast(out, v.dtype)

    def dot(
        self,
        a: Any,
        b: Any,
        acc: Any = None,
        out_dtype: torch.dtype | None = None,
        alpha: Any = 1,
        beta: Any = 1,
    ) -> TileValue:
        """``beta * acc + alpha * (a @ b)`` as one ``tile.dot``, accumulated in float32 (int32
        for integer operands). ``acc=None``: the product alone, in ``out_dtype`` or the operands'
        promoted dtype (float32 for fp8). Operands are 2-D, or 3-D with a unit batch dim."""
        a, b = self.as_value(a), self.as_value(b)
        if a.ndim == 3 and b.ndim == 3 and a.dims[0] == b.dims[0] == "1":
            if acc is not None:
                acc = self.as_value(acc)
                if acc.ndim == 3 and acc.dims[0] == "1":
                    acc = self.emit(t.ReshapeOp(acc.value, acc.dims[1:]))
            a2 = self.emit(t.ReshapeOp(a.value, a.dims[1:]))
            b2 = self.emit(t.ReshapeOp(b.value, b.dims[1:]))
            r = self.dot(a2, b2, acc, out_dtype, alpha, beta)
            return self.emit(t.ReshapeOp(r.value, ("1", *r.dims)))
        batched = a.ndim == 3 and b.ndim == 3
        if not (batched or (a.ndim == 2 and b.ndim == 2)):
            raise self.error(
                UnsupportedConstruct,
                f"matmul of blocks {list(a.dims)} and {list(b.dims)}: operands must be both "
                "2-D or both 3-D (a batch dim first, as torch.bmm)",
            )
        if batched and a.dims[0] != b.dims[0]:
            raise self.error(
                ShapeMismatch,
                f"bmm of blocks {list(a.dims)} and {list(b.dims)}: the batch dims differ",
            )
        if a.dims[-1] != b.dims[-2]:
            raise self.error(
                ShapeMismatch,
                f"matmul of blocks {list(a.dims)} and {list(b.dims)}: the inner dims differ",
            )
        fp8 = (torch.float8_e4m3fn, torch.float8_e5m2)
        if a.dtype != b.dtype and not (a.dtype in fp8 and b.dtype in fp8):
            common = dtypes.to_torch(t.promote_pair(a.type.element_type, b.type.element_type))
            a, b = self.cast(a, common), self.cast(b, common)
        if a.dtype.is_floating_point:
            acc_dtype = torch.float64 if a.dtype == torch.float64 else torch.float32
        else:
            acc_dtype = torch.int64 if a.dtype == torch.int64 else torch.int32
        out = (*a.dims[:-1], b.dims[-1])
        if acc is None:
            if out_dtype is None:
                out_dtype = torch.float32 if a.dtype in fp8 else a.dtype
            init = self.full_dims(out, 0, acc_dtype)
        else:
            init = self.as_value(acc)
            if out_dtype is None:
                out_dtype = dtypes.to_torch(t.result_dtype([init.type, a.type]))
                if a.dtype in fp8 and init.dtype not in fp8:
                    out_dtype = init.dtype
            if not (isinstance(beta, (int, float)) and beta == 1):
                init = self.binary("mul", init, self.as_value(beta))
            init = self.cast(init, acc_dtype)
        scaled = not (isinstance(alpha, (int, float)) and alpha == 1)
        if scaled and acc is not None:
            prod = self.emit(t.DotOp(a.value, b.value, self.full_dims(out, 0, acc_dtype).value))
            result = self.binary("add", init, self.binary("mul", prod, self.as_value(alpha)))
        else:
            result = self.emit(t.DotOp(a.value, b.value, init.value))
            if scaled:
                result = self.binary("mul", result, self.as_value(alpha))
        return self.cast(result, out_dtype)

    def full(self, shape: Any, value: Any, dtype: torch.dtype) -> TileValue:
        if not isinstance(shape, (list, tuple)):
            shape = [shape]
        flat: list[Any] = []
        for s in shape:
            flat.extend(s if isinstance(s, (list, tuple)) else [s])
        return self.full_dims([self.dim_of(s) for s in flat], value, dtype)

    def arange(self, args: Sequence[Any], dtype: torch.dtype | None) -> TileValue:
        """``kl.arange(end)`` / ``kl.arange(start, end[, step])``: a 1-D integer block whose
        length is a compile-time dim (an int, a size, a block size); ``start``/``step`` are
        Python ints, folded into ``start + step * arange(n)``."""
        dtype = dtype or torch.int32
        if dtype.is_floating_point or dtype.is_complex or dtype == torch.bool:
            raise self.error(
                ShapeMismatch, f"kl.arange(..., dtype={dtype}): the dtype must be an integer type"
            )
        if not 1 <= len(args) <= 3:
            raise self.error(
                UnsupportedConstruct,
                f"kl.arange takes 1 to 3 positional arguments, got {len(args)}",
            )
        if len(args) == 1:
            return self.emit(t.ArangeOp(self._arange_dim(args[0]), dtypes.to_ir(dtype)))
        start, end = args[0], args[1]
        step = args[2] if len(args) == 3 else 1
        ints = all(isinstance(a, int) and not isinstance(a, bool) for a in (start, end, step))
        if not ints or step == 0:
            raise self.error(
                UnsupportedConstruct,
                f"{self._written()}: kl.arange(start, end, step) needs Python ints (a literal, "
                "a kl.constexpr or a kl.specialize'd size) and a nonzero step; for a run-time "
                "start write start + kl.arange(n)",
            )
        n = max(0, -((start - end) // step))
        if n == 0:
            raise self.error(ShapeMismatch, f"{self._written()} is empty; device blocks are not")
        out = self.emit(t.ArangeOp(str(n), dtypes.to_ir(dtype)))
        if step != 1:
            out = self.cast(self.binary("mul", out, self.as_value(step)), dtype)
        if start != 0:
            out = self.cast(self.binary("add", out, self.as_value(start)), dtype)
        return out

    def _arange_dim(self, n: Any) -> str:
        if isinstance(n, TileValue):
            owner = n.value.owner
            if isinstance(owner, t.TileAttrOp) and owner.attr.data == "block_size":
                ty = owner.tile.type
                assert isinstance(ty, t.TileType)
                return ty.block.data
            if n.sym is not None:
                return n.sym
        elif isinstance(n, int) and not isinstance(n, bool) and not isinstance(n, BlockSizeInt):
            if n <= 0:
                raise self.error(ShapeMismatch, f"kl.arange({n}) is empty; device blocks are not")
            return str(int(n))
        elif isinstance(n, BlockSizeInt):
            return n.block_sym
        raise self.error(
            UnsupportedConstruct,
            f"{self._written()}: the length of kl.arange must be known when the kernel "
            "compiles (an int, a tensor size, a block size such as tile.block_size), got "
            f"{_describe(n)}",
        )

    def full_dims(self, dims: Sequence[str], value: Any, dtype: torch.dtype) -> TileValue:
        fill = self.as_value(value)
        return self.emit(t.FullOp(fill.value, list(dims), dtypes.to_ir(dtype)))

    def carried_value(self, name: str, init: TileValue, changes: str) -> TileValue:
        """``name``'s value at the end of a loop body, as the loop carries it: in the dtype and
        dims it entered with (a value that broadcasts to them is widened; another shape is a
        ``ShapeMismatch`` starting with ``changes``)."""
        v = self.as_value(self.ns[name])
        if v.dtype != init.dtype:
            v = self.cast(v, init.dtype)
        if v.dims != init.dims:
            try:
                if t.broadcast_dims(v.dims, init.dims) != init.dims:
                    raise t.ShapeError("")
            except t.ShapeError:
                raise self.error(
                    ShapeMismatch, f"{changes} from {list(init.dims)} to {list(v.dims)}"
                ) from None
            v = self.binary("add", v, self.full_dims(init.dims, 0, init.dtype))
        return v

    def _expand_ellipsis(self, tensor: TensorArg, flat: list[Any]) -> list[Any]:
        """``flat`` with its ``...`` replaced by whole slices over the dims no other entry
        indexes, as torch does: every entry but None and ``...`` indexes one dim of the
        tensor (an index tensor too, whatever its rank). Too many entries are left to the rank
        check."""
        at = [i for i, e in enumerate(flat) if e is Ellipsis]
        if not at:
            return flat
        if len(at) > 1:
            raise self.error(ShapeMismatch, "an index can hold only one '...'")
        indexed = sum(1 for e in flat if e is not None and e is not Ellipsis)
        whole = [slice(None)] * max(0, tensor.ndim - indexed)
        return [*flat[: at[0]], *whole, *flat[at[0] + 1 :]]

    def _index(
        self,
        tensor: TensorArg,
        index: Any,
        reading: bool = True,
        value_dims: tuple[str, ...] | None = None,
        masked: bool = False,
    ) -> tuple[list[str], list[Any], list[int], Any]:
        """Normalise a subscript into (kinds, operands, positions of newaxis in the result, the
        clamp of its bounded slices: None, or a bool block over the access's dims that is
        false at positions past the tensor's end).

        ``value_dims``: the dims of the value a store writes, which name the width of a slice
        whose bounds do not (``out[tile, n1:] = y[tile, :]``). ``masked``: the access has an
        ``extra_mask``, which may confine a tile that runs past the tensor to its part inside
        (the backend bounds such a tile by the tensor's size either way, so no lane leaves it)."""
        entries = list(index) if isinstance(index, (tuple, list)) else [index]
        flat: list[Any] = []
        for e in entries:
            if isinstance(e, (tuple, list)) and all(isinstance(x, TileHandle) for x in e):
                flat.extend(e)
            else:
                flat.append(e)
        flat = self._expand_ellipsis(tensor, flat)
        kinds: list[str] = []
        operands: list[Any] = []
        newaxes: list[int] = []
        out_rank = 0
        clamps: list[tuple[int, TileValue]] = []  # (access dim, slice positions in range)
        gathered: Any = None  # the dims of the last index tensor
        seen: list[tuple[str, ...]] = []  # the dims of every index tensor so far
        for e in flat:
            if e is None:
                newaxes.append(out_rank)
                out_rank += 1
                continue
            if isinstance(e, TileHandle):
                dim = tensor.dims[len(kinds)] if len(kinds) < tensor.ndim else None
                extent = self._tile_extent(e)
                if reading and dim == "1" and extent not in (None, "1"):
                    # A size-1 dim indexed by a tile broadcasts, as torch broadcasting does.
                    kinds.append("scalar")
                    operands.append(self.constant(0).value)
                    newaxes.append(out_rank)
                    out_rank += 1
                    continue
                if dim is not None and not masked:  # extra indices: a rank error below
                    self._check_tile_fits(tensor, len(kinds), e)
                kinds.append("tile")
                operands.append(e.value)
                out_rank += 1
            elif isinstance(e, slice):
                axis = len(kinds)
                size_of = tensor.dims[axis] if axis < tensor.ndim else "1"
                if _whole(e) or axis >= tensor.ndim:  # extra indices: a rank error below
                    kinds.append("full")
                else:
                    given = None
                    if value_dims is not None and len(value_dims) == _result_rank(flat):
                        given = value_dims[out_rank]
                    pos = slice_index(self, tensor, axis, e, given, self._written())
                    kinds.append("outer")
                    operands.append(pos.value)
                    if not slice_within(self, tensor, axis, e):
                        inside = self.binary("lt", pos, self.as_value(self.dim_value(size_of)))
                        clamps.append((out_rank - len(newaxes), inside))
                out_rank += 1
            else:
                v = self.as_value(e)
                if v.dtype.is_floating_point:
                    raise self.error(ShapeMismatch, f"index of dtype {v.dtype}")
                if v.ndim == 0:
                    kinds.append("scalar")
                    if reading and self._tile_position_on_unit_dim(tensor, len(kinds) - 1, v):
                        # The tile's own position on a size-1 dim broadcasts, as the tile
                        # itself does (a block mask of batch 1 read at tile_b.begin).
                        v = self.constant(0)
                elif _is_range(v.value):
                    # A run of positions (start + kl.arange(n) * step) selects like a slice:
                    # its dim is its own, so two of them index a Cartesian product (Helion's
                    # rule for several 1-D index tensors), never a torch-style pairing.
                    kinds.append("outer")
                    out_rank += 1
                else:
                    paired = bool(kinds) and kinds[-1] == "gather" and v.dims == gathered
                    if "gather" in kinds and not paired and not self._outer_gather(v, seen):
                        raise self.error(
                            UnsupportedConstruct,
                            "several index tensors in one subscript must be adjacent and of "
                            "one shape (torch pairs them elementwise); compute one flat index "
                            "and use kl.load",
                        )
                    kinds.append("gather")
                    gathered = v.dims
                    seen.append(v.dims)
                    if not paired:
                        out_rank += v.ndim
                operands.append(v.value)
        if len(kinds) > tensor.ndim:
            raise self.error(
                ShapeMismatch,
                f"too many indices ({len(kinds)}) for {tensor.name} of rank {tensor.ndim}",
            )
        kinds += ["full"] * (tensor.ndim - len(kinds))
        rank = out_rank - len(newaxes)
        clamp: Any = None
        for at, inside in clamps:
            laid = self.emit(
                t.ReshapeOp(inside.value, ["1"] * at + [inside.dims[0]] + ["1"] * (rank - at - 1))
            )
            clamp = laid if clamp is None else self.binary("and", clamp, laid)
        return kinds, operands, newaxes, clamp

    def _tile_position_on_unit_dim(self, tensor: TensorArg, axis: int, v: TileValue) -> bool:
        """Whether ``v`` is a tile's ``begin`` or ``id`` indexing a size-1 dim of ``tensor``
        while the tile's loop runs over more than one element."""
        if axis >= tensor.ndim or tensor.dims[axis] != "1":
            return False
        op = v.value.owner
        if not (isinstance(op, t.TileAttrOp) and op.attr.data in ("begin", "id")):
            return False
        tile = op.tile
        if not hasattr(tile, "block"):
            return False
        extent = self._tile_extent(TileHandle(self, tile, op.tile.type.block.data))  # type: ignore[union-attr]
        return extent not in (None, "1")

    @staticmethod
    def _outer_gather(v: Any, seen: list[tuple[str, ...]]) -> bool:
        """Whether index tensor ``v`` takes its own result dim after the index tensors
        ``seen``, as in Helion: when each is 1-D over a different block (``rows`` from
        ``kl.arange(BLOCK_M)``, ``cols`` from ``tile.index``), ``x[rows, cols]`` is the
        rows x cols block. torch would broadcast them against each other, which blocks of
        different sizes cannot do, so no program torch accepts changes meaning."""
        dims = [*seen, v.dims]
        return all(len(d) == 1 and d[0].startswith("block_") for d in dims) and len(
            {d[0] for d in dims}
        ) == len(dims)

    @staticmethod
    def _tile_extent(handle: TileHandle) -> str | None:
        """The size a tile loop iterates over, as a dim string, when it is a whole size."""
        loop = handle.value.block.parent_op() if hasattr(handle.value, "block") else None
        if not isinstance(loop, t.ForOp) or loop.kind.data != "tile":
            return None
        lb, ub = loop.lb.owner, loop.ub.owner
        if not (isinstance(lb, t.ConstantOp) and lb.value.value.data == 0):  # type: ignore[union-attr]
            return None
        if isinstance(ub, t.SizeOp):
            return ub.sym.data
        if isinstance(ub, t.ConstantOp):
            return str(ub.value.value.data)  # type: ignore[union-attr]
        return None

    def _check_tile_fits(self, tensor: TensorArg, axis: int, handle: TileHandle) -> None:
        """A tile over one size indexing a tensor dim of another size would read or write
        past the tensor (or leave part of it untouched): refuse it, naming the tensor."""
        extent = self._tile_extent(handle)
        dim = tensor.dims[axis]
        if extent is None or extent == dim:
            return
        # Reading a prefix (offsets[tile_b] of a B+1 tensor) is fine, and the backend bounds
        # every such access by the tensor's size; a tile that runs past the tensor is an error.
        values = self.spec.symbols.values
        e = int(extent) if extent.isdigit() else values.get(extent)
        d = int(dim) if dim.isdigit() else values.get(dim)
        if e is None or d is None or e <= d:
            return
        raise self.error(
            ShapeMismatch,
            f"tensor {tensor.name!r} has size {self._size_text(dim)} in dim {axis}, but the "
            f"tile indexing it iterates over {self._size_text(extent)} elements",
        )

    def _size_text(self, dim: str) -> str:
        if dim.isdigit():
            return dim
        value = self.spec.symbols.values.get(dim)
        return f"{value} ({dim})" if value is not None else dim

    def _with_clamp(self, mask: Any, clamp: Any) -> Any:
        """An access's mask: the user's ``extra_mask`` (an SSA value or None) and the clamp of
        its bounded slices (a device value or None)."""
        if clamp is None:
            return mask
        if mask is None:
            return clamp.value
        return self.binary("and", TileValue(self, mask), clamp).value

    def _extra_mask(self, mask: Any, what: str) -> Any:
        """The SSA value of an ``extra_mask=`` argument (None: no mask), a bool device value."""
        if mask is None:
            return None
        if isinstance(mask, bool):
            mask = self.constant(mask)
        if not isinstance(mask, TileValue) or mask.dtype != torch.bool:
            raise self.error(
                ShapeMismatch,
                f"{what}(..., extra_mask={self._written('extra_mask')}): the mask must be a "
                f"bool device value (a comparison), got {_describe(mask)}",
            )
        return mask.value

    def load(self, tensor: Any, index: Any, extra_mask: Any = None) -> TileValue:
        if not isinstance(tensor, TensorArg):
            raise self.error(UnsupportedConstruct, "kl.load/indexing needs a host tensor")
        kinds, operands, newaxes, clamp = self._index(tensor, index, masked=extra_mask is not None)
        mask = self._extra_mask(extra_mask, "kl.load")
        if mask is not None and newaxes:
            raise self.error(
                UnsupportedConstruct,
                "kl.load with both None in the index and extra_mask; add the unit dim after "
                "the load (v[:, None])",
            )
        mask = self._with_clamp(mask, clamp)
        v = self.emit(t.LoadOp(tensor.value, kinds, operands, mask))
        if newaxes:
            dims = list(v.dims)
            for pos in newaxes:
                dims.insert(pos, "1")
            v = self.emit(t.ReshapeOp(v.value, dims))
        return v

    def store(self, tensor: Any, index: Any, value: Any, extra_mask: Any = None) -> None:
        if not isinstance(tensor, TensorArg):
            raise self.error(UnsupportedConstruct, "only host tensors can be assigned to")
        if tensor.overlapping:
            raise InvalidArgument(
                f"{self.location}: tensor {tensor.name!r} is written here but several of its "
                "indices share memory (stride 0, e.g. from expand()); pass a tensor with its "
                "own storage (.contiguous())"
            )
        value_dims = value.dims if isinstance(value, TileValue) else None
        kinds, operands, newaxes, clamp = self._index(
            tensor, index, False, value_dims, masked=extra_mask is not None
        )
        if newaxes:
            raise self.error(UnsupportedConstruct, "None in the index of an assignment")
        v = self.cast(self.as_value(value), tensor.dtype)
        if v.ndim == 0:
            # A scalar stored into a region: fill the region's shape with it (a store's value
            # is a block of the indexed shape, or broadcasts to it along existing dims).
            ty = tensor.value.type
            assert isinstance(ty, t.TensorType)
            try:
                target = t.indexed_dims(ty, kinds, operands)
            except t.ShapeError as e:
                raise self.error(ShapeMismatch, str(e)) from None
            if target:
                v = self.full_dims(target, v, tensor.dtype)
        mask = self._with_clamp(self._extra_mask(extra_mask, "kl.store"), clamp)
        self.emit(t.StoreOp(v.value, tensor.value, kinds, operands, mask))

    def atomic(
        self, kind: str, tensor: Any, index: Any, value: Any, sem: Any, compare: Any = None
    ) -> TileValue:
        """``kl.atomic_<kind>(tensor, index, value, sem)``: an atomic update of
        ``tensor[index]`` returning the old values (``cas``: ``compare`` is the expected)."""
        what = f"kl.atomic_{kind}"
        if not isinstance(tensor, TensorArg):
            raise self.error(
                UnsupportedConstruct, f"{what} updates a host tensor, not {_describe(tensor)}"
            )
        if sem not in t.ATOMIC_SEMS:
            raise self.error(
                CompileError,
                f"{what}(..., sem={sem!r}): the memory order is one of "
                f"{', '.join(repr(x) for x in t.ATOMIC_SEMS)}",
            )
        problem = t.atomic_dtype_problem(kind, dtypes.to_ir(tensor.dtype))
        if problem:
            raise self.error(
                UnsupportedConstruct,
                f"{what} on {tensor.name!r} ({tensor.dtype}): GPUs have no {problem}; "
                "update a float32 or int32 tensor instead",
            )
        if tensor.overlapping:
            raise InvalidArgument(
                f"{self.location}: tensor {tensor.name!r} is updated here but several of its "
                "indices share memory (stride 0); pass a tensor with its own storage"
            )
        # An atomic takes no mask: a bounded slice past the tensor's end is an index error.
        kinds, operands, newaxes, _ = self._index(tensor, index, reading=False)
        if newaxes:
            raise self.error(UnsupportedConstruct, f"None in the index of {what}")
        ty = tensor.value.type
        assert isinstance(ty, t.TensorType)
        try:
            target = t.indexed_dims(ty, kinds, operands)
        except t.ShapeError as e:
            raise self.error(ShapeMismatch, str(e)) from None

        def operand(x: Any) -> Any:
            v = self.cast(self.as_value(x), tensor.dtype)
            if v.ndim == 0 and target:
                v = self.full_dims(target, v, tensor.dtype)
            return v.value

        cmp = operand(compare) if compare is not None else None
        return self.emit(t.AtomicOp(kind, operand(value), tensor.value, kinds, operands, sem, cmp))

    def split(self, v: Any) -> tuple[TileValue, TileValue]:
        """``kl.split``: the two halves of a value whose last dim has size 2."""
        v = self.as_value(v)
        try:
            op = t.SplitOp(v.value)
        except t.ShapeError as e:
            raise self.error(ShapeMismatch, f"kl.split: {e}") from None
        self.emit(op)
        return TileValue(self, op.lo), TileValue(self, op.hi)

    def join(self, a: Any, b: Any) -> TileValue:
        """``kl.join``: stack two values along a new last dim of size 2 (one dtype, promoted
        as torch.stack would)."""
        a, b = self.as_value(a), self.as_value(b)
        dtype = dtypes.to_torch(t.result_dtype([a.type, b.type]))
        return self.emit(t.JoinOp(self.cast(a, dtype).value, self.cast(b, dtype).value))

    def inline_asm(
        self, asm: Any, constraints: Any, args: Any, dtype: Any, is_pure: Any, pack: Any
    ) -> TileValue:
        """``kl.inline_asm_elementwise``: assembly mapped over broadcast args (see
        ``frontend/inline_asm.py``)."""
        return build_inline_asm(self, asm, constraints, args, dtype, is_pure, pack)

    def randint(self, shape: Any, low: Any, high: Any, seed: Any) -> TileValue:
        """``kl.randint(shape, low, high, seed)``: int32 in ``[low, high)``, Helion's rule:
        ``low + |r| % (high - low)`` of the Philox int32 ``r`` at each element's offset."""
        if not all(isinstance(b, int) and not isinstance(b, bool) for b in (low, high)):
            raise self.error(
                UnsupportedConstruct, "kl.randint: low and high must be ints known when compiling"
            )
        if low >= high:
            raise self.error(
                ShapeMismatch, f"kl.randint: low ({low}) must be less than high ({high})"
            )
        bits = self.rand(shape, seed, kind="int32")
        wide = self.unary("abs", self.cast(bits, torch.int64))
        drawn = self.binary(
            "add", self.binary("mod", wide, self.as_value(high - low)), self.as_value(low)
        )
        return self.cast(drawn, torch.int32)

    def rand(self, shape: Any, seed: Any, kind: str = "uniform") -> TileValue:
        """``kl.rand(shape, seed)``: uniform [0, 1) float32; element ``(i, j, ...)`` of the
        whole iteration space draws Philox number ``i * N_j... + j ...`` for ``seed``, so a
        tile's values do not depend on the block sizes."""
        entries = list(shape) if isinstance(shape, (list, tuple)) else [shape]
        flat: list[Any] = []
        for e in entries:
            flat.extend(e if isinstance(e, (list, tuple)) else [e])
        seed_v = self.as_value(seed)
        if seed_v.ndim != 0 or seed_v.dtype.is_floating_point or seed_v.dtype == torch.bool:
            raise self.error(
                ShapeMismatch, f"kl.rand: the seed must be an integer scalar, got {_describe(seed)}"
            )
        if seed_v.dtype != torch.int64:
            seed_v = self.cast(seed_v, torch.int64)
        indices: list[TileValue] = []
        extents: list[Any] = []
        for e in flat:
            if isinstance(e, TileHandle):
                loop = e.value.block.parent_op() if hasattr(e.value, "block") else None
                if not isinstance(loop, t.ForOp):
                    raise self.error(UnsupportedConstruct, "kl.rand: a tile of an unknown loop")
                indices.append(e.index)
                extents.append(TileValue(self, loop.ub))
            else:
                dim = self.dim_of(e)
                indices.append(self.emit(t.ArangeOp(dim, t.i64)))
                extents.append(self.dim_value(dim))
        offsets: Any = None
        rank = len(indices)
        for k, (idx, _) in enumerate(zip(indices, extents)):
            dims = ["1"] * rank
            dims[k] = idx.dims[0]
            term = self.emit(t.ReshapeOp(idx.value, dims))
            for later in extents[k + 1 :]:
                term = self.binary("mul", term, self.as_value(later))
            offsets = term if offsets is None else self.binary("add", offsets, term)
        if offsets is None:
            offsets = self.as_value(0)
        return self.emit(t.RandOp(seed_v.value, self.cast(offsets, torch.int64).value, kind))

    def subscript(self, v: TileValue, index: Any) -> TileValue:
        entries = list(index) if isinstance(index, tuple) else [index]
        dims: list[str] = []
        it = iter(v.dims)
        for e in entries:
            if e is None:
                dims.append("1")
            elif isinstance(e, slice) and _whole(e):
                d = next(it, None)
                if d is None:
                    raise self.error(ShapeMismatch, f"too many ':' for a value of rank {v.ndim}")
                dims.append(d)
            else:
                raise self.error(
                    UnsupportedConstruct, "device values may only be indexed with ':' and None"
                )
        dims.extend(it)
        return self.emit(t.ReshapeOp(v.value, dims))

    def view(self, v: TileValue, shape: Sequence[Any]) -> TileValue:
        if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
            shape = shape[0]
        non_unit = [d for d in v.dims if d != "1"]
        dims: list[str] = []
        for s in shape:
            if isinstance(s, int) and s == -1:
                if len(non_unit) > 1:
                    raise self.error(UnsupportedConstruct, "view(-1) of a value with several dims")
                dims.append(non_unit[0] if non_unit else "1")
            else:
                dims.append(self.dim_of(s))
        return self.emit(t.ReshapeOp(v.value, dims))

    def permute(self, v: TileValue, order: Sequence[Any]) -> TileValue:
        """``v.permute(order)``; ``transpose``/``.T`` are permutations that swap two dims."""
        if len(order) != v.ndim:
            raise self.error(
                ShapeMismatch,
                f"permute of a value of rank {v.ndim} needs {v.ndim} dims, got {list(order)}",
            )
        axes = [self._axes(v, int(d))[0] for d in order]
        if sorted(axes) != list(range(v.ndim)):
            raise self.error(ShapeMismatch, f"permute: {list(order)} repeats a dim")
        return self.emit(t.PermuteOp(v.value, axes))

    def transpose(self, v: TileValue, dim0: int, dim1: int) -> TileValue:
        if v.ndim < 2:
            if v.ndim == 1 and {int(dim0), int(dim1)} <= {0, -1}:
                return v  # torch allows transpose(0, 0) of a vector: a no-op
            raise self.error(ShapeMismatch, f"transpose of a value of rank {v.ndim}")
        a, b = self._axes(v, int(dim0))[0], self._axes(v, int(dim1))[0]
        order = list(range(v.ndim))
        order[a], order[b] = order[b], order[a]
        return self.permute(v, order)

    def broadcast(self, v: TileValue, shape: Sequence[Any]) -> TileValue:
        """``v.expand(shape)`` / ``torch.broadcast_to``: -1 keeps a dim, unit dims stretch."""
        if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
            shape = shape[0]
        if len(shape) < v.ndim:
            raise self.error(
                ShapeMismatch, f"expand of a value of rank {v.ndim} to {len(shape)} dims"
            )
        lead = len(shape) - v.ndim
        dims = [
            v.dims[i - lead] if isinstance(s, int) and s == -1 and i >= lead else self.dim_of(s)
            for i, s in enumerate(shape)
        ]
        try:
            if t.broadcast_dims(v.dims, dims) != tuple(dims):
                raise t.ShapeError(f"cannot expand {list(v.dims)} to {dims}")
        except t.ShapeError as e:
            raise self.error(ShapeMismatch, str(e)) from None
        if tuple(dims) == v.dims:
            return v
        return self.emit(t.BroadcastOp(v.value, dims))

    def squeeze(self, v: TileValue, dim: int | None) -> TileValue:
        if dim is None:
            dims = [d for d in v.dims if d != "1"]
        else:
            axis = self._axes(v, dim)[0]
            dims = list(v.dims)
            if dims[axis] == "1":
                del dims[axis]
        return self.emit(t.ReshapeOp(v.value, dims))

    def unsqueeze(self, v: TileValue, dim: int) -> TileValue:
        dims = list(v.dims)
        axis = dim if dim >= 0 else len(dims) + 1 + dim
        dims.insert(axis, "1")
        return self.emit(t.ReshapeOp(v.value, dims))

    # -- loops -------------------------------------------------------------------------------
    def tile_request(
        self, a: Any, b: Any, block_size: Any, kind: str, step: Any = None
    ) -> TileRequest:
        """The loops of ``kl.tile``/``kl.grid``/``kl.jagged_tile``; ``step`` (a grid's, one
        per dim or one for all) makes a strided grid loop where it is not the constant 1."""
        if kind == "jagged":
            bounds = self.as_value(a)
            if bounds.ndim != 1:
                raise self.error(ShapeMismatch, "kl.jagged_tile needs a 1-D block of bounds")
            block = self._block_symbol(block_size)
            return TileRequest([TileDim(self.as_value(0), bounds, block, kind)], multi=False)
        multi = isinstance(a, (list, tuple))
        if multi:
            begins, ends = ([0] * len(a), list(a)) if b is None else (list(a), list(b))
        else:
            begins, ends = ([0], [a]) if b is None else ([a], [b])
        sizes = block_size if isinstance(block_size, (list, tuple)) else [block_size] * len(ends)
        steps = step if isinstance(step, (list, tuple)) else [step] * len(ends)
        for what, given in (("block_size", sizes), ("step", steps)):
            if len(given) != len(ends):
                raise self.error(
                    ShapeMismatch,
                    f"{what}={self._written(what)} has {len(given)} entries for "
                    f"{len(ends)} loop dims",
                )
        dims = []
        for lo, hi, bs, st in zip(begins, ends, sizes, steps):
            self._check_bound(lo, kind)
            self._check_bound(hi, kind)
            if st is not None:
                check_step(self, st, self._written())
            if st is not None and static_step(st) != 1:
                count = trip_count(self, lo, hi, st)
                dims.append(TileDim(self.as_value(0), count, "1", kind, lo, st))
                continue
            block = "1" if kind == "grid" else self._block_symbol(bs)
            dims.append(TileDim(self.as_value(lo), self.as_value(hi), block, kind))
        return TileRequest(dims, multi=multi)

    def _written(self, keyword: str | None = None) -> str:
        """The source text of the expression being traced, or of its ``keyword=`` argument."""
        node = self._node
        if keyword is not None:
            for sub in ast.walk(node):
                for kw in getattr(sub, "keywords", ()):
                    if kw.arg == keyword:
                        return ast.unparse(kw.value)
        try:
            return ast.unparse(node)
        except Exception:  # a statement node ast.unparse cannot print alone
            return "..."

    def _check_bound(self, x: Any, kind: str) -> None:
        """A loop bound is an integer: a literal, an int argument, a size, a 0-d device int."""
        if isinstance(x, TileValue) and x.ndim == 0 and not x.dtype.is_floating_point:
            if x.dtype != torch.bool:
                return
        elif isinstance(x, int) and not isinstance(x, bool):
            return
        hint = ""
        if isinstance(x, TensorArg):
            hint = f" (did you mean {x.name}.size(0)?)"
        elif isinstance(x, TileHandle):
            hint = " (did you mean tile.begin / tile.end?)"
        elif isinstance(x, TileValue) and x.ndim > 0:
            hint = " (a block of values, not one number)"
        raise self.error(
            UnsupportedConstruct,
            f"{self._written()}: loop bounds must be "
            f"integers (a literal, an int argument, or a size such as x.size(0)), got "
            f"{_describe(x)}{hint}",
        )

    def _block_symbol(self, block_size: Any) -> str:
        if block_size is None:
            sym = self.blocks.symbol((self.site, self._block_ordinal))
            self._block_ordinal += 1
            return sym
        if isinstance(block_size, BlockSizeInt):
            return block_size.block_sym
        pow2 = isinstance(block_size, int) and not isinstance(block_size, bool)
        if pow2 and block_size > 0 and block_size & (block_size - 1) == 0:
            # A literal block size still gets its own symbol (so its dim needs a mask), fixed.
            sym = self.blocks.symbol((self.site, self._block_ordinal))
            self._block_ordinal += 1
            self.blocks.fixed[sym] = int(block_size)
            return sym
        text = self._written("block_size")
        ways = (
            "a block size is fixed when the kernel compiles: write a literal power of two, "
            "pass it as a kl.constexpr parameter, or get it from kl.register_block_size(...) "
            "in host code"
        )
        if isinstance(block_size, TileValue):
            value = self.spec.symbols.values.get(block_size.sym) if block_size.sym else None
            what = (
                f"a host value known only when the kernel is called (here {value})"
                if value is not None
                else "a value computed in device code"
            )
            raise self.error(CompileError, f"block_size={text} is {what}; {ways}")
        if pow2:
            raise self.error(
                CompileError, f"block_size={text} is {int(block_size)}, not a power of two; {ways}"
            )
        raise self.error(
            CompileError, f"block_size={text} is {_describe(block_size)}, not an int; {ways}"
        )

    # -- statements --------------------------------------------------------------------------
    def eval(self, node: ast.expr) -> Any:
        code = self._codes.get(id(node))
        if code is None:
            # An augmented assignment's target (`v += ...`) is read first: compile it as a
            # load of the same name (the cache stays keyed by the kernel's own node).
            body = node
            if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                body = ast.copy_location(ast.Name(id=node.id, ctx=ast.Load()), node)
            expr = ast.Expression(body=body)
            ast.fix_missing_locations(expr)
            try:
                code = compile(expr, self.filename, "eval")
            except SyntaxError as e:  # e.g. `yield`: valid in a function, not in device code
                self._node = node
                raise self.error(UnsupportedConstruct, f"{e.msg} (in device code)") from None
            self._codes[id(node)] = code
        prev, self._node = self._node, node
        try:
            self._check_calls(node)
            return eval(code, self._globals_for(node), self.ns)
        except CompileError as e:
            if e.location is None:  # raised by a value proxy: attach this expression's line
                raise type(e)(str(e), self.location) from None
            raise
        except KCompilerError:
            raise
        except t.ShapeError as e:
            raise self.error(ShapeMismatch, str(e)) from None
        except Exception as e:
            # The user's expression failed (a name that does not exist, a call with wrong
            # arguments): a located error. kcompiler's code under it failed: a bug.
            if raised_by_kcompiler(e.__traceback__, skip=1):
                raise internal_error(e, self.location, f"tracing {self._written()!r}") from e
            captured = self._captured_tensors(node)
            if captured:
                fn, name = captured
                raise self.error(
                    UnsupportedConstruct,
                    f"{fn}(...) reads tensor {name!r}, which it captures from where it was "
                    "defined; device code reads tensors only as the kernel's arguments or "
                    f"closure variables: pass {name!r} to the kernel and on to {fn}",
                ) from None
            message = str(e) if isinstance(e, NameError) else f"{type(e).__name__}: {e}"
            raise self.error(CompileError, user_terms(message)) from None
        finally:
            self._node = prev

    def _globals_for(self, node: ast.expr) -> dict[str, Any]:
        """The globals to evaluate ``node`` with. A comprehension or lambda has a scope of its
        own that sees only globals, not eval's locals: for those, the device locals (and the
        host values the expression names) are copied into a globals dict of their own."""
        if not any(isinstance(sub, _SCOPED) for sub in ast.walk(node)):
            return self.globals
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and sub.id not in self.ns and sub.id in self.env:
                self.ns[sub.id]  # imports the host value
        scope = {**self.globals, **self.ns}
        scope.setdefault("print", self.print_in_device_code)
        scope.setdefault("min", self.builtin_min)
        scope.setdefault("max", self.builtin_max)
        scope.setdefault("range", self.builtin_range)
        return scope

    def _check_calls(self, node: ast.expr) -> None:
        """Refuse a call of a ``@kc.kernel`` from device code: kernels do not nest (its host
        code would run on device values)."""
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call) and _is_kernel(self._static_value(sub.func)):
                raise self.error(
                    UnsupportedConstruct,
                    f"{ast.unparse(sub.func)}(...) calls a @kc.kernel from device code; kernels "
                    "do not nest: call it from host code (outside the device loop), or move "
                    "the shared code into a plain Python function called from both",
                )

    def _captured_tensors(self, node: ast.expr) -> tuple[str, str] | None:
        """(callee, name) for a Python function called in ``node`` that reads a tensor from
        its own closure or globals: Python runs it with that host tensor, not a device view
        of it, so indexing it with a tile fails inside torch."""
        for sub in ast.walk(node):
            if not isinstance(sub, ast.Call):
                continue
            fn = self._static_value(sub.func)
            if not isinstance(fn, FunctionType):
                continue
            code = fn.__code__
            cells = dict(zip(code.co_freevars, fn.__closure__ or ()))
            for name in (*code.co_freevars, *code.co_names):
                cell = cells.get(name)
                try:
                    value = cell.cell_contents if cell is not None else fn.__globals__.get(name)
                except ValueError:  # a closure variable not yet bound
                    continue
                if isinstance(value, torch.Tensor):
                    return ast.unparse(sub.func), name
        return None

    def _static_value(self, expr: ast.expr) -> Any:
        """What a name or ``module.name`` refers to, looked up without tracing anything."""
        if isinstance(expr, ast.Name):
            for scope in (self.ns, self.env, self.globals):
                if expr.id in scope:
                    return dict.get(scope, expr.id)
            return None
        if isinstance(expr, ast.Attribute):
            base = self._static_value(expr.value)
            if isinstance(base, ModuleType):
                return getattr(base, expr.attr, None)
        return None

    def builtin_min(self, *args: Any, **kwargs: Any) -> Any:
        """Python's ``min`` in device code: elementwise ``torch.minimum`` when an argument is
        a device value (Python's would ask the value for a truth value), else Python's."""
        return self._builtin_extreme("min", args, kwargs)

    def builtin_range(self, *args: Any) -> Any:
        """Python's ``range`` in device code: a Python range (its loop is unrolled) when its
        bounds are Python ints; a sequential device loop over single indices, as ``kl.grid``,
        when a bound or the step is a value known only at run time (an int argument, a
        loaded scalar), which Python's would ask for an int; a step other than 1 makes it a
        strided loop (frontend/strided_loops.py)."""
        import builtins

        if not any(isinstance(a, TileValue) for a in args):
            return builtins.range(*args)
        if not 1 <= len(args) <= 3:
            raise self.error(
                UnsupportedConstruct, f"range() takes 1 to 3 arguments, got {len(args)}"
            )
        begin, end = (0, args[0]) if len(args) == 1 else (args[0], args[1])
        return self.tile_request(begin, end, 1, "grid", args[2] if len(args) == 3 else None)

    def builtin_max(self, *args: Any, **kwargs: Any) -> Any:
        """Python's ``max`` in device code (see ``builtin_min``)."""
        return self._builtin_extreme("max", args, kwargs)

    def _builtin_extreme(self, which: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        import builtins

        items = (
            list(args[0]) if len(args) == 1 and isinstance(args[0], (list, tuple)) else list(args)
        )
        if kwargs or not any(isinstance(a, TileValue) for a in items):
            return getattr(builtins, which)(*args, **kwargs)
        if len(items) < 2:
            raise self.error(
                UnsupportedConstruct,
                f"{which}() of one device value; for its smallest/largest element use "
                f"x.a{which}() (torch.a{which})",
            )
        kind = "minimum" if which == "min" else "maximum"
        out = self.as_value(items[0])
        for item in items[1:]:
            out = self.binary(kind, out, self.as_value(item))
        return out

    def device_print(self, prefix: Any, values: Sequence[Any]) -> None:
        """``kl.device_print(prefix, *values)``: print the values from the device."""
        if not isinstance(prefix, str):
            raise self.error(
                UnsupportedConstruct,
                f"kl.device_print's first argument is its prefix, a string; got {_describe(prefix)}",
            )
        if "\n" in prefix or "\0" in prefix:
            raise self.error(UnsupportedConstruct, "a device_print prefix must be one line of text")
        self.emit(t.PrintOp(prefix, [self.as_value(v).value for v in values]))

    def print_in_device_code(self, *args: Any, **kwargs: Any) -> None:
        """``print`` in device code is a device print: a leading string is the prefix, the
        rest are device values (Python's print would run once, at compile time)."""
        if kwargs:
            raise self.error(
                UnsupportedConstruct,
                f"print(..., {', '.join(f'{k}=' for k in kwargs)}) in device code: a device "
                "print takes no keyword arguments (use kl.device_print(prefix, *values))",
            )
        parts = list(args)
        prefix = parts.pop(0) if parts and isinstance(parts[0], str) else ""
        if any(isinstance(p, str) for p in parts):
            raise self.error(
                UnsupportedConstruct,
                "print() in device code takes one leading string (the prefix) and then values; "
                "join the text into the first argument",
            )
        self.device_print(prefix, parts)

    def trace(self) -> ModuleOp:
        try:
            with tracing(self):
                self.device_for(self.loop, parallel=True)
            return self.finish()
        except KCompilerError:
            raise
        except Exception as e:
            raise internal_error(
                e, self.location, f"tracing kernel {self.kernel.sym_name.data!r}"
            ) from e

    def run_block(self, stmts: Sequence[ast.stmt]) -> None:
        for s in stmts:
            self.stmt(s)

    def stmt(self, s: ast.stmt) -> None:
        try:
            self._stmt(s)
        except CompileError as e:
            if e.location is None:  # raised by a proxy outside eval (`assert x`): locate it
                raise type(e)(str(e), self.location) from None
            raise

    def _stmt(self, s: ast.stmt) -> None:
        self._node = s
        if isinstance(s, ast.Assign):
            value = self.eval(s.value)
            for target in s.targets:
                self.assign(target, value)
        elif isinstance(s, ast.AnnAssign):
            if s.value is not None:
                self.assign(s.target, self.eval(s.value))
        elif isinstance(s, ast.AugAssign):
            kind = _BIN_AST.get(type(s.op))
            if kind is None:
                op = {ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>"}.get(type(s.op), "?")
                raise self.error(
                    UnsupportedConstruct,
                    f"`{op}=` is not supported in device code; write {ast.unparse(s.target)} = "
                    f"{ast.unparse(s.target)} {op} ...",
                )
            rhs = self.eval(s.value)
            if isinstance(s.target, ast.Name):
                cur = self.ns[s.target.id] if s.target.id in self.ns else self.eval(s.target)
                new = self.binary(kind, self.as_value(cur), self.as_value(rhs))
                if isinstance(cur, TileValue) and new.dtype != cur.dtype:
                    new = self.cast(new, cur.dtype)  # in-place ops keep the target's dtype
                self.ns[s.target.id] = new
            elif isinstance(s.target, ast.Subscript):
                obj = self.eval(s.target.value)
                idx = self.eval(s.target.slice)
                cur = obj[idx]
                obj[idx] = self.binary(kind, cur, self.as_value(rhs))
            else:
                raise self.error(UnsupportedConstruct, "augmented assignment target")
        elif isinstance(s, ast.Expr):
            if not (isinstance(s.value, ast.Constant) and isinstance(s.value.value, str)):
                self.eval(s.value)
        elif isinstance(s, ast.For):
            self.device_for(s, parallel=False)
        elif isinstance(s, ast.If):
            cond = self.condition(s.test)
            if isinstance(cond, TileValue) and cond.ndim == 0:
                self.device_if(s, cond)
                return
            if isinstance(cond, (TileValue, TensorArg)):
                ints = [
                    n.id
                    for n in ast.walk(s.test)
                    if isinstance(n, ast.Name)
                    and isinstance(self.env.get(n.id), int)
                    and not isinstance(self.env.get(n.id), bool)
                ]
                hint = (
                    f"; {ints[0]!r} is an int passed at run time: annotate the parameter "
                    f"kl.constexpr (or use {ints[0]} = kl.specialize({ints[0]}) in host code) "
                    "to branch on its value"
                    if ints
                    else "; an `if` on a device value needs one value (a scalar such as "
                    "x[i] or a reduction's result); for a block, use torch.where"
                )
                raise self.error(
                    UnsupportedConstruct,
                    f"`if {ast.unparse(s.test)}:` is on a device value (data-dependent control "
                    f"flow){hint}",
                )
            self.run_block(s.body if cond else s.orelse)
        elif isinstance(s, ast.While) and not s.orelse and self._device_condition(s.test):
            self.device_while(s)
        elif isinstance(s, (ast.Break, ast.Continue)) and self._unrolling:
            # Leaves an unrolled loop (kl.static_range, range): decided when the kernel
            # compiles, so only under compile-time conditions (device_if refuses it).
            raise _LoopExit("break" if isinstance(s, ast.Break) else "continue")
        elif isinstance(s, ast.Pass):
            pass
        elif isinstance(s, ast.Assert):
            cond = self.eval(s.test)
            if isinstance(cond, (TileValue, TensorArg)):
                raise self.error(
                    UnsupportedConstruct,
                    f"`assert {ast.unparse(s.test)}` is on a device value; device code cannot "
                    "check values (check inputs in host code)",
                )
            if not cond:
                raise self.error(CompileError, "assertion failed in device code")
        else:
            what, hint = _STATEMENTS.get(type(s), (f"`{type(s).__name__}`", ""))
            raise self.error(
                UnsupportedConstruct,
                f"{what} is not supported in device code" + (f"; {hint}" if hint else ""),
            )

    def condition(self, node: ast.expr) -> Any:
        """An ``if`` test whose ``and`` / ``or`` / ``not`` may mix host values with device
        scalars (``if beta != 0.0 and ref is not None``): Python would ask a device value for
        its truth. Host operands decide what they can (a false one ends an ``and``, a true
        one an ``or``, as short-circuiting would); the device operands left are combined
        with ``&`` / ``|`` into one device bool, every one of them evaluated (they are
        expressions without side effects)."""
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            c = self.condition(node.operand)
            if isinstance(c, (TileValue, TensorArg)):
                return self._device_bool(c) == 0 if self._is_device(c) else c
            return not c
        if not isinstance(node, ast.BoolOp):
            return self.eval(node)
        is_and = isinstance(node.op, ast.And)
        device: list[Any] = []
        for operand in node.values:
            c = self.condition(operand)
            if isinstance(c, (TileValue, TensorArg)) and not self._is_device(c):
                return c  # a block or a tensor: the caller reports it, located
            if self._is_device(c):
                device.append(self._device_bool(c))
            elif bool(c) != is_and:  # host False in an and, host True in an or: decided
                return c
        if not device:
            return is_and
        out = device[0]
        for c in device[1:]:
            out = (out & c) if is_and else (out | c)
        return out

    @staticmethod
    def _is_device(c: Any) -> bool:
        return isinstance(c, TileValue) and c.ndim == 0

    def _device_bool(self, c: TileValue) -> Any:
        return c if c.dtype == torch.bool else c != 0

    def device_if(self, s: ast.If, cond: TileValue) -> None:
        """``if`` on a device scalar: a ``tile.if`` whose regions run the two branches. A name
        assigned in a branch and defined on both paths afterwards (assigned in both, or
        before the ``if``) becomes a result; one defined on one path only is dropped."""
        if cond.dtype != torch.bool:
            cond = self.binary("ne", cond, self.as_value(0))
        before = dict(self.ns)
        names = _assigned_names([*s.body, *s.orelse])
        branches: list[tuple[Block, dict[str, Any]]] = []
        for stmts in (s.body, s.orelse):
            block = Block()
            self._builders.append(Builder(InsertPoint.at_end(block)))
            try:
                self.run_block(stmts)
            except _LoopExit as leave:
                self._node = s
                raise self.error(
                    UnsupportedConstruct,
                    f"`{leave.kind}` under `if {ast.unparse(s.test)}:`, a condition on a device "
                    "value: an unrolled loop is left when the kernel compiles, so only "
                    "compile-time conditions may end it",
                ) from None
            finally:
                self._builders.pop()
            branches.append((block, {n: self.ns[n] for n in names if n in self.ns}))
            for n in names:  # back to the state before the if (host values stay imported)
                if n in before:
                    self.ns[n] = before[n]
                else:
                    self.ns.pop(n, None)
        self._node = s
        (then_block, then_vals), (else_block, else_vals) = branches
        results: list[str] = []
        yields: tuple[list[TileValue], list[TileValue]] = ([], [])
        for n in names:
            if n not in then_vals or n not in else_vals:
                continue  # undefined after the if on one path (Python would raise there)
            a, b = then_vals[n], else_vals[n]
            if a is b:
                continue
            if not all(isinstance(v, (TileValue, int, float)) for v in (a, b)):
                if a is b or (type(a) is type(b) and a == b):
                    self.ns[n] = a
                    continue
                raise self.error(
                    UnsupportedConstruct,
                    f"{n!r} is {_describe(a)} in one branch of `if {ast.unparse(s.test)}:` and "
                    f"{_describe(b)} in the other; a branch on a device value may only choose "
                    "between device values",
                )
            results.append(n)
            yields[0].append(a)
            yields[1].append(b)
        types: list[Any] = []
        finals: tuple[list[Any], list[Any]] = ([], [])
        for i in range(len(results)):
            pair = []
            for k, block in enumerate((then_block, else_block)):
                self._builders.append(Builder(InsertPoint.at_end(block)))
                try:
                    pair.append(self.as_value(yields[k][i]))
                finally:
                    self._builders.pop()
            try:
                dims = t.broadcast_dims(pair[0].dims, pair[1].dims)
            except t.ShapeError:
                raise self.error(
                    ShapeMismatch,
                    f"{results[i]!r} has shape {list(pair[0].dims)} in one branch and "
                    f"{list(pair[1].dims)} in the other",
                ) from None
            dtype = dtypes.to_torch(
                t.promote_pair(pair[0].type.element_type, pair[1].type.element_type)
            )
            for k, block in enumerate((then_block, else_block)):
                self._builders.append(Builder(InsertPoint.at_end(block)))
                try:
                    v = self.cast(pair[k], dtype)
                    if v.dims != dims:
                        v = self.binary("add", v, self.full_dims(dims, 0, dtype))
                    finals[k].append(v.value)
                finally:
                    self._builders.pop()
            types.append(t.BlockType(dims, dtypes.to_ir(dtype)))
        for k, block in enumerate((then_block, else_block)):
            self._builders.append(Builder(InsertPoint.at_end(block)))
            try:
                self.emit(t.YieldOp(finals[k]))
            finally:
                self._builders.pop()
        op = t.IfOp(cond.value, types, then_block, else_block)
        self.emit(op)
        for n in names:
            if n in results:
                self.ns[n] = TileValue(self, op.res[results.index(n)])
            elif n in then_vals and n in else_vals and then_vals[n] is else_vals[n]:
                self.ns[n] = then_vals[n]

    def _device_condition(self, test: ast.expr) -> bool:
        """Whether ``test`` is a device scalar, found by evaluating it into a block that is
        then dropped (a `while` on a device value re-evaluates it inside the loop)."""
        self._builders.append(Builder(InsertPoint.at_end(Block())))
        try:
            cond = self.eval(test)
        finally:
            self._builders.pop()
        return isinstance(cond, TileValue) and cond.ndim == 0

    def device_while(self, s: ast.While) -> None:
        """``while`` on a device scalar: a ``tile.while`` whose values carried from one
        iteration to the next are the names the body assigns that exist before the loop."""
        loop_names = _assigned_names(s.body)
        carried = [
            n
            for n in loop_names
            if n in self.ns and isinstance(self.ns[n], (TileValue, float, int))
            and not isinstance(self.ns[n], bool)
        ]  # fmt: skip
        inits = [self.as_value(self.ns[n]) for n in carried]
        before = dict(self.ns)
        types = [v.type for v in inits]
        cond_block, body_block = Block(arg_types=types), Block(arg_types=types)
        unrolling, self._unrolling = self._unrolling, 0  # a break here would leave this loop
        try:
            self._builders.append(Builder(InsertPoint.at_end(cond_block)))
            try:
                for n, a in zip(carried, cond_block.args):
                    self.ns[n] = TileValue(self, a)
                cond = self.eval(s.test)
                self._node = s
                if not (isinstance(cond, TileValue) and cond.ndim == 0):
                    raise self.error(
                        UnsupportedConstruct,
                        f"`while {ast.unparse(s.test)}:` changes from a device scalar to "
                        f"{_describe(cond)} inside the loop",
                    )
                if cond.dtype != torch.bool:
                    cond = self.binary("ne", cond, self.as_value(0))
                self.emit(t.YieldOp([cond.value]))
            finally:
                self._builders.pop()
            self._builders.append(Builder(InsertPoint.at_end(body_block)))
            try:
                for n, a in zip(carried, body_block.args):
                    self.ns[n] = TileValue(self, a)
                self.run_block(s.body)
                self._node = s
                outs = []
                for n, init in zip(carried, inits):
                    v = self.carried_value(n, init, f"{n!r} changes shape in the while loop")
                    outs.append(v.value)
                self.emit(t.YieldOp(outs))
            finally:
                self._builders.pop()
        finally:
            self._unrolling = unrolling
        op = t.WhileOp([v.value for v in inits], cond_block, body_block)
        self.emit(op)
        for n in loop_names:  # body-local names do not outlive the loop
            if n in carried:
                continue
            if n in before:
                self.ns[n] = before[n]
            else:
                self.ns.pop(n, None)
        for n, r in zip(carried, op.res):
            self.ns[n] = TileValue(self, r)

    def assign(self, target: ast.expr, value: Any) -> None:
        if isinstance(target, ast.Name):
            self.ns[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            values = list(value) if isinstance(value, (list, tuple, range)) else None
            if values is None or len(values) != len(target.elts):
                got = f"{len(values)} values" if values is not None else _describe(value)
                raise self.error(
                    UnsupportedConstruct,
                    f"cannot unpack {got} into {len(target.elts)} names "
                    f"({ast.unparse(target)}); device code unpacks tuples and lists only",
                )
            for sub, v in zip(target.elts, values):
                self.assign(sub, v)
        elif isinstance(target, ast.Subscript):
            obj = self.eval(target.value)
            idx = self.eval(target.slice)
            if isinstance(obj, TensorArg):
                self.store(obj, idx, value)
            else:
                raise self.error(UnsupportedConstruct, "only host tensors can be assigned into")
        else:
            what = {ast.Attribute: "an attribute", ast.Starred: "a starred name"}
            raise self.error(
                UnsupportedConstruct,
                f"assignment to {what.get(type(target), type(target).__name__)} "
                f"({ast.unparse(target)}) in device code; assign to a name or into a tensor",
            )

    def device_for(self, s: ast.For, parallel: bool) -> None:
        if s.orelse:
            raise self.error(UnsupportedConstruct, "for/else in device code")
        it = self.eval(s.iter)
        self._node = s
        if isinstance(it, (range, list, tuple)) and not isinstance(it, TileRequest):
            self._unrolling += 1
            try:
                for item in it:  # a loop over Python values is unrolled
                    self.assign(s.target, item)
                    try:
                        self.run_block(s.body)
                    except _LoopExit as leave:
                        if leave.kind == "break":
                            break
            finally:
                self._unrolling -= 1
            return
        if not isinstance(it, TileRequest):
            raise self.error(
                UnsupportedConstruct,
                "device loops iterate over kl.tile, kl.grid, kl.jagged_tile or a Python range",
            )
        if not it.dims:
            raise self.error(ShapeMismatch, "a tile loop over no dims (the size of a 0-d tensor?)")
        loop_vars = {n.id for n in ast.walk(s.target) if isinstance(n, ast.Name)}
        carried = [
            n
            for n in _assigned_names(s.body)
            if n not in loop_vars and n in self.ns and isinstance(self.ns[n], (TileValue, float, int))
            and not isinstance(self.ns[n], bool)
        ]  # fmt: skip
        inits = [self.as_value(self.ns[n]) for n in carried]
        handles: list[Any] = []

        def bind_and_run(args: list[TileValue]) -> list[TileValue]:
            bound: Any = handles if it.multi or len(handles) > 1 else handles[0]
            self.assign(s.target, bound)
            for n, v in zip(carried, args):
                self.ns[n] = v
            self.run_block(s.body)
            self._node = s
            outs = []
            for n, init in zip(carried, args):
                outs.append(self.carried_value(n, init, f"loop-carried {n!r} changes shape"))
            return outs

        before = {n: self.ns[n] for n in list(self.ns)}
        unrolling, self._unrolling = self._unrolling, 0  # a break here would leave this loop
        try:
            results = self._build_loops(it.dims, 0, inits, parallel, handles, bind_and_run)
        finally:
            self._unrolling = unrolling
        # Values defined inside the loop body live in its region: after the loop, a name the
        # body assigned is its loop result if carried, else its binding from before the loop.
        for n in set(_assigned_names(s.body)) | loop_vars:
            if n in carried:
                continue
            if n in before:
                self.ns[n] = before[n]
            else:
                self.ns.pop(n, None)
        for n, v in zip(carried, results):
            self.ns[n] = v

    def _build_loops(
        self,
        dims: list[TileDim],
        level: int,
        inits: list[TileValue],
        parallel: bool,
        handles: list[Any],
        body: Callable[[list[TileValue]], list[TileValue]],
    ) -> list[TileValue]:
        """Nest one tile.for per dim; returns the outermost loop's results."""
        d = dims[level]
        op = t.ForOp(d.lb.value, d.ub.value, d.block, d.kind, [v.value for v in inits], parallel)
        self.emit(op)
        self._builders.append(Builder(InsertPoint.at_end(op.body.block)))
        try:
            handle = TileHandle(self, op.tile, d.block)
            if d.step is not None:
                handles.append(position(self, d.origin, handle.begin, d.step))
            else:
                handles.append(handle.begin if d.kind == "grid" else handle)
            args = [TileValue(self, a) for a in op.body.block.args[1:]]
            if level + 1 < len(dims):
                outs = self._build_loops(dims, level + 1, args, parallel, handles, body)
            else:
                outs = body(args)
            self.emit(t.YieldOp([v.value for v in outs]))
        finally:
            self._builders.pop()
        return [TileValue(self, r) for r in op.res]


def trace_loop(**kwargs: Any) -> ModuleOp:
    return DeviceTracer(**kwargs).trace()


__all__ = ["BlockAllocator", "DeviceTracer", "trace_loop"]
