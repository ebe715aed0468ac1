"""The `tile` dialect: tile-level kernels with symbolically shaped values.

Shapes are lists of *dims*. A dim is a string: a decimal integer for a static size, or a symbol
for a size known only at run time. Two kinds of symbols exist:

* block symbols (``block_0``, ``block_1``, ...) name tunable block sizes; a ``tile.for`` steps
  by one, and the values it indexes carry that symbol as a dim;
* size symbols (``s0``, ``s1``, ...) name runtime sizes of the kernel's tensor arguments; two
  tensor dims carry the same symbol exactly when they are the same size (the frontend
  specializes on that equality).

Types:

* ``!tile.tensor<[s0, s1], f32>``  a tensor in global memory (a kernel argument);
* ``!tile.block<[block_0, s1], f32>``  a value held in registers, the unit of computation;
  ``!tile.block<[], f32>`` is a scalar; ``!tile.block<?>`` is a not-yet-inferred type that the
  ``shape-inference`` pass fills in;
* ``!tile.tile<block_0>``  the induction variable of a ``tile.for``: one tile of an iteration
  space.

Every op's result type is a function of its operands and properties (``infer_type`` below), so
a verifier and the shape-inference pass share one definition of the typing rules.
"""

from __future__ import annotations

import re
from abc import ABC
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from xdsl.dialects.builtin import (
    ArrayAttr,
    BFloat16Type,
    DenseArrayBase,
    DictionaryAttr,
    Float8E4M3FNType,
    Float8E5M2Type,
    Float16Type,
    Float32Type,
    Float64Type,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    Signedness,
    StringAttr,
    UnitAttr,
    i64,
)
from xdsl.ir import (
    Attribute,
    Block,
    Dialect,
    Operation,
    ParametrizedAttribute,
    Region,
    SSAValue,
    TypeAttribute,
)
from xdsl.irdl import (
    AttrSizedOperandSegments,
    IRDLOperation,
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.parser import AttrParser, Parser
from xdsl.printer import Printer
from xdsl.traits import IsTerminator, NoTerminator, Pure, SymbolOpInterface
from xdsl.utils.exceptions import VerifyException

# --------------------------------------------------------------------------------------------
# Element types
# --------------------------------------------------------------------------------------------

i1 = IntegerType(1)
i8 = IntegerType(8)
u8 = IntegerType(8, Signedness.UNSIGNED)
i16 = IntegerType(16)
i32 = IntegerType(32)
bf16 = BFloat16Type()
f16 = Float16Type()
f32 = Float32Type()
f64 = Float64Type()
f8e4m3 = Float8E4M3FNType()  # torch.float8_e4m3fn
f8e5m2 = Float8E5M2Type()  # torch.float8_e5m2

FLOAT_TYPES = (f8e4m3, f8e5m2, f16, bf16, f32, f64)
INT_TYPES = (i8, u8, i16, i32, i64)


def is_float(t: Attribute) -> bool:
    return t in FLOAT_TYPES


def is_bool(t: Attribute) -> bool:
    return t == i1


def is_int(t: Attribute) -> bool:
    return t in INT_TYPES


def int_range(dtype: Attribute) -> tuple[int, int]:
    """The lowest and highest value of an integer element type: a bool holds 0 and 1, an
    unsigned type 0 to 2^w - 1, a signed or signless one -2^(w-1) to 2^(w-1) - 1, ``index``
    that of 64 bits."""
    if dtype == i1:
        return 0, 1
    bits = dtype.width.data if isinstance(dtype, IntegerType) else 64
    if isinstance(dtype, IntegerType) and dtype.signedness.data == Signedness.UNSIGNED:
        return 0, (1 << bits) - 1
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def next_pow2(n: int) -> int:
    """The smallest power of two >= n (1 for n <= 1): a dim's register extent, since a block's
    dims are powers of two (Triton's ``tl.arange`` needs them)."""
    return 1 if n <= 1 else 1 << (n - 1).bit_length()


class ShapeError(VerifyException):
    """A typing rule failed: mismatched dims, bad reduction axis, wrong dtype."""


# --------------------------------------------------------------------------------------------
# Types
# --------------------------------------------------------------------------------------------

Dims = tuple[str, ...]


def _parse_dims(parser: AttrParser) -> list[str]:
    from xdsl.parser import BaseParser

    def one() -> str:
        value = parser.parse_optional_integer()
        if value is not None:
            return str(value)
        name = parser.parse_optional_identifier()  # parse_identifier's message argument
        if name is None:  # changed between xDSL releases; this form reads the same on all
            parser.raise_error("expected dim: an integer or a symbol")
        return name

    return parser.parse_comma_separated_list(BaseParser.Delimiter.SQUARE, one)


def _print_dims(printer: Printer, dims: Sequence[str]) -> None:
    printer.print_string("[" + ", ".join(dims) + "]")


def dims_attr(dims: Sequence[str | int]) -> ArrayAttr[StringAttr]:
    """A shape as the dialect stores it: one string per dim (a symbol, or an int's digits)."""
    return ArrayAttr([StringAttr(str(d)) for d in dims])


@dataclass(frozen=True, init=False)
class DimsType(ParametrizedAttribute, TypeAttribute, ABC):
    """Base of the types with symbolic dims and an element type, ``<[dims], type>``
    (``!tile.tensor``, ``!tile.block``): the parameters, the builder, ``dims`` and the
    parameters' syntax are theirs in common.

    A dataclass, as xDSL's own abstract attribute bases are (``UnregisteredAttr``), so that
    the parameters declared here are fields of each type: its equality and hash compare
    them."""

    shape: ArrayAttr[StringAttr]
    element_type: Attribute

    def __init__(self, dims: Sequence[str | int], element_type: Attribute):
        super().__init__(dims_attr(dims), element_type)

    @property
    def dims(self) -> Dims:
        return tuple(d.data for d in self.shape.data)

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        parser.parse_punctuation("<")
        return cls.parse_dims_and_type(parser)

    @staticmethod
    def parse_dims_and_type(parser: AttrParser) -> tuple[Attribute, Attribute]:
        """``[dims], type>``: the parameters after the opening ``<``."""
        dims = _parse_dims(parser)
        parser.parse_punctuation(",")
        elt = parser.parse_type()
        parser.parse_punctuation(">")
        return (dims_attr(dims), elt)

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string("<")
        _print_dims(printer, self.dims)
        printer.print_string(", ")
        printer.print_attribute(self.element_type)
        printer.print_string(">")


@irdl_attr_definition
class TensorType(DimsType):
    """A tensor in global memory, passed to the kernel by pointer, sizes and strides."""

    name = "tile.tensor"


@irdl_attr_definition
class BlockType(DimsType):
    """A register-resident tile value; ``known`` is false for ``!tile.block<?>``."""

    name = "tile.block"

    @staticmethod
    def unknown() -> BlockType:
        return BlockType(["?"], i1)

    @property
    def known(self) -> bool:
        return self.dims != ("?",)

    @property
    def rank(self) -> int:
        return len(self.dims)

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        parser.parse_punctuation("<")
        if parser.parse_optional_punctuation("?") is not None:
            parser.parse_punctuation(">")
            return (dims_attr(["?"]), i1)
        return cls.parse_dims_and_type(parser)

    def print_parameters(self, printer: Printer) -> None:
        if not self.known:
            printer.print_string("<?>")
            return
        super().print_parameters(printer)


@irdl_attr_definition
class TileType(ParametrizedAttribute, TypeAttribute):
    """One tile of a ``tile.for`` iteration space; its dim is the loop's block symbol."""

    name = "tile.tile"

    block: StringAttr

    def __init__(self, block: str):
        super().__init__(StringAttr(block))

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        parser.parse_punctuation("<")
        value = parser.parse_optional_integer()
        name = str(value) if value is not None else parser.parse_identifier()
        parser.parse_punctuation(">")
        return (StringAttr(name),)

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string(f"<{self.block.data}>")


def block_of(value: SSAValue) -> BlockType:
    t = value.type
    if not isinstance(t, BlockType):
        raise ShapeError(f"expected a !tile.block value, got {t}")
    if not t.known:
        raise ShapeError("operand type not inferred yet (run shape-inference first)")
    return t


# --------------------------------------------------------------------------------------------
# Typing rules shared by verifiers, the frontend and the shape-inference pass
# --------------------------------------------------------------------------------------------

_FLOAT_RANK = {f8e4m3: 0, f8e5m2: 0, f16: 1, bf16: 1, f32: 2, f64: 3}
_INT_RANK = {i1: 0, u8: 1, i8: 1, i16: 2, i32: 3, i64: 4}


def _category(t: Attribute) -> int:
    return 2 if is_float(t) else (0 if is_bool(t) else 1)


def promote_pair(a: Attribute, b: Attribute) -> Attribute:
    """torch.promote_types on element types."""
    if a == b:
        return a
    ca, cb = _category(a), _category(b)
    if ca != cb:
        return a if ca > cb else b
    if ca == 2:
        if {a, b} == {f16, bf16}:
            return f32
        return a if _FLOAT_RANK[a] > _FLOAT_RANK[b] else b
    if {a, b} == {u8, i8}:
        return i16
    return a if _INT_RANK[a] > _INT_RANK[b] else b


def result_dtype(types: Sequence[BlockType]) -> Attribute:
    """torch.result_type for tensors: dimensioned operands outrank 0-d ones in a category.

    A 0-d value (a host scalar, a tile attribute) of a higher category still decides the
    category; then float32 is used when it is a float, as for a Python float in torch.
    """
    top = max(_category(t.element_type) for t in types)
    ranked = [t.element_type for t in types if t.rank > 0 and _category(t.element_type) == top]
    if ranked:
        out = ranked[0]
        for t in ranked[1:]:
            out = promote_pair(out, t)
        return out
    zero_d = [t.element_type for t in types if _category(t.element_type) == top]
    if any(t.rank > 0 for t in types):
        # Category raised by a scalar only: torch uses the default dtype of that category.
        return f32 if top == 2 else zero_d[0]
    out = zero_d[0]
    for t in zero_d[1:]:
        out = promote_pair(out, t)
    return out


def same_size(a: str, b: str, fixed: Mapping[str, int]) -> bool:
    """Whether dims ``a`` and ``b`` are one size: equal strings, or a static int and a size
    symbol that ``fixed`` (``fixed_size_symbols``) pins to that int."""
    if a == b:
        return True
    va = int(a) if a.isdigit() else fixed.get(a)
    vb = int(b) if b.isdigit() else fixed.get(b)
    return va is not None and va == vb


def same_dims(a: Dims, b: Dims, fixed: Mapping[str, int]) -> bool:
    """Whether two shapes are the same dim by dim (``same_size``): a value that needs no
    broadcast to be stored or combined as the other."""
    return len(a) == len(b) and all(same_size(x, y, fixed) for x, y in zip(a, b))


_SIZE_SYMBOL = re.compile(r"s\d+")


def _symbol_hint(a: str, b: str) -> str:
    """Why a static size and a size symbol differ, where that is the mismatch: the symbol is
    a run-time size (one compiled variant serves many values), so equal values at this call
    do not make them one dim."""
    pair = {a.isdigit(), b.isdigit()}
    symbol = b if a.isdigit() else a
    if pair != {True, False} or not _SIZE_SYMBOL.fullmatch(symbol):
        return ""
    return (
        f" ({symbol} is a size known only at run time; kl.specialize of that size, or "
        "static_shapes=True, makes it static)"
    )


def broadcast_dims(*shapes: Dims, fixed: Callable[[], Mapping[str, int]] | None = None) -> Dims:
    """NumPy/torch broadcasting on symbolic dims: equal symbols match, "1" stretches. With
    ``fixed`` (called only on a mismatch: the enclosing kernel's ``fixed_size_symbols``) a
    static int and a size symbol pinned to it match too, and the first of them is kept: a
    ``kl.arange(16)`` against a dim of a tensor whose size the specialization fixes at 16."""
    rank = max((len(s) for s in shapes), default=0)
    out: list[str] = []
    pinned: Mapping[str, int] | None = None
    for i in range(rank):
        dim = "1"
        for s in shapes:
            k = i - (rank - len(s))
            if k < 0:
                continue
            d = s[k]
            if d == "1":
                continue
            if dim == "1":
                dim = d
            elif d != dim:
                if fixed is not None:
                    pinned = fixed() if pinned is None else pinned
                    if same_size(dim, d, pinned):
                        continue
                raise ShapeError(
                    f"shapes {[list(x) for x in shapes]} do not broadcast: dim {dim} vs {d}"
                    + _symbol_hint(dim, d)
                )
        out.append(dim)
    return tuple(out)


BINARY_ARITH = ("add", "sub", "mul", "div", "floordiv", "mod", "pow", "maximum", "minimum")
BINARY_BITWISE = ("and", "or", "xor")
BINARY_SHIFT = ("shl", "shr")  # integers only; ``shr`` is arithmetic on signed ints, as torch's
BINARY_COMPARE = ("lt", "le", "gt", "ge", "eq", "ne")
UNARY_FLOAT = (
    "exp", "exp2", "log", "log2", "sqrt", "rsqrt", "sigmoid", "tanh", "sin", "cos", "erf",
    "floor", "ceil", "log1p", "expm1",
)  # fmt: skip
UNARY_ANY = ("neg", "abs", "not")
REDUCE_KINDS = ("sum", "max", "min", "prod", "argmax", "argmin")


def normalize_dim(dim: int, rank: int) -> int:
    if not -rank <= dim < max(rank, 1):
        raise ShapeError(f"dim {dim} out of range for a value of rank {rank}")
    return dim % rank if rank else 0


# --------------------------------------------------------------------------------------------
# Ops
# --------------------------------------------------------------------------------------------


class TileOp(IRDLOperation):
    """Base of ops whose single result type follows from ``infer_type``."""

    def infer_type(self) -> Attribute:  # pragma: no cover - overridden
        raise NotImplementedError

    def verify_(self) -> None:
        if not self.results:
            return
        result = self.results[0]
        if isinstance(result.type, BlockType) and not result.type.known:
            return
        if any(isinstance(o.type, BlockType) and not o.type.known for o in self.operands):
            return
        expected = self.infer_type()
        if result.type != expected:
            raise ShapeError(f"result type {result.type} does not match inferred {expected}")


# --------------------------------------------------------------------------------------------
# Custom syntax of the region ops (tile.kernel, tile.for)
# --------------------------------------------------------------------------------------------

_SSA_NAME = re.compile(r"[A-Za-z_$.-][A-Za-z0-9_$.-]*")
_SCALAR_I64 = BlockType([], i64)


def _print_word(printer: Printer, word: str) -> None:
    """A symbol or keyword-like value: bare when it lexes back unchanged, else quoted."""
    if word.isdigit() and str(int(word)) == word:
        printer.print_string(word)
    else:
        printer.print_identifier_or_string_literal(word)


def _parse_word(parser: Parser, what: str) -> str:
    value = parser.parse_optional_integer(allow_boolean=False, allow_negative=False)
    if value is not None:
        return str(value)
    return parser.parse_identifier_or_str_literal(f" ({what})")


@irdl_op_definition
class KernelOp(IRDLOperation):
    """A device kernel: one launch. Block arguments are the tensors and scalars it reads."""

    name = "tile.kernel"

    sym_name = prop_def(StringAttr)
    arg_names = prop_def(ArrayAttr[StringAttr])
    body = region_def("single_block")

    traits = traits_def(SymbolOpInterface(), NoTerminator())

    def __init__(self, name: str, arg_names: Sequence[str], arg_types: Sequence[Attribute]):
        super().__init__(
            properties={
                "sym_name": StringAttr(name),
                "arg_names": ArrayAttr([StringAttr(n) for n in arg_names]),
            },
            regions=[Region(Block(arg_types=arg_types))],
        )

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(a.data for a in self.arg_names.data)

    @property
    def size_hints(self) -> dict[str, int]:
        """Size symbol -> the value it had when traced (for defaults and register extents)."""
        return self._int_dict("size_hints")

    @property
    def size_divisors(self) -> dict[str, int]:
        """Size symbol -> a power of two that divides its value in every launch of this code.

        Like Triton's ``tt.divisibility``, a promise the caller keeps (the runtime makes it
        part of the specialization key); a loop whose block size divides its extent needs no
        bounds mask. A symbol absent here promises nothing."""
        return self._int_dict("size_divisors")

    @property
    def broadcast_args(self) -> tuple[str, ...]:
        """Tensor arguments with a stride-0 dim of more than one element (an ``expand()``ed
        tensor), part of the specialization key: a tensor descriptor cannot address them, so
        a launch reading one through a descriptor runs the pointer kernel."""
        return self._name_list("broadcast_args")

    @property
    def strided_args(self) -> tuple[str, ...]:
        """Tensor arguments whose last dim's stride is not 1 (a transposed or column-major
        view, a stepped slice), part of the specialization key: a tensor descriptor needs a
        unit last stride, so a launch reading one through a descriptor runs the pointer
        kernel."""
        return self._name_list("strided_args")

    @property
    def block_values(self) -> dict[str, int]:
        """Block symbol -> its size in every launch of this code, for the blocks the host code
        fixed (``kl.register_block_size`` values are part of the specialization)."""
        return self._int_dict("block_values")

    @property
    def slice_widths(self) -> dict[str, tuple[str, str, str, str]]:
        """Width symbol -> ``(bound, start, stop, step)``: a size known only at run time, the
        number of positions of ``start:stop:step`` within a tensor dim of size ``bound``,
        ``max(0, ceil((min(stop, bound) - start) / step))`` (each entry an int or a size
        symbol; ``step`` a positive int). The launcher computes it; its register extent is
        ``bound``'s (its size hint is ``bound``'s), so it holds every width the clamp allows in
        any launch of this code, whose key fixes ``bound``'s power-of-two bucket."""
        attr = self.attributes.get("slice_widths")
        if not isinstance(attr, DictionaryAttr):
            return {}
        out: dict[str, tuple[str, str, str, str]] = {}
        for k, v in attr.data.items():
            items = v.data if isinstance(v, ArrayAttr) else ()
            words = tuple(x.data for x in items if isinstance(x, StringAttr))
            out[k] = words if len(words) == 4 else ("", "", "", "")  # type: ignore[assignment]
        return out

    def _verify_slice_widths(self) -> None:
        hints = self.size_hints
        for w, (bound, start, stop, step) in self.slice_widths.items():
            if not bound:
                raise VerifyException(
                    f"tile.kernel: slice_widths[{w}] must be [bound, start, stop, step] strings"
                )
            for what, d in (("bound", bound), ("start", start), ("stop", stop)):
                if not (d.isdigit() or d in hints) or d == w or d in self.slice_widths:
                    raise VerifyException(
                        f"tile.kernel: slice_widths[{w}]: {what} {d!r} is neither an int nor a "
                        "size symbol of size_hints"
                    )
            if not step.isdigit() or int(step) < 1:
                raise VerifyException(
                    f"tile.kernel: slice_widths[{w}]: step {step!r} is not a positive int"
                )
            if hints.get(w) != (int(bound) if bound.isdigit() else hints[bound]):
                raise VerifyException(
                    f"tile.kernel: slice_widths[{w}]: its size hint must be its bound's "
                    "(its register extent)"
                )
            if w in self.size_divisors:
                raise VerifyException(
                    f"tile.kernel: slice_widths[{w}] has a size divisor; a width known only "
                    "at run time promises none"
                )

    def _name_list(self, name: str) -> tuple[str, ...]:
        attr = self.attributes.get(name)
        if not isinstance(attr, ArrayAttr):
            return ()
        return tuple(a.data for a in attr.data if isinstance(a, StringAttr))

    def _int_dict(self, name: str) -> dict[str, int]:
        attr = self.attributes.get(name)
        if not isinstance(attr, DictionaryAttr):
            return {}
        return {k: v.value.data for k, v in attr.data.items() if isinstance(v, IntegerAttr)}

    def parallel_nest(self) -> list[ForOp]:
        """The nest of parallel loops that becomes the launch grid, outermost first."""
        nest: list[ForOp] = []
        ops = list(self.body.block.ops)
        while loops := [op for op in ops if isinstance(op, ForOp) and op.parallel is not None]:
            if len(loops) > 1:
                raise VerifyException("a kernel has one nest of parallel loops")
            nest.append(loops[0])
            ops = list(loops[0].body.block.ops)
        return nest

    def verify_(self) -> None:
        if len(self.names) != len(self.body.block.args):
            raise VerifyException("tile.kernel: arg_names must name every block argument")
        for k, v in self.size_divisors.items():
            if v < 1 or v & (v - 1):
                raise VerifyException(
                    f"tile.kernel: size_divisors[{k}] = {v} is not a power of two"
                )
        self._verify_slice_widths()

    # Syntax: tile.kernel @name(%x: type, ...) attributes {...} { body }
    # A block argument's SSA name is its entry of arg_names; `%0: type {name = "x"}` spells
    # a name that cannot be an SSA name (or that another value of the scope already took).
    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_symbol_name(self.sym_name.data)
        names = self.names
        args = self.body.block.args if self.body.blocks else ()

        def print_arg(i: int) -> None:
            arg = args[i]
            name = names[i] if i < len(names) else None
            if name is not None and _SSA_NAME.fullmatch(name):
                arg.name_hint = name  # so the printer spells the SSA value as the argument
            shown = printer.print_ssa_value(arg)
            printer.print_string(": ")
            printer.print_attribute(arg.type)
            if name is not None and shown != name:
                printer.print_string(" {name = ")
                printer.print_string_literal(name)
                printer.print_string("}")

        with printer.in_parens():
            printer.print_list(range(len(args)), print_arg)
        printer.print_op_attributes(self.attributes, print_keyword=True)
        printer.print_string(" ")
        printer.print_region(self.body, print_entry_block_args=False, print_empty_block=False)

    @classmethod
    def parse(cls, parser: Parser) -> KernelOp:
        sym_name = parser.parse_symbol_name()
        names: list[str] = []

        def parse_arg() -> Parser.Argument:
            start = parser.pos
            arg = parser.parse_argument()
            attrs_start = parser.pos
            extra = parser.parse_optional_attr_dict()
            name = extra.pop("name", None)
            if extra:
                parser.raise_error(
                    f"unknown kernel argument attribute(s) {sorted(extra)}", attrs_start, parser.pos
                )
            if name is None:
                name = arg.name.text[1:]
                if not _SSA_NAME.fullmatch(name):
                    parser.raise_error(
                        f"kernel argument {arg.name.text} needs a name: {arg.name.text}: "
                        f'<type> {{name = "x"}}',
                        start,
                        parser.pos,
                    )
            elif not isinstance(name, StringAttr):
                parser.raise_error("kernel argument name must be a string", start, parser.pos)
            else:
                name = name.data
            names.append(name)
            return arg

        args = parser.parse_comma_separated_list(
            Parser.Delimiter.PAREN, parse_arg, " in tile.kernel arguments"
        )
        attrs = parser.parse_optional_attr_dict_with_keyword()
        body = parser.parse_region(args)
        return cls.create(
            properties={
                "sym_name": sym_name,
                "arg_names": ArrayAttr([StringAttr(n) for n in names]),
            },
            attributes=dict(attrs.data) if attrs is not None else {},
            regions=[body],
        )


@irdl_op_definition
class ForOp(IRDLOperation):
    """A loop over tiles of ``[lb, ub)`` stepping by the block symbol ``block``.

    ``kind`` is ``tile`` (step = block size), ``grid`` (step 1, the tile is one index) or
    ``jagged`` (``ub`` is a per-row bound of the enclosing tile; the loop runs to its max and
    masks each row). ``parallel`` loops become launch-grid dimensions. Loop-carried values
    are ``iter_args``, yielded by ``tile.yield``, and returned as results.
    """

    name = "tile.for"

    lb = operand_def(BlockType)
    ub = operand_def(BlockType)
    iter_args = var_operand_def(BlockType)
    res = var_result_def(BlockType)

    block = prop_def(StringAttr)
    kind = prop_def(StringAttr)
    parallel = opt_prop_def(UnitAttr)

    body = region_def("single_block")

    def __init__(
        self,
        lb: SSAValue,
        ub: SSAValue,
        block: str,
        kind: str,
        iter_args: Sequence[SSAValue] = (),
        parallel: bool = False,
    ):
        arg_types = [TileType(block)] + [a.type for a in iter_args]
        super().__init__(
            operands=[lb, ub, iter_args],
            result_types=[[a.type for a in iter_args]],
            properties={
                "block": StringAttr(block),
                "kind": StringAttr(kind),
                "parallel": UnitAttr() if parallel else None,
            },
            regions=[Region(Block(arg_types=arg_types))],
        )

    @property
    def tile(self) -> SSAValue:
        return self.body.block.args[0]

    def verify_(self) -> None:
        if self.kind.data not in ("tile", "grid", "jagged"):
            raise VerifyException(f"tile.for: unknown kind {self.kind.data!r}")
        args = self.body.block.args
        if not args or args[0].type != TileType(self.block.data):
            raise VerifyException("tile.for: first block argument must be !tile.tile<block>")
        if len(args) - 1 != len(self.iter_args) or len(self.res) != len(self.iter_args):
            raise VerifyException("tile.for: iter_args, block args and results must match")
        for a, b in zip(self.iter_args, args[1:]):
            if a.type != b.type:
                raise VerifyException(f"tile.for: iter_arg type {a.type} != block arg {b.type}")
        last = self.body.block.last_op
        if not isinstance(last, YieldOp):
            raise VerifyException("tile.for: body must end in tile.yield")
        if [v.type for v in last.values] != [r.type for r in self.res]:
            raise VerifyException("tile.for: yielded types must match the results")

    # Syntax (types of the bounds shown only when not !tile.block<[], i64>; the trailing
    # `tile.yield` is left out when it carries nothing, and parse puts it back):
    #   %r = tile.for %t = %lb to %ub [: lb-type, ub-type] block block_0 kind tile [parallel]
    #          [iter_args(%acc = %init, ...) -> (types)] [attributes {...}] { body }
    # Results have the types of the loop-carried values; `-> (types) results (types)` spells
    # results of other types (which only a malformed loop has).
    def print(self, printer: Printer) -> None:
        args = self.body.block.args if self.body.blocks else ()
        printer.print_string(" ")
        if args:
            printer.print_ssa_value(args[0])
            printer.print_string(" = ")
        printer.print_ssa_value(self.lb)
        printer.print_string(" to ")
        printer.print_ssa_value(self.ub)
        if self.lb.type != _SCALAR_I64 or self.ub.type != _SCALAR_I64:
            printer.print_string(" : ")
            printer.print_attribute(self.lb.type)
            printer.print_string(", ")
            printer.print_attribute(self.ub.type)
        printer.print_string(" block ")
        _print_word(printer, self.block.data)
        printer.print_string(" kind ")
        _print_word(printer, self.kind.data)
        if self.parallel is not None:
            printer.print_string(" parallel")
        carried = args[1:]
        if self.iter_args or carried:

            def print_pair(pair: tuple[SSAValue, SSAValue]) -> None:
                printer.print_ssa_value(pair[0])
                printer.print_string(" = ")
                printer.print_ssa_value(pair[1])

            printer.print_string(" iter_args(")
            printer.print_list(zip(carried, self.iter_args), print_pair)
            printer.print_string(") -> (")
            printer.print_list([a.type for a in carried], printer.print_attribute)
            printer.print_string(")")
            if [r.type for r in self.res] != [a.type for a in carried]:
                printer.print_string(" results (")
                printer.print_list([r.type for r in self.res], printer.print_attribute)
                printer.print_string(")")
        printer.print_op_attributes(self.attributes, print_keyword=True)
        printer.print_string(" ")
        printer.print_region(
            self.body,
            print_entry_block_args=False,
            print_empty_block=False,
            print_block_terminators=not self._implicit_yield(),
        )

    def _implicit_yield(self) -> bool:
        """Whether the body's only terminator is a trailing, empty, attribute-free yield."""
        if not self.body.blocks:
            return False
        block = self.body.block
        last = block.last_op
        terminators = [op for op in block.ops if op.has_trait(IsTerminator)]
        return (
            isinstance(last, YieldOp)
            and terminators == [last]
            and not last.operands
            and not last.attributes
        )

    @classmethod
    def parse(cls, parser: Parser) -> ForOp:
        tile_arg = parser.parse_argument(expect_type=False)
        parser.parse_punctuation("=")
        lb = parser.parse_unresolved_operand()
        parser.parse_keyword("to")
        ub = parser.parse_unresolved_operand()
        lb_type = ub_type = _SCALAR_I64
        if parser.parse_optional_punctuation(":") is not None:
            lb_type = parser.parse_type()
            parser.parse_punctuation(",")
            ub_type = parser.parse_type()
        parser.parse_keyword("block")
        block = _parse_word(parser, "the loop's block symbol")
        parser.parse_keyword("kind")
        kind = _parse_word(parser, "tile, grid or jagged")
        parallel = parser.parse_optional_keyword("parallel") is not None

        carried: list[Parser.UnresolvedArgument] = []
        inits: list[SSAValue] = []
        types: list[Attribute] = []
        result_types: list[Attribute] | None = None
        if parser.parse_optional_keyword("iter_args") is not None:

            def parse_pair() -> tuple[Parser.UnresolvedArgument, object]:
                arg = parser.parse_argument(expect_type=False)
                parser.parse_punctuation("=")
                return arg, parser.parse_unresolved_operand()

            pos = parser.pos
            pairs = parser.parse_comma_separated_list(Parser.Delimiter.PAREN, parse_pair)
            parser.parse_punctuation("->")
            types = parser.parse_comma_separated_list(Parser.Delimiter.PAREN, parser.parse_type)
            carried = [a for a, _ in pairs]
            inits = parser.resolve_operands([o for _, o in pairs], types, pos)  # type: ignore[arg-type]
            if parser.parse_optional_keyword("results") is not None:
                result_types = parser.parse_comma_separated_list(
                    Parser.Delimiter.PAREN, parser.parse_type
                )
        attrs = parser.parse_optional_attr_dict_with_keyword()
        bounds = [parser.resolve_operand(lb, lb_type), parser.resolve_operand(ub, ub_type)]
        block_args = [tile_arg.resolve(TileType(block))]
        block_args += [a.resolve(ty) for a, ty in zip(carried, types)]
        body = parser.parse_region(block_args)
        last = body.block.last_op
        if not isinstance(last, YieldOp):
            body.block.add_op(YieldOp())
        return cls.create(
            operands=[*bounds, *inits],
            result_types=types if result_types is None else result_types,
            properties={
                "block": StringAttr(block),
                "kind": StringAttr(kind),
                **({"parallel": UnitAttr()} if parallel else {}),
            },
            attributes=dict(attrs.data) if attrs is not None else {},
            regions=[body],
        )


@irdl_op_definition
class IfOp(IRDLOperation):
    """``if cond: ... else: ...`` on a device scalar (a loaded value, a reduction result):
    runs one of two regions. Values assigned in the branches and used after them are the
    results, yielded by each region's ``tile.yield`` (same types in both)."""

    name = "tile.if"

    cond = operand_def(BlockType)
    res = var_result_def(BlockType)
    then_region = region_def("single_block")
    else_region = region_def("single_block")
    assembly_format = (
        "$cond attr-dict `:` type($cond) (`->` `(` type($res)^ `)`)? $then_region `else`"
        " $else_region"
    )

    def __init__(
        self, cond: SSAValue, result_types: Sequence[Attribute], then: Block, orelse: Block
    ):
        super().__init__(
            operands=[cond],
            result_types=[list(result_types)],
            regions=[Region(then), Region(orelse)],
        )

    def verify_(self) -> None:
        c = self.cond.type
        if isinstance(c, BlockType) and c.known and (c.rank != 0 or not is_bool(c.element_type)):
            raise ShapeError(f"tile.if: the condition must be a bool scalar, got {c}")
        for region, which in ((self.then_region, "then"), (self.else_region, "else")):
            last = region.block.last_op
            if not isinstance(last, YieldOp):
                raise ShapeError(f"tile.if: the {which} region must end in tile.yield")
            if [v.type for v in last.values] != [r.type for r in self.res]:
                raise ShapeError(f"tile.if: the {which} region yields types other than the results")


@irdl_op_definition
class WhileOp(IRDLOperation):
    """``while cond:`` on a device scalar. ``cond_region`` computes the condition from the
    loop-carried values (its block's arguments) and yields one bool scalar; ``body_region``
    takes the same values and yields their next ones. The results are the values after the
    last iteration (the inits when the condition is false at once)."""

    name = "tile.while"

    inits = var_operand_def(BlockType)
    res = var_result_def(BlockType)
    cond_region = region_def("single_block")
    body_region = region_def("single_block")
    assembly_format = (
        "(`(` $inits^ `:` type($inits) `)`)? (`->` `(` type($res)^ `)`)? attr-dict `cond`"
        " $cond_region `do` $body_region"
    )

    def __init__(self, inits: Sequence[SSAValue], cond: Block, body: Block):
        super().__init__(
            operands=[inits],
            result_types=[[v.type for v in inits]],
            regions=[Region(cond), Region(body)],
        )

    def verify_(self) -> None:
        types = [r.type for r in self.res]
        if [v.type for v in self.inits] != types:
            raise ShapeError("tile.while: results must have the types of the inits")
        for region, which in ((self.cond_region, "cond"), (self.body_region, "body")):
            if [a.type for a in region.block.args] != types:
                raise ShapeError(f"tile.while: the {which} region takes the carried values")
            last = region.block.last_op
            if not isinstance(last, YieldOp):
                raise ShapeError(f"tile.while: the {which} region must end in tile.yield")
        cond = [v.type for v in self.cond_region.block.last_op.values]  # type: ignore[union-attr]
        if cond != [BlockType([], i1)]:
            raise ShapeError("tile.while: the cond region yields one bool scalar")
        body = [v.type for v in self.body_region.block.last_op.values]  # type: ignore[union-attr]
        if body != types:
            raise ShapeError("tile.while: the body region yields the carried values' types")


@irdl_op_definition
class YieldOp(IRDLOperation):
    name = "tile.yield"

    values = var_operand_def(BlockType)
    traits = traits_def(IsTerminator())
    assembly_format = "($values^ `:` type($values))? attr-dict"

    def __init__(self, values: Sequence[SSAValue] = ()):
        super().__init__(operands=[values])


@irdl_op_definition
class TileIndexOp(TileOp):
    """The indices covered by a tile, ``tile.index`` in the language: a 1-D block of i64."""

    name = "tile.index"

    tile = operand_def(TileType)
    result = result_def(BlockType)
    traits = traits_def(Pure())
    assembly_format = "$tile attr-dict `:` type($tile) `->` type($result)"

    def __init__(self, tile: SSAValue):
        super().__init__(operands=[tile], result_types=[BlockType.unknown()])

    def infer_type(self) -> Attribute:
        t = self.tile.type
        assert isinstance(t, TileType)
        return BlockType([t.block.data], i64)


@irdl_op_definition
class TileAttrOp(TileOp):
    """A scalar attribute of a tile: ``begin``, ``end``, ``id`` or ``block_size``."""

    name = "tile.tile_attr"

    tile = operand_def(TileType)
    attr = prop_def(StringAttr)
    result = result_def(BlockType)
    traits = traits_def(Pure())
    assembly_format = "$attr $tile attr-dict `:` type($tile) `->` type($result)"

    def __init__(self, tile: SSAValue, attr: str):
        super().__init__(
            operands=[tile], properties={"attr": StringAttr(attr)},
            result_types=[BlockType.unknown()],
        )  # fmt: skip

    def infer_type(self) -> Attribute:
        if self.attr.data not in ("begin", "end", "id", "block_size"):
            raise ShapeError(f"unknown tile attribute {self.attr.data!r}")
        return BlockType([], i64)


@irdl_op_definition
class SizeOp(TileOp):
    """The runtime value of a size symbol (a dim of a tensor argument)."""

    name = "tile.size"

    sym = prop_def(StringAttr)
    result = result_def(BlockType)
    traits = traits_def(Pure())
    assembly_format = "$sym attr-dict `:` type($result)"

    def __init__(self, sym: str):
        super().__init__(properties={"sym": StringAttr(sym)}, result_types=[BlockType.unknown()])

    def infer_type(self) -> Attribute:
        return BlockType([], i64)


@irdl_op_definition
class ConstantOp(TileOp):
    """A scalar constant (a Python literal in the kernel body)."""

    name = "tile.constant"

    value = prop_def(Attribute)
    result = result_def(BlockType)
    traits = traits_def(Pure())
    assembly_format = "$value attr-dict `:` type($result)"

    def __init__(self, value: IntegerAttr | FloatAttr):
        super().__init__(properties={"value": value}, result_types=[BlockType.unknown()])

    def infer_type(self) -> Attribute:
        v = self.value
        if isinstance(v, (IntegerAttr, FloatAttr)):
            return BlockType([], v.type)
        raise ShapeError(f"tile.constant: unsupported value {v}")


def static_bound(v: SSAValue) -> int | str | None:
    """A loop bound known without running the kernel: an integer ``tile.constant``'s value, or
    the size symbol a ``tile.size`` reads; None for a computed bound."""
    owner = v.owner
    if isinstance(owner, ConstantOp) and isinstance(owner.value, IntegerAttr):
        return owner.value.value.data
    if isinstance(owner, SizeOp):
        return owner.sym.data
    return None


@irdl_op_definition
class FullOp(TileOp):
    """A block of ``shape`` filled with a scalar (``kl.full`` / ``kl.zeros``)."""

    name = "tile.full"

    value = operand_def(BlockType)
    shape = prop_def(ArrayAttr[StringAttr])
    dtype = prop_def(Attribute)
    result = result_def(BlockType)
    traits = traits_def(Pure())
    assembly_format = (
        "$value `shape` $shape `dtype` $dtype attr-dict `:` type($value) `->` type($result)"
    )

    def __init__(self, value: SSAValue, dims: Sequence[str], dtype: Attribute):
        super().__init__(
            operands=[value],
            properties={"shape": dims_attr(dims), "dtype": dtype},
            result_types=[BlockType.unknown()],
        )

    def infer_type(self) -> Attribute:
        if block_of(self.value).rank != 0:
            raise ShapeError("tile.full: fill value must be a scalar")
        return BlockType([d.data for d in self.shape.data], self.dtype)


@irdl_op_definition
class ArangeOp(TileOp):
    """``0, 1, ..., n-1`` as a 1-D block whose one dim is ``n`` (``kl.arange``): a static size,
    a size symbol or a block symbol (``kl.arange(tile.block_size)``)."""

    name = "tile.arange"

    shape = prop_def(ArrayAttr[StringAttr])
    dtype = prop_def(Attribute)
    result = result_def(BlockType)
    traits = traits_def(Pure())
    assembly_format = "$shape `dtype` $dtype attr-dict `:` type($result)"

    def __init__(self, dim: str, dtype: Attribute):
        super().__init__(
            properties={"shape": dims_attr([dim]), "dtype": dtype},
            result_types=[BlockType.unknown()],
        )

    def infer_type(self) -> Attribute:
        dims = tuple(d.data for d in self.shape.data)
        if len(dims) != 1:
            raise ShapeError(f"tile.arange makes a 1-D block, not one of shape {list(dims)}")
        if not is_int(self.dtype):
            raise ShapeError(f"tile.arange: dtype must be an integer type, got {self.dtype}")
        return BlockType(dims, self.dtype)


@irdl_op_definition
class LoadOp(TileOp):
    """Read a block of a tensor. One index per tensor dim (``index_kinds`` says which):

    ``tile`` (operand: a !tile.tile), ``full`` (no operand: the whole dim), ``scalar`` (a 0-d
    i64 block), ``gather`` (an i64 block of indices; its dims become result dims), ``outer``
    (a 1-D integer block of indices that, unlike ``gather``, never pairs with a neighbouring
    index: its dim is a result dim of its own, as a slice's would be). The result dims are the
    indices' dims in order.

    ``mask`` (``kl.load(..., extra_mask=m)``): a bool block that broadcasts to the result;
    lanes where it is false are not read and hold 0.
    """

    name = "tile.load"

    tensor = operand_def(TensorType)
    indices = var_operand_def()
    mask = opt_operand_def(BlockType)
    index_kinds = prop_def(ArrayAttr[StringAttr])
    result = result_def(BlockType)
    irdl_options = (AttrSizedOperandSegments(as_property=True),)
    assembly_format = (
        "$tensor `[` $indices `]` $index_kinds (`mask` $mask^ `:` type($mask))? attr-dict `:`"
        " type($tensor) `,` type($indices) `->` type($result)"
    )

    def __init__(
        self,
        tensor: SSAValue,
        kinds: Sequence[str],
        indices: Sequence[SSAValue],
        mask: SSAValue | None = None,
    ):
        super().__init__(
            operands=[tensor, indices, [mask] if mask is not None else []],
            properties={"index_kinds": ArrayAttr([StringAttr(k) for k in kinds])},
            result_types=[BlockType.unknown()],
        )

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(k.data for k in self.index_kinds.data)

    def infer_type(self) -> Attribute:
        t = self.tensor.type
        assert isinstance(t, TensorType)
        dims = indexed_dims(t, self.kinds, self.indices)
        check_access_mask(self.mask, dims, self)
        return BlockType(dims, t.element_type)


def operand_segments(sizes: Sequence[int]) -> Attribute:
    """The ``operandSegmentSizes`` property of an op with variadic operands (a load's tensor,
    indices and optional mask), for code that builds ops with ``create``."""
    return DenseArrayBase.from_list(i32, list(sizes))


def check_access_mask(mask: SSAValue | None, dims: Dims, op: Operation | None = None) -> None:
    """An access's extra mask is a bool block that broadcasts to the accessed shape (``op``:
    the access, whose kernel's fixed sizes match their static ints)."""
    if mask is None:
        return
    m = block_of(mask)
    if not is_bool(m.element_type):
        raise ShapeError(f"an access mask must be bool, got {m.element_type}")
    try:
        fixed = (lambda: fixed_size_symbols(op)) if op is not None else None
        fits = broadcast_dims(dims, m.dims, fixed=fixed) == dims
    except ShapeError:
        fits = False
    if not fits:
        raise ShapeError(f"access mask of shape {list(m.dims)} does not broadcast to {list(dims)}")


def indexed_dims(t: TensorType, kinds: Sequence[str], indices: Sequence[SSAValue]) -> Dims:
    """The dims of ``tensor[indices]``, shared by loads and stores.

    A ``gather`` index whose dims equal the previous dim's gather index is paired with it
    elementwise (torch's ``x[rows, cols]`` with index tensors of one shape): the pair adds its
    dims to the result once, where the first of them stands. An ``outer`` index (1-D) always
    adds its own dim, so two of them index the Cartesian product of their positions."""
    if len(kinds) != len(t.dims):
        raise ShapeError(f"indexing a rank-{len(t.dims)} tensor with {len(kinds)} indices")
    it = iter(indices)
    out: list[str] = []
    previous: Dims | None = None  # the dims of the previous dim's gather index
    for kind, size in zip(kinds, t.dims):
        if kind == "full":
            out.append(size)
            previous = None
            continue
        idx = next(it, None)
        if idx is None:
            raise ShapeError("fewer index operands than index_kinds need")
        if kind == "tile":
            if not isinstance(idx.type, TileType):
                raise ShapeError(f"a `tile` index must be a !tile.tile, got {idx.type}")
            out.append(idx.type.block.data)
            previous = None
        elif kind in ("scalar", "gather", "outer"):
            b = block_of(idx)
            if not (is_int(b.element_type) or is_bool(b.element_type)):
                raise ShapeError(f"index of dtype {b.element_type} is not an integer")
            if kind == "scalar" and b.rank != 0:
                raise ShapeError("a `scalar` index must be 0-d")
            if kind == "outer" and b.rank != 1:
                raise ShapeError(f"an `outer` index must be 1-D, got {list(b.dims)}")
            if kind == "gather" and b.dims == previous:
                continue
            out.extend(b.dims)
            previous = b.dims if kind == "gather" else None
            continue
        else:
            raise ShapeError(f"unknown index kind {kind!r}")
    if next(it, None) is not None:
        raise ShapeError("more index operands than index_kinds")
    return tuple(out)


@irdl_op_definition
class StoreOp(TileOp):
    """Write ``value`` (broadcast to the indexed shape) into a tensor; with ``mask`` (a bool
    block broadcasting to that shape, ``kl.store(..., extra_mask=m)``), only where it is true."""

    name = "tile.store"

    value = operand_def(BlockType)
    tensor = operand_def(TensorType)
    indices = var_operand_def()
    mask = opt_operand_def(BlockType)
    index_kinds = prop_def(ArrayAttr[StringAttr])
    irdl_options = (AttrSizedOperandSegments(as_property=True),)
    assembly_format = (
        "$value `,` $tensor `[` $indices `]` $index_kinds (`mask` $mask^ `:` type($mask))?"
        " attr-dict `:` type($value) `,` type($tensor) `,` type($indices)"
    )

    def __init__(
        self,
        value: SSAValue,
        tensor: SSAValue,
        kinds: Sequence[str],
        indices: Sequence[SSAValue],
        mask: SSAValue | None = None,
    ):
        super().__init__(
            operands=[value, tensor, indices, [mask] if mask is not None else []],
            properties={"index_kinds": ArrayAttr([StringAttr(k) for k in kinds])},
        )

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(k.data for k in self.index_kinds.data)

    def verify_(self) -> None:
        if isinstance(self.value.type, BlockType) and not self.value.type.known:
            return
        t = self.tensor.type
        assert isinstance(t, TensorType)
        target = indexed_dims(t, self.kinds, self.indices)
        src = block_of(self.value).dims
        if broadcast_dims(target, src, fixed=lambda: fixed_size_symbols(self)) != target:
            raise ShapeError(f"cannot store a value of shape {list(src)} into {list(target)}")
        check_access_mask(self.mask, target, self)


ATOMIC_KINDS = ("add", "max", "min", "and", "or", "xor", "xchg", "cas")
ATOMIC_SEMS = ("relaxed", "acquire", "release", "acq_rel")


def atomic_dtype_problem(kind: str, dtype: Attribute) -> str | None:
    """What GPU atomics lack to do ``kind`` on elements of ``dtype`` (None when they can):
    there are no atomics on 8-bit elements, bools or int16, and half-precision floats have
    only ``add``; ``cas`` takes any element of 16, 32 or 64 bits."""
    if kind == "cas":
        width = getattr(dtype, "bitwidth", 0)
        return None if width in (16, 32, 64) else "atomic cas of elements not 16, 32 or 64 bits"
    if dtype in (f16, bf16) and kind != "add":
        return f"atomic {kind} of a half-precision float (only add)"
    if dtype in (i1, i8, u8, i16, f8e4m3, f8e5m2):
        return f"atomic {kind} of {dtype} elements (8-bit, bool and int16 have none)"
    return None


@irdl_op_definition
class AtomicOp(TileOp):
    """An atomic read-modify-write of ``tensor[indices]`` (``kl.atomic_<kind>``) with memory
    order ``sem``; the result is the values the tensor held before. ``value`` broadcasts to
    the indexed shape; ``cas`` also takes ``compare`` (the expected old values) and writes
    ``value`` where the old value equals it."""

    name = "tile.atomic"

    kind = prop_def(StringAttr)
    sem = prop_def(StringAttr)
    value = operand_def(BlockType)
    tensor = operand_def(TensorType)
    indices = var_operand_def()
    compare = opt_operand_def(BlockType)
    index_kinds = prop_def(ArrayAttr[StringAttr])
    result = result_def(BlockType)
    irdl_options = (AttrSizedOperandSegments(as_property=True),)
    assembly_format = (
        "$kind $value `,` $tensor `[` $indices `]` $index_kinds (`compare` $compare^ `:`"
        " type($compare))? `sem` $sem attr-dict `:` type($value) `,` type($tensor) `,`"
        " type($indices) `->` type($result)"
    )

    def __init__(
        self,
        kind: str,
        value: SSAValue,
        tensor: SSAValue,
        kinds: Sequence[str],
        indices: Sequence[SSAValue],
        sem: str = "relaxed",
        compare: SSAValue | None = None,
    ):
        super().__init__(
            operands=[value, tensor, indices, [compare] if compare is not None else []],
            properties={
                "kind": StringAttr(kind),
                "sem": StringAttr(sem),
                "index_kinds": ArrayAttr([StringAttr(k) for k in kinds]),
            },
            result_types=[BlockType.unknown()],
        )

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(k.data for k in self.index_kinds.data)

    def infer_type(self) -> Attribute:
        kind = self.kind.data
        if kind not in ATOMIC_KINDS:
            raise ShapeError(f"unknown atomic {kind!r} (one of {', '.join(ATOMIC_KINDS)})")
        if self.sem.data not in ATOMIC_SEMS:
            raise ShapeError(f"unknown memory order {self.sem.data!r} ({', '.join(ATOMIC_SEMS)})")
        if (kind == "cas") != (self.compare is not None):
            raise ShapeError("tile.atomic: `compare` goes with cas, and only with cas")
        t = self.tensor.type
        assert isinstance(t, TensorType)
        problem = atomic_dtype_problem(kind, t.element_type)
        if problem:
            raise ShapeError(f"tile.atomic: GPUs have no {problem}")
        target = indexed_dims(t, self.kinds, self.indices)
        for v in (self.value, self.compare):
            if v is None:
                continue
            b = block_of(v)
            if b.element_type != t.element_type:
                raise ShapeError(
                    f"tile.atomic: operand of dtype {b.element_type} for a tensor of "
                    f"{t.element_type}"
                )
            try:
                fits = (
                    broadcast_dims(target, b.dims, fixed=lambda: fixed_size_symbols(self)) == target
                )
            except ShapeError:
                fits = False
            if not fits:
                raise ShapeError(f"cannot apply a value of shape {list(b.dims)} to {list(target)}")
        if kind in ("and", "or", "xor") and is_float(t.element_type):
            raise ShapeError(f"atomic {kind} on floating-point values")
        return BlockType(target, t.element_type)


@irdl_op_definition
class BinaryOp(TileOp):
    """Elementwise binary op with broadcasting and torch's type promotion."""

    name = "tile.binary"

    kind = prop_def(StringAttr)
    lhs = operand_def(BlockType)
    rhs = operand_def(BlockType)
    result = result_def(BlockType)
    traits = traits_def(Pure())
    assembly_format = (
        "$kind $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)"
    )

    def __init__(self, kind: str, lhs: SSAValue, rhs: SSAValue):
        super().__init__(
            operands=[lhs, rhs], properties={"kind": StringAttr(kind)},
            result_types=[BlockType.unknown()],
        )  # fmt: skip

    def operand_dtype(self) -> Attribute:
        """The dtype both operands are converted to before the op."""
        a, b = block_of(self.lhs), block_of(self.rhs)
        dtype = result_dtype([a, b])
        if self.kind.data == "div" and not is_float(dtype):
            dtype = f32
        return dtype

    def infer_type(self) -> Attribute:
        kind = self.kind.data
        a, b = block_of(self.lhs), block_of(self.rhs)
        dims = broadcast_dims(a.dims, b.dims, fixed=lambda: fixed_size_symbols(self))
        dtype = self.operand_dtype()
        if kind in BINARY_COMPARE:
            return BlockType(dims, i1)
        if kind in BINARY_BITWISE:
            if is_float(dtype):
                raise ShapeError(f"bitwise {kind} on floating-point values")
            return BlockType(dims, dtype)
        if kind in BINARY_SHIFT:
            if is_float(dtype) or is_bool(dtype):
                raise ShapeError(f"shift {kind} needs integer operands, got {dtype}")
            return BlockType(dims, dtype)
        if kind not in BINARY_ARITH:
            raise ShapeError(f"unknown binary op {kind!r}")
        return BlockType(dims, dtype)


@irdl_op_definition
class UnaryOp(TileOp):
    """Elementwise unary math; integer inputs of float-only functions become float32."""

    name = "tile.unary"

    kind = prop_def(StringAttr)
    operand = operand_def(BlockType)
    result = result_def(BlockType)
    traits = traits_def(Pure())
    assembly_format = "$kind $operand attr-dict `:` type($operand) `->` type($result)"

    def __init__(self, kind: str, operand: SSAValue):
        super().__init__(
            operands=[operand], properties={"kind": StringAttr(kind)},
            result_types=[BlockType.unknown()],
        )  # fmt: skip

    def infer_type(self) -> Attribute:
        kind = self.kind.data
        a = block_of(self.operand)
        if kind in UNARY_FLOAT:
            return BlockType(a.dims, a.element_type if is_float(a.element_type) else f32)
        if kind in UNARY_ANY:
            if kind == "not" and not is_bool(a.element_type):
                raise ShapeError("logical not of a non-boolean value")
            return a
        raise ShapeError(f"unknown unary op {kind!r}")


@irdl_op_definition
class CastOp(TileOp):
    """Convert to another element type (``.to(dtype)``)."""

    name = "tile.cast"

    operand = operand_def(BlockType)
    dtype = prop_def(Attribute)
    result = result_def(BlockType)
    traits = traits_def(Pure())
    assembly_format = "$operand `to` $dtype attr-dict `:` type($operand) `->` type($result)"

    def __init__(self, operand: SSAValue, dtype: Attribute):
        super().__init__(
            operands=[operand], properties={"dtype": dtype}, result_types=[BlockType.unknown()]
        )

    def infer_type(self) -> Attribute:
        return BlockType(block_of(self.operand).dims, self.dtype)


@irdl_op_definition
class SelectOp(TileOp):
    """``torch.where(cond, a, b)`` with broadcasting."""

    name = "tile.select"

    cond = operand_def(BlockType)
    lhs = operand_def(BlockType)
    rhs = operand_def(BlockType)
    result = result_def(BlockType)
    traits = traits_def(Pure())
    assembly_format = (
        "$cond `,` $lhs `,` $rhs attr-dict `:` type($cond) `,` type($lhs) `,` type($rhs)"
        " `->` type($result)"
    )

    def __init__(self, cond: SSAValue, lhs: SSAValue, rhs: SSAValue):
        super().__init__(operands=[cond, lhs, rhs], result_types=[BlockType.unknown()])

    def infer_type(self) -> Attribute:
        c, a, b = block_of(self.cond), block_of(self.lhs), block_of(self.rhs)
        if not is_bool(c.element_type):
            raise ShapeError(f"where: condition must be bool, got {c.element_type}")
        dims = broadcast_dims(c.dims, a.dims, b.dims, fixed=lambda: fixed_size_symbols(self))
        return BlockType(dims, result_dtype([a, b]))


class AlongDimOp(TileOp, ABC):
    """Base of the ops that combine one value's elements along dim ``dim`` in a named way
    (``kind``): ``tile.reduce`` and ``tile.scan``. The operand, ``kind``, ``dim``, the
    builder and the dim check are theirs in common; each op declares its one optional unit
    flag (``keepdim``, ``reverse``) and its syntax, which spells the flag."""

    kind = prop_def(StringAttr)
    dim = prop_def(IntegerAttr)
    operand = operand_def(BlockType)
    result = result_def(BlockType)
    traits = traits_def(Pure())

    def __init__(self, kind: str, operand: SSAValue, dim: int, flag_name: str, flag: bool):
        super().__init__(
            operands=[operand],
            properties={
                "kind": StringAttr(kind),
                "dim": IntegerAttr(dim, i64),
                flag_name: UnitAttr() if flag else None,
            },
            result_types=[BlockType.unknown()],
        )

    @property
    def axis(self) -> int:
        return self.dim.value.data

    def check_axis(self, a: BlockType, what: str) -> None:
        """``dim`` must be a dim of the operand's type ``a``; ``what`` names the op's action
        in the error."""
        if not 0 <= self.axis < a.rank:
            raise ShapeError(f"{what} dim {self.axis} out of range for rank {a.rank}")


@irdl_op_definition
class ReduceOp(AlongDimOp):
    """Reduce one dim (``sum``, ``max``, ``min``, ``prod``, ``argmax``, ``argmin``).

    The reduced dim may be a block symbol (a reduction across a tile) or a full size; the
    ``split-reductions`` pass decides how a full-size reduction is computed.
    """

    name = "tile.reduce"

    keepdim = opt_prop_def(UnitAttr)
    assembly_format = (
        "$kind $operand `dim` $dim (`keepdim` $keepdim^)? attr-dict `:` type($operand)"
        " `->` type($result)"
    )

    def __init__(self, kind: str, operand: SSAValue, dim: int, keepdim: bool = False):
        super().__init__(kind, operand, dim, "keepdim", keepdim)

    def infer_type(self) -> Attribute:
        a = block_of(self.operand)
        kind = self.kind.data
        if kind not in REDUCE_KINDS:
            raise ShapeError(f"unknown reduction {kind!r}")
        self.check_axis(a, "reduction")
        dims = list(a.dims)
        if self.keepdim is not None:
            dims[self.axis] = "1"
        else:
            del dims[self.axis]
        dtype = a.element_type
        if kind in ("argmax", "argmin"):
            dtype = i64
        elif kind in ("sum", "prod") and (is_bool(dtype) or is_int(dtype)):
            dtype = i64
        return BlockType(dims, dtype)


SCAN_KINDS = ("sum", "prod")


@irdl_op_definition
class ScanOp(AlongDimOp):
    """Inclusive prefix sum or product along one dim (``cumsum``/``cumprod``); ``reverse``
    scans from the last element to the first. Integer and bool inputs give int64, as in
    torch."""

    name = "tile.scan"

    reverse = opt_prop_def(UnitAttr)
    assembly_format = (
        "$kind $operand `dim` $dim (`reverse` $reverse^)? attr-dict `:` type($operand)"
        " `->` type($result)"
    )

    def __init__(self, kind: str, operand: SSAValue, dim: int, reverse: bool = False):
        super().__init__(kind, operand, dim, "reverse", reverse)

    def infer_type(self) -> Attribute:
        a = block_of(self.operand)
        if self.kind.data not in SCAN_KINDS:
            raise ShapeError(f"unknown scan {self.kind.data!r} (one of {', '.join(SCAN_KINDS)})")
        self.check_axis(a, "scan")
        dtype = a.element_type
        if is_int(dtype) or is_bool(dtype):
            dtype = i64
        return BlockType(a.dims, dtype)


@irdl_op_definition
class CombineOp(IRDLOperation):
    """A scan (``mode`` = ``scan``, ``kl.associative_scan``) or a reduction (``reduce``,
    ``kl.reduce``) of one or more same-shaped blocks along ``dim`` with a user combine
    function, held in ``body``: its block takes the left then the right scalar of each input
    and yields one combined scalar per input, of the inputs' dtypes.

    A reduction fills lanes past the dim's end with ``others`` (one scalar per input, the
    combine function's identity) and drops the dim, or keeps it as 1 with ``keepdim``."""

    name = "tile.combine"

    mode = prop_def(StringAttr)
    dim = prop_def(IntegerAttr)
    reverse = opt_prop_def(UnitAttr)
    keepdim = opt_prop_def(UnitAttr)
    inputs = var_operand_def(BlockType)
    others = var_operand_def(BlockType)
    res = var_result_def(BlockType)
    body = region_def("single_block")
    irdl_options = (AttrSizedOperandSegments(as_property=True),)
    assembly_format = (
        "$mode $inputs `dim` $dim (`reverse` $reverse^)? (`keepdim` $keepdim^)?"
        " (`other` $others^ `:` type($others))? attr-dict `:` type($inputs) `->` type($res)"
        " $body"
    )

    def __init__(
        self,
        mode: str,
        inputs: Sequence[SSAValue],
        dim: int,
        body: Region,
        result_types: Sequence[Attribute],
        *,
        reverse: bool = False,
        keepdim: bool = False,
        others: Sequence[SSAValue] = (),
    ):
        super().__init__(
            operands=[inputs, others],
            result_types=[list(result_types)],
            properties={
                "mode": StringAttr(mode),
                "dim": IntegerAttr(dim, i64),
                "reverse": UnitAttr() if reverse else None,
                "keepdim": UnitAttr() if keepdim else None,
            },
            regions=[body],
        )

    @property
    def axis(self) -> int:
        return self.dim.value.data

    def infer_types(self) -> list[BlockType]:
        """The result types: the inputs' (a scan) or the inputs' without ``dim`` (a reduce)."""
        mode = self.mode.data
        if mode not in ("scan", "reduce"):
            raise ShapeError(f"tile.combine: unknown mode {mode!r} (scan or reduce)")
        ins = [block_of(v) for v in self.inputs]
        if not ins:
            raise ShapeError("tile.combine needs at least one input")
        if any(b.dims != ins[0].dims for b in ins):
            raise ShapeError(f"tile.combine: inputs of shapes {[list(b.dims) for b in ins]}")
        rank = ins[0].rank
        if not 0 <= self.axis < rank:
            raise ShapeError(f"combine dim {self.axis} out of range for rank {rank}")
        if mode == "scan":
            if self.others or self.keepdim is not None:
                raise ShapeError("a combine scan takes no `other` values and no keepdim")
            return ins
        if self.reverse is not None:
            raise ShapeError("a combine reduce has no `reverse`")
        if len(self.others) != len(ins):
            raise ShapeError(
                f"a combine reduce needs one `other` per input, got {len(self.others)}"
            )
        for o in self.others:
            if block_of(o).rank != 0:
                raise ShapeError("a combine reduce's `other` values are scalars")
        dims = list(ins[0].dims)
        if self.keepdim is not None:
            dims[self.axis] = "1"
        else:
            del dims[self.axis]
        return [BlockType(dims, b.element_type) for b in ins]

    def verify_(self) -> None:
        if any(isinstance(v.type, BlockType) and not v.type.known for v in self.operands):
            return
        expected = self.infer_types()
        if [r.type for r in self.res] != expected:
            raise ShapeError(
                f"tile.combine: result types {[str(r.type) for r in self.res]} do not match "
                f"{[str(e) for e in expected]}"
            )
        args = self.body.block.args
        scalars = [BlockType([], b.element_type) for b in expected]
        if [a.type for a in args] != scalars + scalars:
            raise ShapeError(
                "tile.combine: the body takes the left then the right scalar of each input "
                f"({', '.join(str(s) for s in scalars + scalars)})"
            )
        last = self.body.block.last_op
        if not isinstance(last, YieldOp) or [v.type for v in last.values] != scalars:
            raise ShapeError("tile.combine: the body must yield one scalar per input, same dtypes")


class ToShapeOp(TileOp, ABC):
    """Base of the ops that give one value new dims, ``%r = tile.<op> %v to [dims]``
    (``tile.reshape``, ``tile.broadcast``): the operand, the ``shape`` property, the syntax
    and the builder are theirs in common; each op's ``infer_type`` says which new dims are
    legal."""

    operand = operand_def(BlockType)
    shape = prop_def(ArrayAttr[StringAttr])
    result = result_def(BlockType)
    traits = traits_def(Pure())
    assembly_format = "$operand `to` $shape attr-dict `:` type($operand) `->` type($result)"

    def __init__(self, operand: SSAValue, dims: Sequence[str]):
        super().__init__(
            operands=[operand], properties={"shape": dims_attr(dims)},
            result_types=[BlockType.unknown()],
        )  # fmt: skip

    @property
    def dims(self) -> tuple[str, ...]:
        """The new dims (``shape`` as strings)."""
        return tuple(d.data for d in self.shape.data)


@irdl_op_definition
class ReshapeOp(ToShapeOp):
    """Change the dims of a value without moving data: ``v[:, None]``, ``squeeze``, ``view``.

    Legal when the non-unit dims stay the same and in order (unit dims come and go), or when
    runs of them split or merge (``[s2] -> [2, s4]``, ``[s4, 2] -> [s2]``) with every dim of a
    changed run exact: a static power of two, or a size symbol whose enclosing kernel promises
    it is a power of two (``size_divisors[s] == size_hints[s]``: its register extent is the
    hint's power of two and the divisor fills it, so the value is fixed) and the products of
    the two sides agree. Exact dims carry no padding lanes, so a row-major reshape of the
    registers moves every element where torch's reshape puts it; a padded dim would not.
    """

    name = "tile.reshape"

    def infer_type(self) -> Attribute:
        a, new = block_of(self.operand), self.dims
        src, dst = [d for d in a.dims if d != "1"], [d for d in new if d != "1"]
        if src != dst:
            problem = reshape_problem(src, dst, exact_sizes(self))
            if problem is not None:
                raise ShapeError(f"cannot reshape {list(a.dims)} to {list(new)}: {problem}")
        return BlockType(new, a.element_type)


def _kernel_of(op: Operation) -> KernelOp | None:
    kernel = op.parent_op()
    while kernel is not None and not isinstance(kernel, KernelOp):
        kernel = kernel.parent_op()
    return kernel


def fixed_size_symbols(op: Operation) -> dict[str, int]:
    """Size symbols whose value the enclosing kernel fixes, with that value: sizes promised to
    be a power of two (divisor equal to the hint: the specialization key then holds the value,
    see ``ReshapeOp``). Such a size has no padding lanes, so it is interchangeable with the
    static int. Block symbols are not: a tile's last block may be partial."""
    kernel = _kernel_of(op)
    if kernel is None:
        return {}
    hints = kernel.size_hints
    return {s: d for s, d in kernel.size_divisors.items() if hints.get(s) == d}


def exact_sizes(op: IRDLOperation) -> dict[str, int]:
    """Size and block symbols whose value the enclosing kernel fixes, with that value: the
    ``fixed_size_symbols`` and the blocks in its ``block_values`` (for a reshape, which moves
    registers: a fixed block's registers are its block size, partial tile or not)."""
    kernel = _kernel_of(op)
    if kernel is None:
        return {}
    return {**fixed_size_symbols(op), **kernel.block_values}


def reshape_problem(src: Sequence[str], dst: Sequence[str], exact: dict[str, int]) -> str | None:
    """Why the non-unit dims ``src`` cannot be reshaped to ``dst`` (None: they can). Equal dims
    pass through; between them, runs of ``src`` and ``dst`` with equal products split or merge,
    and every dim in such a run must be exact (a static or ``exact`` power of two)."""

    def size(d: str) -> int | None:
        n = int(d) if d.isdigit() else exact.get(d)
        return n if n is not None and n > 0 and n & (n - 1) == 0 else None

    i = j = 0
    while i < len(src) or j < len(dst):
        if i < len(src) and j < len(dst) and src[i] == dst[j]:
            i, j = i + 1, j + 1
            continue
        if i == len(src) or j == len(dst):
            return "the element counts differ"
        pa, pb = size(src[i]), size(dst[j])
        for d, n in ((src[i], pa), (dst[j], pb)):
            if n is None:
                return f"dim {d} is not a power of two known when the kernel compiles"
        i, j = i + 1, j + 1
        while pa != pb:
            side, k = (src, i) if pa < pb else (dst, j)  # type: ignore[operator]
            if k == len(side):
                return "the element counts differ"
            n = size(side[k])
            if n is None:
                return f"dim {side[k]} is not a power of two known when the kernel compiles"
            if pa < pb:  # type: ignore[operator]
                pa, i = pa * n, i + 1  # type: ignore[operator]
            else:
                pb, j = pb * n, j + 1  # type: ignore[operator]
    return None


@irdl_op_definition
class PermuteOp(TileOp):
    """Reorder the dims of a value (``.T``, ``transpose``, ``permute``): result dim ``i`` is
    operand dim ``perm[i]``."""

    name = "tile.permute"

    operand = operand_def(BlockType)
    perm = prop_def(ArrayAttr[IntegerAttr])
    result = result_def(BlockType)
    traits = traits_def(Pure())
    assembly_format = "$operand `perm` $perm attr-dict `:` type($operand) `->` type($result)"

    def __init__(self, operand: SSAValue, perm: Sequence[int]):
        super().__init__(
            operands=[operand],
            properties={"perm": ArrayAttr([IntegerAttr(p, i64) for p in perm])},
            result_types=[BlockType.unknown()],
        )

    @property
    def order(self) -> tuple[int, ...]:
        return tuple(p.value.data for p in self.perm.data)

    def infer_type(self) -> Attribute:
        a = block_of(self.operand)
        if sorted(self.order) != list(range(a.rank)):
            raise ShapeError(f"permute: {list(self.order)} is not a permutation of {a.rank} dims")
        return BlockType([a.dims[p] for p in self.order], a.element_type)


@irdl_op_definition
class BroadcastOp(ToShapeOp):
    """Broadcast a value to ``shape`` (``expand``, ``expand_as``, ``broadcast_to``): torch's
    broadcasting rule, aligned on the right; unit dims stretch, others must match."""

    name = "tile.broadcast"

    def infer_type(self) -> Attribute:
        a, new = block_of(self.operand), self.dims
        if len(new) < a.rank or broadcast_dims(a.dims, new) != new:
            raise ShapeError(f"cannot broadcast {list(a.dims)} to {list(new)}")
        return BlockType(new, a.element_type)


@irdl_op_definition
class JoinOp(TileOp):
    """Stack two values along a new last dim of size 2 (``kl.join``); they broadcast to one
    shape and must share a dtype."""

    name = "tile.join"

    lhs = operand_def(BlockType)
    rhs = operand_def(BlockType)
    result = result_def(BlockType)
    traits = traits_def(Pure())
    assembly_format = "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)"

    def __init__(self, lhs: SSAValue, rhs: SSAValue):
        super().__init__(operands=[lhs, rhs], result_types=[BlockType.unknown()])

    def infer_type(self) -> Attribute:
        a, b = block_of(self.lhs), block_of(self.rhs)
        if a.element_type != b.element_type:
            raise ShapeError(f"join of {a.element_type} and {b.element_type} values")
        return BlockType((*broadcast_dims(a.dims, b.dims), "2"), a.element_type)


@irdl_op_definition
class SplitOp(IRDLOperation):
    """The two halves of a value whose last dim has size 2 (``kl.split``), without it."""

    name = "tile.split"

    operand = operand_def(BlockType)
    lo = result_def(BlockType)
    hi = result_def(BlockType)
    traits = traits_def(Pure())
    assembly_format = "$operand attr-dict `:` type($operand) `->` type($lo) `,` type($hi)"

    def __init__(self, operand: SSAValue):
        ty = self.result_type(operand)
        super().__init__(operands=[operand], result_types=[ty, ty])

    @staticmethod
    def result_type(operand: SSAValue) -> BlockType:
        a = block_of(operand)
        if not a.dims or a.dims[-1] != "2":
            raise ShapeError(f"split needs a last dim of size 2, got shape {list(a.dims)}")
        return BlockType(a.dims[:-1], a.element_type)

    def verify_(self) -> None:
        if isinstance(self.operand.type, BlockType) and not self.operand.type.known:
            return
        ty = self.result_type(self.operand)
        if self.lo.type != ty or self.hi.type != ty:
            raise ShapeError(f"tile.split: results must be {ty}")


@irdl_op_definition
class ConcatOp(TileOp):
    """Values one after another along their dim ``axis`` (``torch.cat``; ``torch.stack`` of
    blocks unsqueezed at ``axis``), in operand order.

    Typing: one element type, one rank, the other dims equal (a static int and a size symbol
    the kernel fixes at it are equal); along ``axis`` each operand's size must be known when
    the kernel compiles and carry no lane of another block: a static int (any, a power of two
    or not: a padded dim's valid lanes come first) or a fixed size symbol, never a tile's
    block (its last tile may be partial) or an unfixed size. The result's dim there is the
    static sum of the sizes, whose register extent is its next power of two: the lanes past
    the sum are padding, masked wherever the dim is used, as any static dim's are.
    """

    name = "tile.concat"

    inputs = var_operand_def(BlockType)
    axis = prop_def(IntegerAttr)
    result = result_def(BlockType)
    traits = traits_def(Pure())
    assembly_format = "$inputs `axis` $axis attr-dict `:` type($inputs) `->` type($result)"

    def __init__(self, inputs: Sequence[SSAValue], axis: int):
        super().__init__(
            operands=[inputs],
            properties={"axis": IntegerAttr(axis, i64)},
            result_types=[BlockType.unknown()],
        )

    @property
    def dim(self) -> int:
        return self.axis.value.data

    def widths(self) -> tuple[int, ...]:
        """Each operand's size along ``axis`` (the typing rule's; ShapeError if one is not
        known when the kernel compiles)."""
        fixed = fixed_size_symbols(self)
        out = []
        for v in self.inputs:
            d = block_of(v).dims[self.dim]
            n = int(d) if d.isdigit() else fixed.get(d)
            if n is None:
                raise ShapeError(
                    f"concat along a dim of size {d}: it must be a size known when the kernel "
                    "compiles (a static size, or one the specialization fixes), not a tile's "
                    "block or a dynamic size (the blocks are placed in registers, which cannot "
                    "leave a variable gap)"
                )
            out.append(n)
        return tuple(out)

    def infer_type(self) -> Attribute:
        blocks = [block_of(v) for v in self.inputs]
        if not blocks:
            raise ShapeError("concat of no values")
        first, axis = blocks[0], self.dim
        if not 0 <= axis < first.rank:
            raise ShapeError(f"concat along dim {axis} of values of rank {first.rank}")
        fixed = fixed_size_symbols(self)
        for b in blocks[1:]:
            if b.element_type != first.element_type:
                raise ShapeError(f"concat of {first.element_type} and {b.element_type} values")
            others = [(x, y) for i, (x, y) in enumerate(zip(first.dims, b.dims)) if i != axis]
            if b.rank != first.rank or not all(same_size(x, y, fixed) for x, y in others):
                raise ShapeError(
                    f"concat along dim {axis}: shapes {list(first.dims)} and {list(b.dims)} "
                    "differ in another dim"
                )
        dims = list(first.dims)
        dims[axis] = str(sum(self.widths()))
        return BlockType(dims, first.element_type)


@irdl_op_definition
class RandOp(TileOp):
    """Philox random numbers keyed by the scalar ``seed``, one per element of ``offsets`` (an
    integer block: each element's linear index in the whole iteration space, so results do
    not depend on block sizes): ``uniform`` float32 in [0, 1) (``kl.rand``) or ``int32``
    bits (``tl.randint``, from which ``kl.randint`` draws its range)."""

    name = "tile.rand"

    kind = prop_def(StringAttr)
    seed = operand_def(BlockType)
    offsets = operand_def(BlockType)
    result = result_def(BlockType)
    traits = traits_def(Pure())
    assembly_format = (
        "$kind $seed `,` $offsets attr-dict `:` type($seed) `,` type($offsets) `->` type($result)"
    )

    def __init__(self, seed: SSAValue, offsets: SSAValue, kind: str = "uniform"):
        super().__init__(
            operands=[seed, offsets],
            properties={"kind": StringAttr(kind)},
            result_types=[BlockType.unknown()],
        )

    def infer_type(self) -> Attribute:
        s, o = block_of(self.seed), block_of(self.offsets)
        if s.rank != 0 or not is_int(s.element_type):
            raise ShapeError(f"tile.rand: the seed must be an integer scalar, got {s}")
        if not is_int(o.element_type):
            raise ShapeError(f"tile.rand: offsets must be integers, got {o.element_type}")
        if self.kind.data not in ("uniform", "int32"):
            raise ShapeError(f"tile.rand: unknown kind {self.kind.data!r} (uniform or int32)")
        return BlockType(o.dims, f32 if self.kind.data == "uniform" else i32)


@irdl_op_definition
class DotOp(TileOp):
    """Matrix product of 2-D blocks, or of 3-D blocks with one batch dim (``bmm``), accumulated
    in ``acc``'s dtype (float32 by default)."""

    name = "tile.dot"

    lhs = operand_def(BlockType)
    rhs = operand_def(BlockType)
    acc = operand_def(BlockType)
    result = result_def(BlockType)
    traits = traits_def(Pure())
    assembly_format = (
        "$lhs `,` $rhs `,` $acc attr-dict `:` type($lhs) `,` type($rhs) `,` type($acc)"
        " `->` type($result)"
    )

    def __init__(self, lhs: SSAValue, rhs: SSAValue, acc: SSAValue):
        super().__init__(operands=[lhs, rhs, acc], result_types=[BlockType.unknown()])

    def infer_type(self) -> Attribute:
        a, b, c = block_of(self.lhs), block_of(self.rhs), block_of(self.acc)
        if a.rank not in (2, 3) or b.rank != a.rank:
            raise ShapeError("tile.dot needs 2-D operands, or 3-D ones with a batch dim")
        if a.rank == 3 and a.dims[0] != b.dims[0]:
            raise ShapeError(f"tile.dot: batch dims differ: {a.dims[0]} vs {b.dims[0]}")
        if a.dims[-1] != b.dims[-2]:
            raise ShapeError(f"tile.dot: inner dims differ: {a.dims[-1]} vs {b.dims[-2]}")
        out = (*a.dims[:-1], b.dims[-1])
        if broadcast_dims(c.dims, out) != out:
            raise ShapeError(f"tile.dot: accumulator {list(c.dims)} vs {list(out)}")
        return BlockType(out, c.element_type)


@irdl_op_definition
class PrintOp(TileOp):
    """Print ``values`` from the device, each line led by ``prefix`` (Triton's
    ``tl.device_print``). A side effect for debugging: it has no result and is never removed."""

    name = "tile.print"

    prefix = prop_def(StringAttr)
    values = var_operand_def(BlockType)
    assembly_format = "$prefix ($values^ `:` type($values))? attr-dict"

    def __init__(self, prefix: str, values: Sequence[SSAValue]):
        super().__init__(operands=[values], properties={"prefix": StringAttr(prefix)})

    def verify_(self) -> None:
        if "\n" in self.prefix.data or "\0" in self.prefix.data:
            raise ShapeError("tile.print: the prefix must be one line of text")


@irdl_op_definition
class InlineAsmOp(TileOp):
    """Inline assembly mapped over the elements of ``args`` (``kl.inline_asm_elementwise``):
    the args broadcast to one shape, the result has that shape and element type ``dtype``.
    ``asm`` is target assembly (PTX for NVIDIA) with ``$0`` for the result and ``$1``... for
    the args, ``constraints`` its LLVM constraint string (outputs ``=`` first, clobbers
    ``~``), ``pack`` how many elements one instance of the asm handles. Without ``pure`` the
    asm may have side effects, so the op has no ``Pure`` trait and is never removed as dead.

    With ``pack`` 1 each output constraint is one result and each input constraint one arg,
    so the verifier checks both counts; a larger ``pack`` packs several elements into a
    register in a target-dependent way, which the assembler checks."""

    name = "tile.inline_asm"

    asm = prop_def(StringAttr)
    constraints = prop_def(StringAttr)
    pack = prop_def(IntegerAttr)
    pure = opt_prop_def(UnitAttr)
    dtype = prop_def(Attribute)
    args = var_operand_def(BlockType)
    result = result_def(BlockType)
    assembly_format = (
        "$asm $constraints `pack` $pack (`pure` $pure^)? `to` $dtype ` ` `(` $args `)` attr-dict"
        " `:` type($args) `->` type($result)"
    )

    def __init__(
        self,
        asm: str,
        constraints: str,
        args: Sequence[SSAValue],
        dtype: Attribute,
        *,
        pure: bool,
        pack: int,
    ):
        super().__init__(
            operands=[list(args)],
            properties={
                "asm": StringAttr(asm),
                "constraints": StringAttr(constraints),
                "pack": IntegerAttr(pack, i64),
                "pure": UnitAttr() if pure else None,
                "dtype": dtype,
            },
            result_types=[BlockType.unknown()],
        )

    def constraint_counts(self) -> tuple[int, int]:
        """The number of output (``=``) and input constraints (clobbers ``~`` are neither)."""
        parts = [c.strip() for c in self.constraints.data.split(",") if c.strip()]
        outputs = sum(c.startswith("=") for c in parts)
        inputs = sum(not c.startswith(("=", "~")) for c in parts)
        return outputs, inputs

    def verify_(self) -> None:
        if self.pack.value.data < 1:
            raise ShapeError(
                f"tile.inline_asm: pack must be at least 1, got {self.pack.value.data}"
            )
        if not self.args:
            raise ShapeError("tile.inline_asm needs at least one argument (its result's shape)")
        if not (is_float(self.dtype) or is_int(self.dtype) or is_bool(self.dtype)):
            raise ShapeError(f"tile.inline_asm: result element type {self.dtype} is not a dtype")
        outputs, inputs = self.constraint_counts()
        if outputs != 1 and self.pack.value.data == 1:
            raise ShapeError(
                f"tile.inline_asm: constraints {self.constraints.data!r} name {outputs} "
                "outputs (`=...`); the op has one result"
            )
        if self.pack.value.data == 1 and inputs != len(self.args):
            raise ShapeError(
                f"tile.inline_asm: constraints {self.constraints.data!r} name {inputs} inputs "
                f"but the op has {len(self.args)} args"
            )
        super().verify_()

    def infer_type(self) -> Attribute:
        shapes = [block_of(a).dims for a in self.args]
        dims = broadcast_dims(*shapes, fixed=lambda: fixed_size_symbols(self))
        return BlockType(dims, self.dtype)


Tile = Dialect(
    "tile",
    [
        KernelOp,
        ForOp,
        IfOp,
        WhileOp,
        YieldOp,
        TileIndexOp,
        TileAttrOp,
        SizeOp,
        ConstantOp,
        FullOp,
        ArangeOp,
        LoadOp,
        StoreOp,
        AtomicOp,
        BinaryOp,
        UnaryOp,
        CastOp,
        SelectOp,
        ReduceOp,
        ScanOp,
        CombineOp,
        ReshapeOp,
        PermuteOp,
        BroadcastOp,
        DotOp,
        JoinOp,
        SplitOp,
        ConcatOp,
        RandOp,
        PrintOp,
        InlineAsmOp,
    ],
    [TensorType, BlockType, TileType],
)


def refine_result_type(op: TileOp) -> bool:
    """Set ``op``'s result type to the inferred one; returns whether it changed."""
    from xdsl.rewriter import Rewriter

    new = op.infer_type()
    if op.results[0].type == new:
        return False
    Rewriter.replace_value_with_new_type(op.results[0], new)
    return True
