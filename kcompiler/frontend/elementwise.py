"""torch's activation and elementwise functions in device code, as tile ops.

Each handler takes the tracer and torch's arguments and builds the function from the tile
dialect's elementwise ops (``tile.unary``, ``tile.binary``, ``tile.select``, ``tile.cast``), so
each gets its dtype and shape from those ops' typing rules. Half-precision inputs are computed
in float32 and rounded once at the end, as torch's CPU and CUDA kernels do (their "opmath").
``ELEMENTWISE_FUNCTIONS`` maps the torch callables to the handlers; the proxy's
``__torch_function__`` table (values.py) includes it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import torch

# The tracer (frontend/tracer.py) and its values (frontend/values.py) import this table, so
# this module names their types without importing them.
DeviceTracer = Any
TileValue = Any
Handler = Callable[..., Any]


def _float_op(body: Callable[[DeviceTracer, TileValue], TileValue]) -> Handler:
    """A float function: integer inputs become float32 (as torch's do), halves compute in
    float32 and round back."""

    @functools.wraps(body)  # its signature: the keywords the op implements
    def handler(tr: DeviceTracer, x: Any, *args: Any, **kwargs: Any) -> TileValue:
        v = tr.as_value(x)
        if not v.dtype.is_floating_point:
            return body(tr, tr.cast(v, torch.float32), *args, **kwargs)
        wide = v.dtype == torch.float64
        out = body(tr, v if wide else tr.cast(v, torch.float32), *args, **kwargs)
        return tr.cast(out, v.dtype)

    return handler


def _c(tr: DeviceTracer, value: float) -> TileValue:
    return tr.as_value(value)


def _mul(tr: DeviceTracer, a: TileValue, b: Any) -> TileValue:
    return tr.binary("mul", a, tr.as_value(b))


def _softplus_f(tr: DeviceTracer, x: TileValue, beta: float = 1.0, threshold: float = 20.0):
    bx = _mul(tr, x, beta) if beta != 1 else x
    soft = tr.unary("log1p", tr.unary("exp", bx))
    if beta != 1:
        soft = tr.binary("div", soft, _c(tr, beta))
    return tr.select(tr.binary("gt", bx, _c(tr, threshold)), x, soft)


def _silu_f(tr: DeviceTracer, x: TileValue, *_: Any, **__: Any) -> TileValue:
    return tr.binary("mul", x, tr.unary("sigmoid", x))


def _leaky_relu_f(tr: DeviceTracer, x: TileValue, negative_slope: float = 0.01, *_: Any, **__: Any):
    return tr.select(tr.binary("gt", x, _c(tr, 0.0)), x, _mul(tr, x, negative_slope))


def _elu_f(tr: DeviceTracer, x: TileValue, alpha: float = 1.0, *_: Any, **__: Any) -> TileValue:
    return tr.select(tr.binary("gt", x, _c(tr, 0.0)), x, _mul(tr, tr.unary("expm1", x), alpha))


def _hardtanh_f(
    tr: DeviceTracer, x: TileValue, min_val: float = -1.0, max_val: float = 1.0, *_a: Any, **_k: Any
):
    lo = tr.binary("maximum", x, _c(tr, min_val))
    return tr.binary("minimum", lo, _c(tr, max_val))


def _hardsigmoid_f(tr: DeviceTracer, x: TileValue, *_: Any, **__: Any) -> TileValue:
    return _hardtanh_f(tr, tr.binary("add", _mul(tr, x, 1 / 6), _c(tr, 0.5)), 0.0, 1.0)


def _hardswish_f(tr: DeviceTracer, x: TileValue, *_: Any, **__: Any) -> TileValue:
    return tr.binary("mul", x, _hardsigmoid_f(tr, x))


def _mish_f(tr: DeviceTracer, x: TileValue, *_: Any, **__: Any) -> TileValue:
    return tr.binary("mul", x, tr.unary("tanh", _softplus_f(tr, x)))


def _logsigmoid_f(tr: DeviceTracer, x: TileValue, *_: Any, **__: Any) -> TileValue:
    # -softplus(-x) = min(x, 0) - log1p(exp(-|x|)): no overflow for large |x|.
    tail = tr.unary("log1p", tr.unary("exp", tr.unary("neg", tr.unary("abs", x))))
    return tr.binary("sub", tr.binary("minimum", x, _c(tr, 0.0)), tail)


def _integral_identity(kind: str) -> Handler:
    """floor/ceil: the identity on integers (torch keeps their dtype), else the float op."""

    def handler(tr: DeviceTracer, x: Any, *_: Any, **__: Any) -> TileValue:
        v = tr.as_value(x)
        if not v.dtype.is_floating_point:
            return v
        return tr.unary(kind, v)

    return handler


def _trunc(tr: DeviceTracer, x: Any, *_: Any, **__: Any) -> TileValue:
    v = tr.as_value(x)
    if not v.dtype.is_floating_point:
        return v
    neg = tr.binary("lt", v, _c(tr, 0.0))
    return tr.select(neg, tr.unary("ceil", v), tr.unary("floor", v))


def _round(tr: DeviceTracer, x: Any, *_: Any, decimals: int = 0, **__: Any) -> TileValue:
    """Round half to even (torch.round); ``decimals`` scales by 10**decimals first, as torch
    does. From floor alone: r = floor(x + 0.5), and a tie that landed on an odd r steps back."""
    v = tr.as_value(x)
    if not v.dtype.is_floating_point:
        return v
    wide = v.dtype == torch.float64
    xf = v if wide else tr.cast(v, torch.float32)
    scale = 10.0**decimals
    if decimals:
        xf = _mul(tr, xf, scale)
    r = tr.unary("floor", tr.binary("add", xf, _c(tr, 0.5)))
    tie = tr.binary("eq", tr.binary("sub", r, xf), _c(tr, 0.5))
    half_r = tr.unary("floor", _mul(tr, r, 0.5))
    odd = tr.binary("ne", tr.binary("sub", r, _mul(tr, half_r, 2.0)), _c(tr, 0.0))
    rounded = tr.select(tr.binary("and", tie, odd), tr.binary("sub", r, _c(tr, 1.0)), r)
    # At 2**mantissa and beyond every value is an integer, and x + 0.5 would round itself.
    big = tr.binary("ge", tr.unary("abs", xf), _c(tr, 2.0 ** (52 if wide else 23)))
    out = tr.select(big, xf, rounded)
    if decimals:
        out = tr.binary("div", out, _c(tr, scale))
    return tr.cast(out, v.dtype)


def _sign(tr: DeviceTracer, x: Any, *_: Any, **__: Any) -> TileValue:
    """-1, 0 or 1 in x's dtype (torch gives 0 for NaN and for both zeros)."""
    v = tr.as_value(x)
    if v.dtype == torch.bool:
        return v
    zero = tr.cast(tr.as_value(0), v.dtype)
    one, minus = tr.cast(tr.as_value(1), v.dtype), tr.cast(tr.as_value(-1), v.dtype)
    inner = tr.select(tr.binary("lt", v, zero), minus, zero)
    return tr.select(tr.binary("gt", v, zero), one, inner)


def _isnan(tr: DeviceTracer, x: Any, *_: Any, **__: Any) -> TileValue:
    v = tr.as_value(x)
    if not v.dtype.is_floating_point:
        return tr.full_dims(v.dims, False, torch.bool)
    return tr.binary("ne", v, v)


def _isinf(tr: DeviceTracer, x: Any, *_: Any, **__: Any) -> TileValue:
    v = tr.as_value(x)
    if not v.dtype.is_floating_point:
        return tr.full_dims(v.dims, False, torch.bool)
    return tr.binary("eq", tr.unary("abs", v), _c(tr, math.inf))


def _isfinite(tr: DeviceTracer, x: Any, *_: Any, **__: Any) -> TileValue:
    v = tr.as_value(x)
    if not v.dtype.is_floating_point:
        return tr.full_dims(v.dims, True, torch.bool)
    return tr.binary("lt", tr.unary("abs", v), _c(tr, math.inf))  # NaN compares false


def _nan_to_num(
    tr: DeviceTracer, x: Any, nan: float = 0.0, posinf: Any = None, neginf: Any = None, **_: Any
) -> TileValue:
    v = tr.as_value(x)
    if not v.dtype.is_floating_point:
        return v
    info = torch.finfo(v.dtype)
    hi = info.max if posinf is None else posinf
    lo = info.min if neginf is None else neginf
    # Python numbers stay 0-d float32 literals: select gives the ranked operand's dtype.
    out = tr.select(tr.binary("eq", v, _c(tr, -math.inf)), tr.as_value(float(lo)), v)
    out = tr.select(tr.binary("eq", v, _c(tr, math.inf)), tr.as_value(float(hi)), out)
    return tr.select(tr.binary("ne", v, v), tr.as_value(float(nan)), out)


def _square(tr: DeviceTracer, x: Any, *_: Any, **__: Any) -> TileValue:
    v = tr.as_value(x)
    return tr.binary("mul", v, v)


def _reciprocal(tr: DeviceTracer, x: Any, *_: Any, **__: Any) -> TileValue:
    return tr.binary("div", _c(tr, 1.0), tr.as_value(x))


def _clamp_min(tr: DeviceTracer, x: Any, min: Any, **_: Any) -> TileValue:  # noqa: A002
    return tr.binary("maximum", tr.as_value(x), tr.as_value(min))


def _clamp_max(tr: DeviceTracer, x: Any, max: Any, **_: Any) -> TileValue:  # noqa: A002
    return tr.binary("minimum", tr.as_value(x), tr.as_value(max))


def _float_unary(kind: str) -> Handler:
    return _float_op(lambda tr, v, *_, **__: tr.unary(kind, v))


def _no_inplace(body: Handler) -> Handler:
    """F.relu(x, inplace=True) and friends: device values are immutable SSA values, so
    ``inplace`` only changes which name holds the result; the handler ignores it."""

    @functools.wraps(body)  # its signature: the keywords the op implements
    def handler(tr: DeviceTracer, x: Any, *args: Any, inplace: bool = False, **kwargs: Any):
        return body(tr, x, *args, **kwargs)

    return handler


F = torch.nn.functional

ELEMENTWISE_FUNCTIONS: dict[Any, Handler] = {
    F.silu: _no_inplace(_float_op(_silu_f)),
    F.softplus: _float_op(_softplus_f),
    F.leaky_relu: _no_inplace(_float_op(_leaky_relu_f)),
    F.elu: _no_inplace(_float_op(_elu_f)),
    F.hardtanh: _no_inplace(_float_op(_hardtanh_f)),
    F.relu6: _no_inplace(_float_op(lambda tr, x, *_, **__: _hardtanh_f(tr, x, 0.0, 6.0))),
    F.hardsigmoid: _no_inplace(_float_op(_hardsigmoid_f)),
    F.hardswish: _no_inplace(_float_op(_hardswish_f)),
    F.mish: _no_inplace(_float_op(_mish_f)),
    F.logsigmoid: _float_op(_logsigmoid_f),
    F.tanh: _float_unary("tanh"),
    torch.special.expit: _float_unary("sigmoid"),
    torch.special.erf: _float_unary("erf"),
    torch.special.log1p: _float_unary("log1p"),
    torch.special.expm1: _float_unary("expm1"),
    torch.log1p: _float_unary("log1p"),
    torch.expm1: _float_unary("expm1"),
    torch.floor: _integral_identity("floor"),
    torch.ceil: _integral_identity("ceil"),
    torch.trunc: _trunc,
    torch.fix: _trunc,
    torch.round: _round,
    torch.sign: _sign,
    torch.sgn: _sign,
    torch.isnan: _isnan,
    torch.isinf: _isinf,
    torch.isfinite: _isfinite,
    torch.nan_to_num: _nan_to_num,
    torch.square: _square,
    torch.reciprocal: _reciprocal,
    torch.clamp_min: _clamp_min,
    torch.clamp_max: _clamp_max,
}
