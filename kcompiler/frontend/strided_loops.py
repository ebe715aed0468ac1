"""Sequential and grid loops with a step: ``range(start, stop, step)`` and ``kl.grid(...,
step=)`` where the step is not the constant 1 and a bound or the step is known only at run time.

Rule: such a loop is a unit-step ``grid`` loop over its trip count, and the loop variable is a
position computed from the counter, so the IR needs no op of its own:

    %trips = ((stop - start) + (step - sign(step))) // step      floor division
    tile.for %j = 0 to %trips block 1 kind grid { %i = start + begin(%j) * step; ... }

The trip count is Python's ``len(range(start, stop, step))`` for either sign of the step
(floor division of ``stop - start + step - sign(step)`` by ``step`` is the ceiling of the
span over the step, and is zero or negative when the range is empty, which runs no
iterations). A step known when the kernel compiles (a literal, a ``kl.constexpr``, a
``kl.specialize``'d int, or a host int equal to 0 or 1, which the specialization keeps static)
folds ``sign(step)``; a run-time step (an int argument, a loaded scalar) picks it with a select.

Why not a ``tl.range`` with the step: Triton's loop takes a negative step only as a
compile-time constant (``scf.for`` needs a positive one), and a run-time step of either sign is
what ``range(n - 1, -1, s)`` over an int argument means.

A zero step is refused when the kernel compiles if it is known then (Python's ``range`` raises
for it); a loaded scalar that is zero at run time makes the loop run no iterations, as no
position of the range is defined.
"""

from __future__ import annotations

from typing import Any

import torch

from kcompiler.dialects import tile as t
from kcompiler.exc import UnsupportedConstruct
from kcompiler.frontend.values import TileValue


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def static_step(x: Any) -> int | None:
    """A step's value when the kernel compiles: a Python int or an integer constant op."""
    if _is_int(x):
        return int(x)
    if isinstance(x, TileValue):
        owner = x.value.owner
        if isinstance(owner, t.ConstantOp) and isinstance(owner.value.value.data, int):  # type: ignore[union-attr]
            return int(owner.value.value.data)  # type: ignore[union-attr]
    return None


def check_step(tr: Any, step: Any, written: str) -> None:
    """A step is a nonzero integer: an int, or a 0-d integer device value (not a bool)."""
    if isinstance(step, TileValue):
        ok = step.ndim == 0 and not step.dtype.is_floating_point and step.dtype != torch.bool
    else:
        ok = _is_int(step)
    if not ok:
        if not isinstance(step, TileValue):
            what = f"{type(step).__name__} {step!r}"
        elif step.ndim:
            what = f"a block of shape {list(step.dims)}"
        else:
            what = f"a {str(step.dtype).removeprefix('torch.')} device value"
        raise tr.error(
            UnsupportedConstruct,
            f"{written}: the step of a device loop must be an integer (a literal, an int "
            f"argument or a loaded integer scalar), got {what}",
        )
    if static_step(step) == 0:
        raise tr.error(UnsupportedConstruct, f"{written}: a loop's step must not be zero")


def trip_count(tr: Any, start: Any, stop: Any, step: Any) -> TileValue:
    """``len(range(start, stop, step))`` as a 0-d integer (zero or negative: no iterations)."""
    span = tr.as_value(stop)
    if not (_is_int(start) and start == 0):
        span = tr.binary("sub", span, tr.as_value(start))
    fixed = static_step(step)
    if fixed is not None:
        bias = fixed - 1 if fixed > 0 else fixed + 1
        num = tr.binary("add", span, tr.as_value(bias)) if bias else span
        return tr.binary("floordiv", num, tr.as_value(fixed))
    s = tr.as_value(step)
    bias = tr.select(
        tr.binary("gt", s, tr.as_value(0)),
        tr.binary("sub", s, tr.as_value(1)),
        tr.binary("add", s, tr.as_value(1)),
    )
    num = tr.binary("add", span, bias)
    zero = tr.binary("eq", s, tr.as_value(0))
    # A zero step divides by one and then selects no iterations: no lane divides by zero.
    divisor = tr.select(zero, tr.as_value(1), s)
    return tr.select(zero, tr.as_value(0), tr.binary("floordiv", num, divisor))


def position(tr: Any, start: Any, counter: TileValue, step: Any) -> TileValue:
    """The loop variable of iteration ``counter``: ``start + counter * step``."""
    moved = tr.binary("mul", counter, tr.as_value(step))
    if _is_int(start) and start == 0:
        return moved
    return tr.binary("add", tr.as_value(start), moved)
