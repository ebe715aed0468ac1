"""torch's composite reductions in device code: ``max``/``min`` along a dim (values and
indices), ``logsumexp``, ``var`` and ``std``.

Each is built from ``tile.reduce`` and elementwise tile ops, so the dialect's typing gives its
shape and dtype; half inputs compute in float32 and round once, as torch does. Like ``mean``,
``var``/``std`` divide by the size of the reduced dims, so they reduce whole dims (``:``), not
tiles. ``REDUCTION_FUNCTIONS`` is merged into the proxy's torch-function table (values.py).
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from typing import Any

import torch

# The tracer and its values import this table; their types are named without importing them.
DeviceTracer = Any
TileValue = Any

#: What torch.max(x, dim) returns: a pair that also has ``.values`` and ``.indices``.
ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])


def _extreme(kind: str, binary: str) -> Callable[..., Any]:
    """torch.max / torch.min: of a whole value, with a second operand (elementwise), or along
    ``dim`` (values and indices, the first index of the extreme as torch returns)."""

    def handler(tr: DeviceTracer, x: Any, dim: Any = None, keepdim: bool = False, **_: Any):
        if dim is not None and not isinstance(dim, int):  # torch.max(a, b): elementwise
            return tr.binary(binary, tr.as_value(x), tr.as_value(dim))
        v = tr.as_value(x)
        if dim is None:
            return tr.reduce(kind, v, None, False)
        values = tr.reduce(kind, v, dim, keepdim)
        return ValuesIndices(values, tr.reduce("arg" + kind, v, dim, keepdim))

    return handler


def _wide(tr: DeviceTracer, x: Any) -> tuple[TileValue, torch.dtype]:
    v = tr.as_value(x)
    if not v.dtype.is_floating_point:
        return tr.cast(v, torch.float32), torch.float32
    return (v if v.dtype == torch.float64 else tr.cast(v, torch.float32)), v.dtype


def _logsumexp(tr: DeviceTracer, x: Any, dim: Any, keepdim: bool = False, **_: Any) -> TileValue:
    """log(sum(exp(x))) shifted by the max; an all -inf (or +inf) row keeps torch's answer."""
    v, dtype = _wide(tr, x)
    m = tr.reduce("max", v, dim, True)
    finite = tr.binary("lt", tr.unary("abs", m), tr.as_value(float("inf")))
    shift = tr.select(finite, m, tr.as_value(0.0))
    total = tr.reduce("sum", tr.unary("exp", tr.binary("sub", v, shift)), dim, True)
    out = tr.binary("add", tr.unary("log", total), shift)
    if not keepdim:
        out = tr.squeeze_dims(out, tr.reduced_axes(v, dim))
    return tr.cast(out, dtype)


def _variance_function(
    finish: Callable[[DeviceTracer, TileValue, TileValue, Any, bool], Any],
) -> Callable[..., Any]:
    """A handler with torch.var's arguments: the variance of the input widened to float32,
    turned into the function's result by ``finish(tr, input, variance, dim, keepdim)``, each
    result cast back to the input's dtype."""

    def handler(
        tr: DeviceTracer,
        x: Any,
        dim: Any = None,
        unbiased: Any = None,
        keepdim: bool = False,
        *,
        correction: Any = None,
    ) -> Any:
        v, dtype = _wide(tr, x)
        out = finish(tr, v, _variance(tr, v, dim, unbiased, keepdim, correction), dim, keepdim)
        if isinstance(out, tuple):
            return tuple(tr.cast(o, dtype) for o in out)
        return tr.cast(out, dtype)

    return handler


_var = _variance_function(lambda tr, v, var, dim, keepdim: var)
_std = _variance_function(lambda tr, v, var, dim, keepdim: tr.unary("sqrt", var))
_var_mean = _variance_function(lambda tr, v, var, dim, keepdim: (var, tr.mean(v, dim, keepdim)))


def _variance(
    tr: DeviceTracer, v: TileValue, dim: Any, unbiased: Any, keepdim: bool, correction: Any
) -> TileValue:
    """sum((x - mean)^2) / (N - correction); correction defaults to 1 (Bessel), as torch's."""
    if isinstance(unbiased, bool) and correction is None:
        correction = 1 if unbiased else 0
    correction = 1 if correction is None else correction
    mean = tr.mean(v, dim, True)
    centered = tr.binary("sub", v, mean)
    total = tr.reduce("sum", tr.binary("mul", centered, centered), dim, keepdim)
    count = tr.binary("sub", tr.reduced_count(v, dim), tr.as_value(float(correction)))
    return tr.binary("div", total, count)


REDUCTION_FUNCTIONS: dict[Any, Callable[..., Any]] = {
    torch.max: _extreme("max", "maximum"),
    torch.min: _extreme("min", "minimum"),
    torch.logsumexp: _logsumexp,
    torch.var: _var,
    torch.std: _std,
    torch.var_mean: _var_mean,
}
