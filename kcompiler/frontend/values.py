"""Proxy objects that device code computes with while it is traced into tile IR.

Device-loop bodies are evaluated as ordinary Python expressions; the operands are these
proxies, whose operators, methods and ``__torch_function__`` append tile ops to the kernel
being built. torch functions are mapped here, in one table, so adding an op is one entry.
"""

from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, Any

import torch
from xdsl.ir import BlockArgument, SSAValue

from kcompiler.dialects import tile as t
from kcompiler.exc import ShapeMismatch, UnsupportedConstruct
from kcompiler.frontend import dtypes
from kcompiler.frontend.concat import CONCAT_FUNCTIONS
from kcompiler.frontend.elementwise import ELEMENTWISE_FUNCTIONS
from kcompiler.frontend.reductions import REDUCTION_FUNCTIONS
from kcompiler.frontend.specialize import overlapping

if TYPE_CHECKING:
    from kcompiler.frontend.tracer import DeviceTracer


class TileHandle:
    """The loop variable of a device loop: one tile of an iteration space."""

    def __init__(self, tracer: DeviceTracer, value: SSAValue, block: str):
        self._tracer = tracer
        self.value = value
        self.block = block

    @property
    def index(self) -> TileValue:
        return self._tracer.emit(t.TileIndexOp(self.value))

    def _attr(self, name: str) -> TileValue:
        return self._tracer.emit(t.TileAttrOp(self.value, name))

    @property
    def begin(self) -> TileValue:
        return self._attr("begin")

    @property
    def end(self) -> TileValue:
        return self._attr("end")

    @property
    def id(self) -> TileValue:
        return self._attr("id")

    @property
    def block_size(self) -> TileValue:
        return self._attr("block_size")

    @property
    def count(self) -> TileValue:
        """How many tiles the loop has: ``cdiv(end - begin, block_size)`` over the loop's own
        bounds (``kl.tile(begin, end)``), the same for every tile of it."""
        tr = self._tracer
        loop = self.value.block.parent_op() if isinstance(self.value, BlockArgument) else None
        if not isinstance(loop, t.ForOp) or loop.kind.data != "tile":
            raise tr.error(
                UnsupportedConstruct,
                "tile.count of a loop other than kl.tile(...) (a grid or jagged loop)",
            )
        extent = tr.binary("sub", TileValue(tr, loop.ub), TileValue(tr, loop.lb))
        size = self.block_size
        rounded = tr.binary("sub", tr.binary("add", extent, size), tr.constant(1))
        return tr.binary("floordiv", rounded, size)

    def __repr__(self) -> str:
        return f"<tile {self.block}>"


class SizeQueries:
    """The size queries of a torch tensor (``size()``, ``shape``, ``dim()``, ``numel()``),
    answered from ``dims``: shared by tensors (``TensorArg``) and device values
    (``TileValue``). A dim's size is an int when static, else the device value of its
    symbol, so size arithmetic in device code traces like any other."""

    _tracer: DeviceTracer

    @property
    def dims(self) -> tuple[str, ...]:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def ndim(self) -> int:
        return len(self.dims)

    def dim(self) -> int:
        return self.ndim

    def size(self, dim: int | None = None) -> Any:
        sizes = tuple(self._tracer.dim_value(d) for d in self.dims)
        return sizes if dim is None else sizes[dim]

    @property
    def shape(self) -> tuple[Any, ...]:
        return self.size()

    def numel(self) -> Any:
        """The element count: an int when every size is static, else a device value."""
        total: Any = 1
        for size in self.size():
            total = size if isinstance(total, int) and total == 1 else total * size
        return total


class TensorArg(SizeQueries):
    """A tensor in global memory (a host tensor used by device code)."""

    def __init__(self, tracer: DeviceTracer, name: str, value: SSAValue, example: torch.Tensor):
        self._tracer = tracer
        self.name = name
        self.value = value
        self.dtype = example.dtype
        self.device = example.device
        # Several indices share one element (an expand()ed tensor): writes to it would race.
        self.overlapping = overlapping(example)
        ty = value.type
        assert isinstance(ty, t.TensorType)
        self._dims = ty.dims

    @property
    def dims(self) -> tuple[str, ...]:
        return self._dims

    def stride(self, dim: int | None = None) -> Any:
        raise UnsupportedConstruct(
            f"{self.name}.stride() in device code: strides are chosen per call by the runtime; "
            "read them on the host and pass them in, or index the tensor by tiles"
        )

    def __getitem__(self, index: Any) -> TileValue:
        return self._tracer.load(self, index)

    def __setitem__(self, index: Any, value: Any) -> None:
        self._tracer.store(self, index, value)

    def new_full(self, size: Any, fill_value: Any, *, dtype: Any = None, **_: Any) -> TileValue:
        return self._tracer.full(size, fill_value, dtype or self.dtype)

    def new_zeros(self, *size: Any, dtype: Any = None, **kw: Any) -> TileValue:
        return self._tracer.full(shape_argument(size, kw), 0, dtype or self.dtype)

    def new_ones(self, *size: Any, dtype: Any = None, **kw: Any) -> TileValue:
        return self._tracer.full(shape_argument(size, kw), 1, dtype or self.dtype)

    def new_empty(self, *size: Any, dtype: Any = None, **kw: Any) -> TileValue:
        # torch leaves the contents unspecified; zeros are one valid choice.
        return self._tracer.full(shape_argument(size, kw), 0, dtype or self.dtype)

    def __bool__(self) -> bool:
        raise UnsupportedConstruct("a tensor has no truth value in device code")

    def __repr__(self) -> str:
        return f"<tensor {self.name}>"


def shape_argument(size: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The shape of ``new_zeros(2, 3)``, ``new_zeros([2, 3])`` or ``new_zeros(size=(2, 3))``
    (torch takes all three)."""
    if not size and "size" in kwargs:
        size = (kwargs["size"],)
    if len(size) == 1 and isinstance(size[0], (list, tuple, torch.Size)):
        return list(size[0])
    return list(size)


def _bin(kind: str, swap: bool = False):
    def method(self: TileValue, other: Any) -> TileValue:
        tr = self._tracer
        a, b = self, tr.as_value(other)
        if swap:
            a, b = b, a
        return tr.binary(kind, a, b)

    return method


class TileValue(SizeQueries):
    """An SSA value of type ``!tile.block``: what device code computes with."""

    def __init__(self, tracer: DeviceTracer, value: SSAValue, sym: str | None = None):
        self._tracer = tracer
        self.value = value
        self.sym = sym  # set when the value is a size symbol's runtime value

    # -- metadata ----------------------------------------------------------------------------
    @property
    def type(self) -> t.BlockType:
        ty = self.value.type
        assert isinstance(ty, t.BlockType)
        return ty

    @property
    def dims(self) -> tuple[str, ...]:
        return self.type.dims

    @property
    def dtype(self) -> torch.dtype:
        return dtypes.to_torch(self.type.element_type)

    def __bool__(self) -> bool:
        raise UnsupportedConstruct(
            "control flow on a device value is not supported; use torch.where"
        )

    def __index__(self) -> int:
        raise UnsupportedConstruct("a device value cannot be used as a Python int")

    def __iter__(self) -> Any:
        raise UnsupportedConstruct(
            "cannot iterate over a device value (a block has no Python elements); loop over "
            "kl.tile or a Python range, and use torch ops on the whole block"
        )

    def __repr__(self) -> str:
        return f"<value {list(self.dims)} {self.dtype}>"

    # -- arithmetic --------------------------------------------------------------------------
    __add__ = _bin("add")
    __radd__ = _bin("add", swap=True)
    __sub__ = _bin("sub")
    __rsub__ = _bin("sub", swap=True)
    __mul__ = _bin("mul")
    __rmul__ = _bin("mul", swap=True)
    __truediv__ = _bin("div")
    __rtruediv__ = _bin("div", swap=True)
    __floordiv__ = _bin("floordiv")
    __rfloordiv__ = _bin("floordiv", swap=True)
    __mod__ = _bin("mod")
    __pow__ = _bin("pow")
    __rpow__ = _bin("pow", swap=True)
    __and__ = _bin("and")
    __rand__ = _bin("and", swap=True)
    __or__ = _bin("or")
    __ror__ = _bin("or", swap=True)
    __xor__ = _bin("xor")
    __rxor__ = _bin("xor", swap=True)
    __lshift__ = _bin("shl")
    __rlshift__ = _bin("shl", swap=True)
    __rshift__ = _bin("shr")
    __rrshift__ = _bin("shr", swap=True)
    __lt__ = _bin("lt")
    __le__ = _bin("le")
    __gt__ = _bin("gt")
    __ge__ = _bin("ge")
    __eq__ = _bin("eq")  # type: ignore[assignment]
    __ne__ = _bin("ne")  # type: ignore[assignment]
    __hash__ = object.__hash__

    def __matmul__(self, other: Any) -> TileValue:
        return self._tracer.dot(self, other)

    def __rmatmul__(self, other: Any) -> TileValue:
        return self._tracer.dot(other, self)

    def __neg__(self) -> TileValue:
        return self._tracer.unary("neg", self)

    def __abs__(self) -> TileValue:
        return self._tracer.unary("abs", self)

    def __invert__(self) -> TileValue:
        if self.dtype == torch.bool:
            return self._tracer.unary("not", self)
        if self.dtype.is_floating_point:
            raise UnsupportedConstruct(f"bitwise not (~) of a {self.dtype} value")
        # ~x is x ^ -1 in two's complement, for every integer width.
        minus_one = self._tracer.cast(self._tracer.as_value(-1), self.dtype)
        return self._tracer.binary("xor", self, minus_one)

    def __getitem__(self, index: Any) -> TileValue:
        return self._tracer.subscript(self, index)

    # -- tensor methods ----------------------------------------------------------------------
    def to(self, *args: Any, **kwargs: Any) -> TileValue:
        dtype = kwargs.get("dtype")
        for a in args:
            if isinstance(a, torch.dtype):
                dtype = a
        if dtype is None:
            return self
        return self._tracer.cast(self, dtype)

    def float(self) -> TileValue:
        return self.to(torch.float32)

    def half(self) -> TileValue:
        return self.to(torch.float16)

    def bfloat16(self) -> TileValue:
        return self.to(torch.bfloat16)

    def int(self) -> TileValue:
        return self.to(torch.int32)

    def long(self) -> TileValue:
        return self.to(torch.int64)

    def sum(self, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> TileValue:
        return TORCH_FUNCTIONS[torch.sum](self._tracer, self, dim, keepdim, dtype=dtype)

    def mean(self, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> TileValue:
        return _mean(self._tracer, self, dim, keepdim, dtype=dtype)

    def amax(self, dim: Any = None, keepdim: bool = False) -> TileValue:
        return self._tracer.reduce("max", self, dim, keepdim)

    def amin(self, dim: Any = None, keepdim: bool = False) -> TileValue:
        return self._tracer.reduce("min", self, dim, keepdim)

    def argmax(self, dim: Any = None, keepdim: bool = False) -> TileValue:
        return self._tracer.reduce("argmax", self, dim, keepdim)

    def argmin(self, dim: Any = None, keepdim: bool = False) -> TileValue:
        return self._tracer.reduce("argmin", self, dim, keepdim)

    def exp(self) -> TileValue:
        return self._tracer.unary("exp", self)

    def log(self) -> TileValue:
        return self._tracer.unary("log", self)

    def sqrt(self) -> TileValue:
        return self._tracer.unary("sqrt", self)

    def rsqrt(self) -> TileValue:
        return self._tracer.unary("rsqrt", self)

    def sigmoid(self) -> TileValue:
        return self._tracer.unary("sigmoid", self)

    def tanh(self) -> TileValue:
        return self._tracer.unary("tanh", self)

    def abs(self) -> TileValue:
        return self._tracer.unary("abs", self)

    def pow(self, other: Any) -> TileValue:
        return self**other

    def cumsum(self, dim: int, dtype: Any = None) -> TileValue:
        return _cumulative("sum")(self._tracer, self, dim, dtype=dtype)

    def cumprod(self, dim: int, dtype: Any = None) -> TileValue:
        return _cumulative("prod")(self._tracer, self, dim, dtype=dtype)

    # ``x.new_full(size, v)`` and friends: a block of the given shape with ``x``'s dtype (the
    # device is the kernel's); the shape entries are tiles, sizes or ints, as for kl.full.
    @property
    def device(self) -> torch.device:
        """The kernel's device (a block lives where the kernel runs)."""
        return self._tracer.device

    new_full = TensorArg.new_full
    new_zeros = TensorArg.new_zeros
    new_ones = TensorArg.new_ones
    new_empty = TensorArg.new_empty

    def view(self, *shape: Any) -> TileValue:
        if len(shape) == 1 and isinstance(shape[0], torch.dtype):
            raise UnsupportedConstruct("view(dtype) (a bit cast) of a device value")
        return self._tracer.view(self, shape)

    @property
    def T(self) -> TileValue:  # noqa: N802 - torch's name
        """Reversed dims, as torch's ``.T`` (the identity on rank 0 and 1)."""
        if self.ndim < 2:
            return self
        return self._tracer.permute(self, list(reversed(range(self.ndim))))

    @property
    def mT(self) -> TileValue:  # noqa: N802 - torch's name
        return self._tracer.transpose(self, -2, -1)

    def t(self) -> TileValue:
        if self.ndim > 2:
            raise ShapeMismatch(f"t() of a value of rank {self.ndim}; use transpose(a, b)")
        return self.T

    def transpose(self, dim0: int, dim1: int) -> TileValue:
        return self._tracer.transpose(self, dim0, dim1)

    def permute(self, *dims: Any) -> TileValue:
        order = dims[0] if len(dims) == 1 and isinstance(dims[0], (list, tuple)) else dims
        return self._tracer.permute(self, list(order))

    def expand(self, *shape: Any) -> TileValue:
        return self._tracer.broadcast(self, shape)

    broadcast_to = expand

    def expand_as(self, other: Any) -> TileValue:
        return self._tracer.broadcast(self, self._tracer.as_value(other).size())

    def contiguous(self, *_: Any, **__: Any) -> TileValue:
        """A device value has no memory layout: the identity."""
        return self

    clone = contiguous
    detach = contiguous

    def type_as(self, other: Any) -> TileValue:
        return self.to(self._tracer.as_value(other).dtype)

    def double(self) -> TileValue:
        return self.to(torch.float64)

    def bool(self) -> TileValue:
        return self.to(torch.bool)

    reshape = view

    def squeeze(self, dim: int | None = None) -> TileValue:
        return self._tracer.squeeze(self, dim)

    def unsqueeze(self, dim: int) -> TileValue:
        return self._tracer.unsqueeze(self, dim)

    # torch.* functions called with a proxy operand land here.
    @classmethod
    def __torch_function__(cls, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        tracer = next(a._tracer for a in _flatten(args) if isinstance(a, TileValue))
        handler = TORCH_FUNCTIONS.get(func)
        if handler is None:
            raise UnsupportedConstruct(f"{_torch_name(func)} is not supported in device code")
        return call_handler(_torch_name(func), handler, tracer, args, kwargs, func)


#: Keywords of torch functions that cannot change a device value: where a tensor lives, its
#: memory layout, autograd bookkeeping, ``inplace`` (device values are SSA values: the
#: result is the same value either way), and the warning depth torch.nn.functional passes on.
NEUTRAL_KEYWORDS = frozenset(
    {
        "inplace",
        "memory_format",
        "device",
        "layout",
        "pin_memory",
        "requires_grad",
        "non_blocking",
        "_stacklevel",
    }
)


@functools.cache
def _default_keywords(func: Any) -> dict[str, Any]:
    """The defaults of a torch function written in Python (torch.nn.functional's): torch's
    dispatch passes every parameter on, defaults included. Empty for a C function."""
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return {}
    return {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}


@functools.cache
def handled_keywords(handler: Any) -> frozenset[str]:
    """The keywords ``handler`` names in its signature (through ``functools.wraps`` wrappers):
    the ones it implements. A keyword caught only by a ``**kwargs`` catch-all is not."""
    params = inspect.signature(handler).parameters.values()
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return frozenset(p.name for p in params if p.kind in named)


def call_handler(
    name: str, handler: Any, tracer: DeviceTracer, args: Any, kwargs: Any, func: Any = None
) -> Any:
    """``handler(tracer, *args, **kwargs)`` for the torch call ``name`` (of ``func``), refusing
    a keyword the handler does not implement unless it is None or ``func``'s default: dropping
    ``alpha=`` of torch.add or ``rounding_mode=`` of torch.div would compute another function
    than the one the user wrote."""
    defaults = _default_keywords(func) if func is not None else {}
    for key, value in kwargs.items():
        if key in NEUTRAL_KEYWORDS or key in handled_keywords(handler) or value is None:
            continue
        if key not in defaults or not _same_default(value, defaults[key]):
            raise UnsupportedConstruct(
                f"{name}(..., {key}=...) is not supported in device code (the keyword "
                f"{key!r} of {name} is not implemented)"
            )
    return handler(tracer, *args, **kwargs)


def _same_default(value: Any, default: Any) -> bool:
    return type(value) is type(default) and value == default


def _torch_name(func: Any) -> str:
    """A torch function as the user spells it: ``torch.nn.functional.silu``, ``torch.cumsum``
    (torch's C functions live in a private class; their public module is ``torch``)."""
    name = getattr(func, "__name__", None) or repr(func)
    module = getattr(func, "__module__", None) or "torch"
    if not module.startswith("torch") or module.startswith("torch._"):
        module = "torch"
        for sub in ("special", "linalg", "fft"):  # torch.special.erf is `special_erf` in C
            if name.startswith(sub + "_"):
                module, name = f"torch.{sub}", name[len(sub) + 1 :]
    return f"{module}.{name}"


def _flatten(args: Any) -> list[Any]:
    out: list[Any] = []
    for a in args:
        if isinstance(a, (list, tuple)):
            out.extend(_flatten(a))
        else:
            out.append(a)
    return out


def _unary(kind: str):
    return lambda tr, x, *a, **k: tr.unary(kind, tr.as_value(x))


def _reduction(kind: str):
    def handler(
        tr: DeviceTracer, x: Any, dim: Any = None, keepdim: bool = False, *, dtype: Any = None
    ):
        v = tr.as_value(x)  # torch converts the input to ``dtype`` first
        return tr.reduce(kind, v if dtype is None else tr.cast(v, dtype), dim, keepdim)

    return handler


def _mean(
    tr: DeviceTracer, x: Any, dim: Any = None, keepdim: bool = False, *, dtype: Any = None
) -> TileValue:
    v = tr.as_value(x)  # torch converts the input to ``dtype`` first
    return tr.mean(v if dtype is None else tr.cast(v, dtype), dim, keepdim)


def _binary(kind: str):
    return lambda tr, a, b: tr.binary(kind, tr.as_value(a), tr.as_value(b))


def _add_or_sub(kind: str):
    """torch.add/sub(a, b, alpha=k): ``a + k * b`` (``a - k * b``)."""

    def handler(tr: DeviceTracer, a: Any, b: Any, *, alpha: Any = 1) -> TileValue:
        rhs = tr.as_value(b)
        if not (isinstance(alpha, (int, float)) and alpha == 1):
            rhs = tr.binary("mul", rhs, tr.as_value(alpha))
        return tr.binary(kind, tr.as_value(a), rhs)

    return handler


def _div(tr: DeviceTracer, a: Any, b: Any, *, rounding_mode: Any = None) -> TileValue:
    """torch.div: true division, or rounded toward -inf (``floor``) or toward zero (``trunc``);
    integer operands keep their dtype when rounded, as in torch."""
    x, y = tr.as_value(a), tr.as_value(b)
    if rounding_mode is None:
        return tr.binary("div", x, y)
    if rounding_mode == "floor":
        return tr.binary("floordiv", x, y)
    if rounding_mode != "trunc":
        raise UnsupportedConstruct(
            f"torch.div: rounding_mode must be None, 'trunc' or 'floor', not {rounding_mode!r}"
        )
    if x.dtype.is_floating_point or y.dtype.is_floating_point:
        return ELEMENTWISE_FUNCTIONS[torch.trunc](tr, tr.binary("div", x, y))
    # Integers: the floor of |x| / |y| is its truncation; the quotient's sign is put back.
    # Signs are those of the operands converted to the result's dtype (torch wraps a Python
    # int into it: uint8 by -7 divides by 249).
    common = dtypes.to_torch(t.result_dtype([x.type, y.type]))
    x, y = tr.cast(x, common), tr.cast(y, common)
    q = tr.binary("floordiv", tr.unary("abs", x), tr.unary("abs", y))
    zero = tr.as_value(0)
    negative = tr.binary("ne", tr.binary("lt", x, zero), tr.binary("lt", y, zero))
    return tr.select(negative, tr.unary("neg", q), q)


def _clamp(tr: DeviceTracer, x: Any, min: Any = None, max: Any = None, **_: Any) -> TileValue:  # noqa: A002
    out = tr.as_value(x)
    if min is not None:
        out = tr.binary("maximum", out, tr.as_value(min))
    if max is not None:
        out = tr.binary("minimum", out, tr.as_value(max))
    return out


def _where(tr: DeviceTracer, cond: Any, a: Any, b: Any) -> TileValue:
    return tr.select(tr.as_value(cond), tr.as_value(a), tr.as_value(b))


def _softmax_input(tr: DeviceTracer, x: Any, dtype: Any) -> TileValue:
    """torch's softmax(x, dim, dtype=d) casts x to d first, and computes in d."""
    v = tr.as_value(x)
    return v if dtype is None else tr.cast(v, dtype)


def _softmax(tr: DeviceTracer, x: Any, dim: int = -1, *_: Any, dtype: Any = None, **__: Any):
    return tr.softmax(_softmax_input(tr, x, dtype), dim, log=False)


def _log_softmax(tr: DeviceTracer, x: Any, dim: int = -1, *_: Any, dtype: Any = None, **__: Any):
    return tr.softmax(_softmax_input(tr, x, dtype), dim, log=True)


def _cast_like(tr: DeviceTracer, x: Any, fill: float, dtype: Any = None, **_: Any) -> TileValue:
    v = tr.as_value(x)
    return tr.full_dims(v.dims, fill, dtype or v.dtype)


def _matmul(tr: DeviceTracer, a: Any, b: Any, out_dtype: Any = None, **_: Any) -> TileValue:
    return tr.dot(a, b, out_dtype=out_dtype)


def _addmm(tr: DeviceTracer, acc: Any, a: Any, b: Any, *, beta: Any = 1, alpha: Any = 1, **_: Any):
    return tr.dot(a, b, acc, alpha=alpha, beta=beta)


def _relu(tr: DeviceTracer, x: Any, *_: Any, **__: Any) -> TileValue:
    return tr.binary("maximum", tr.as_value(x), tr.as_value(0))


def _gelu(tr: DeviceTracer, x: Any, approximate: str = "none", **_: Any) -> TileValue:
    v = tr.as_value(x)
    xf = tr.cast(v, torch.float32) if v.dtype != torch.float64 else v
    if approximate == "tanh":  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = tr.binary("mul", tr.binary("mul", xf, xf), xf)
        inner = tr.binary("add", xf, tr.binary("mul", cube, tr.as_value(0.044715)))
        t_ = tr.unary("tanh", tr.binary("mul", inner, tr.as_value(0.7978845608028654)))
    else:  # 0.5 x (1 + erf(x / sqrt(2)))
        t_ = tr.unary("erf", tr.binary("mul", xf, tr.as_value(0.7071067811865476)))
    half_x = tr.binary("mul", xf, tr.as_value(0.5))
    return tr.cast(tr.binary("mul", half_x, tr.binary("add", t_, tr.as_value(1.0))), v.dtype)


def _cumulative(kind: str):
    """torch.cumsum/cumprod(x, dim, dtype=None): ``dtype`` converts the input first."""

    def handler(tr: DeviceTracer, x: Any, dim: Any, *, dtype: Any = None, **_: Any) -> Any:
        v = tr.as_value(x)
        return tr.scan(kind, v if dtype is None else tr.cast(v, dtype), dim, False)

    return handler


def _lerp(tr: DeviceTracer, start: Any, end: Any, weight: Any) -> TileValue:
    """torch.lerp's two formulas: ``start + w * (end - start)`` for ``|w| < 0.5``, else
    ``end - (end - start) * (1 - w)``, so that ``w = 1`` gives ``end`` exactly."""
    a, b, w = tr.as_value(start), tr.as_value(end), tr.as_value(weight)
    diff = tr.binary("sub", b, a)
    low = tr.binary("add", a, tr.binary("mul", w, diff))
    one_minus = tr.binary("sub", tr.as_value(1.0), w)
    high = tr.binary("sub", b, tr.binary("mul", diff, one_minus))
    small = tr.binary("lt", tr.unary("abs", w), tr.as_value(0.5))
    return tr.select(small, low, high)


TORCH_FUNCTIONS: dict[Any, Any] = {
    torch.cumsum: _cumulative("sum"),
    torch.cumprod: _cumulative("prod"),
    torch.exp: _unary("exp"),
    torch.exp2: _unary("exp2"),
    torch.log: _unary("log"),
    torch.log2: _unary("log2"),
    torch.sqrt: _unary("sqrt"),
    torch.rsqrt: _unary("rsqrt"),
    torch.sigmoid: _unary("sigmoid"),
    torch.tanh: _unary("tanh"),
    torch.sin: _unary("sin"),
    torch.cos: _unary("cos"),
    torch.abs: _unary("abs"),
    torch.neg: _unary("neg"),
    torch.erf: _unary("erf"),
    torch.nn.functional.sigmoid: _unary("sigmoid"),
    torch.sum: _reduction("sum"),
    torch.amax: _reduction("max"),
    torch.amin: _reduction("min"),
    torch.argmax: _reduction("argmax"),
    torch.argmin: _reduction("argmin"),
    torch.prod: _reduction("prod"),
    torch.mean: _mean,
    torch.maximum: _binary("maximum"),
    torch.minimum: _binary("minimum"),
    torch.clamp: _clamp,
    torch.clip: _clamp,
    torch.add: _add_or_sub("add"),
    torch.sub: _add_or_sub("sub"),
    torch.mul: _binary("mul"),
    torch.div: _div,
    torch.pow: _binary("pow"),
    torch.where: _where,
    torch.lerp: _lerp,
    torch.softmax: _softmax,
    torch.nn.functional.softmax: _softmax,
    torch.log_softmax: _log_softmax,
    torch.nn.functional.log_softmax: _log_softmax,
    torch.zeros_like: lambda tr, x, dtype=None, **_: _cast_like(tr, x, 0.0, dtype),
    torch.ones_like: lambda tr, x, dtype=None, **_: _cast_like(tr, x, 1.0, dtype),
    torch.full_like: lambda tr, x, fill, dtype=None, **_: _cast_like(tr, x, fill, dtype),
    torch.empty_like: lambda tr, x, dtype=None, **_: _cast_like(tr, x, 0.0, dtype),
    torch.matmul: _matmul,
    torch.mm: _matmul,
    torch.bmm: _matmul,
    torch.addmm: _addmm,
    torch.baddbmm: _addmm,
    torch.relu: _relu,
    torch.nn.functional.relu: _relu,
    torch.nn.functional.gelu: _gelu,
    torch.transpose: lambda tr, x, a, b: tr.transpose(tr.as_value(x), a, b),
    torch.swapaxes: lambda tr, x, a, b: tr.transpose(tr.as_value(x), a, b),
    torch.permute: lambda tr, x, dims: tr.permute(tr.as_value(x), list(dims)),
    torch.t: lambda tr, x: tr.as_value(x).t(),
    torch.broadcast_to: lambda tr, x, shape: tr.broadcast(tr.as_value(x), shape),
    torch.reshape: lambda tr, x, shape: tr.view(tr.as_value(x), shape),
    torch.squeeze: lambda tr, x, dim=None: tr.squeeze(tr.as_value(x), dim),
    torch.unsqueeze: lambda tr, x, dim: tr.unsqueeze(tr.as_value(x), dim),
    torch.bitwise_and: _binary("and"),
    torch.bitwise_or: _binary("or"),
    torch.bitwise_xor: _binary("xor"),
    torch.bitwise_left_shift: _binary("shl"),
    torch.bitwise_right_shift: _binary("shr"),
    torch.bitwise_not: lambda tr, x, **_: ~tr.as_value(x),
    **ELEMENTWISE_FUNCTIONS,
    **REDUCTION_FUNCTIONS,
    **CONCAT_FUNCTIONS,
}


def _method(name: str, handler: Any) -> Any:
    def method(self: TileValue, *args: Any, **kwargs: Any) -> Any:
        return call_handler(f"Tensor.{name}", handler, self._tracer, (self, *args), kwargs)

    return method


# Tensor methods that mirror a torch function (x.sin(), x.clamp(0, 1), x.log1p(), x.max(1))
# call that function's handler with the value first; methods defined above keep their own.
for _name in sorted(dir(torch.Tensor)):
    _fn = getattr(torch, _name, None) if not _name.startswith("_") else None
    if _fn is not None and _fn in TORCH_FUNCTIONS and _name not in vars(TileValue):
        setattr(TileValue, _name, _method(_name, TORCH_FUNCTIONS[_fn]))


def check_same(a: TileValue, b: TileValue, what: str) -> None:
    if a.dims != b.dims:
        raise ShapeMismatch(f"{what}: shapes {list(a.dims)} and {list(b.dims)} differ")
