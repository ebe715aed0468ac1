"""Differential testing of kernels against PyTorch: hypothesis strategies and a comparator.

This is the user-facing way to test your own kernels. Write the reference in plain torch,
let hypothesis draw the awkward inputs a GPU kernel tends to get wrong (sizes of 1, sizes just
past a power of two, transposed or strided views, half precision), and compare::

    from hypothesis import given, strategies as st
    from kcompiler.testing import assert_matches_torch, dtypes, shapes, tensors

    @given(st.data())
    def test_my_softmax(data):
        x = data.draw(tensors(shapes(2, max_numel=2**16), dtypes()))
        assert_matches_torch(
            my_softmax, lambda x: torch.softmax(x.float(), -1).to(x.dtype), x
        )

Strategies accept either plain values or other strategies for their parameters, so
``tensors((m, n), torch.float16)`` and ``tensors(shapes(2), dtypes())`` both work. Tensor values
come from a seeded ``torch.randn`` rather than element-by-element hypothesis draws: a kernel's
bugs depend on shapes, strides and dtypes far more than on the exact numbers, and drawing
thousands of elements through hypothesis would dominate the test's run time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from kcompiler.runtime.tuning import output_scale
from kcompiler.testing_values import REGIMES, apply_regime, regime_parameters

__all__ = [
    "FLOAT_DTYPES",
    "LAYOUTS",
    "REGIMES",
    "SPECIAL_SIZES",
    "assert_matches_torch",
    "call_with_config",
    "default_tolerances",
    "dtypes",
    "few_examples",
    "magnitude_atol",
    "marker_line",
    "reduction_atol",
    "shapes",
    "sizes",
    "tensors",
]

#: Sizes that break kernels: 1 (broadcast-like, often special-cased), 3 and 17 (odd, smaller
#: and just larger than typical block sizes), 1000 (not a power of two, needs a mask) and 4097
#: (one past a power of two: a whole extra, almost empty block).
SPECIAL_SIZES: tuple[int, ...] = (1, 3, 17, 1000, 4097)

#: The floating dtypes kernels are usually written for.
FLOAT_DTYPES: tuple[torch.dtype, ...] = (torch.float32, torch.float16, torch.bfloat16)

#: How ``tensors`` may lay out an input: ``contiguous``; ``transposed`` (a view with the last
#: two dims swapped, so the innermost stride is not 1); ``strided`` (every other element, with
#: a storage offset of one); ``expanded`` (one dim broadcast with stride 0).
LAYOUTS: tuple[str, ...] = ("contiguous", "transposed", "strided", "expanded")

# (rtol, atol) per output dtype. fp32 leaves room for a different summation order; half
# precision allows about one rounding of the result (fp16 has 11 significant bits, bf16 8).
_TOLERANCES: dict[torch.dtype, tuple[float, float]] = {
    torch.float64: (1e-7, 1e-7),
    torch.float32: (1e-4, 1e-5),
    torch.float16: (1e-2, 1e-2),
    torch.bfloat16: (2e-2, 2e-2),
}


def few_examples(n: int) -> settings:
    """Hypothesis settings for a test whose every example compiles a kernel variant: ``n``
    examples, no deadline (a first compile is slow), no shrinking (each shrink step compiles
    again), and no health checks (their timing thresholds count the compiles)."""
    return settings(
        max_examples=n,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


def marker_line(path: str, marker: str) -> int:
    """The 1-based line of ``path`` holding the comment ``# <- marker``: what a located error
    must name, found without hard-coding line numbers."""
    with open(path) as f:
        return next(i for i, line in enumerate(f, 1) if f"# <- {marker}" in line)


def call_with_config(kernel: Any, config: Any, *args: Any, **kwargs: Any) -> Any:
    """``kernel(*args, **kwargs)`` through the user's call path with ``config`` as the kernel's
    config for this one call; the kernel's own config is restored afterwards."""
    saved = kernel.config
    kernel.config = config
    try:
        return kernel(*args, **kwargs)
    finally:
        kernel.config = saved


def default_tolerances(dtype: torch.dtype) -> tuple[float, float]:
    """``(rtol, atol)`` used by ``assert_matches_torch`` for outputs of ``dtype``.

    Integer and bool outputs must match exactly.
    """
    return _TOLERANCES.get(dtype, (0.0, 0.0))


def magnitude_atol(dtype: torch.dtype, want: torch.Tensor) -> float:
    """The default absolute tolerance of ``dtype`` scaled down to the output's size.

    The defaults' absolute floors (1e-2 fp16, 2e-2 bf16) are about one rounding of a value of
    size 1; an output whose values are all much smaller (a softmax row of N columns is ~1/N)
    would pass with any content, zeros included. So the floor is multiplied by the mean
    magnitude of the reference's finite values when that is below 1 (never loosened above the
    default): ``atol = default_atol * min(1, mean |want|)``. The relative tolerance is unchanged.
    """
    _, atol = default_tolerances(dtype)
    return atol * min(1.0, output_scale(want))


def normalize_atol(x: torch.Tensor) -> float:
    """The absolute tolerance of a row normalization ``(x - mean) / std`` of ``x`` (layer
    norm): in float32 the subtraction cancels, leaving an error of about ``eps * |x| / std``
    in every output whatever the summation order, so two correct implementations differ by up
    to about twice that on rows far from zero (a row near -100 with spread 1). The dtype's
    default floor where that is smaller (rows of well-scaled values)."""
    _, atol = default_tolerances(x.dtype)
    rows = x.float().reshape(-1, x.shape[-1])
    spread = rows.std(dim=-1, unbiased=False).clamp_min(1e-3).min().item() if rows.numel() else 1.0
    scale = rows.abs().max().item() if rows.numel() else 0.0
    return max(atol, 4 * torch.finfo(torch.float32).eps * scale / spread)


def reduction_atol(dtype: torch.dtype, n: int) -> float:
    """fp32 sums of n terms differ from torch's (another summation order) by ~eps*sqrt(n)*|x|."""
    _, atol = default_tolerances(dtype)
    return max(atol, 2e-6 * math.sqrt(n)) if dtype == torch.float32 else atol


def _strategy(value: Any) -> st.SearchStrategy[Any]:
    return value if isinstance(value, st.SearchStrategy) else st.just(value)


# -- strategies ------------------------------------------------------------------------------


def sizes(
    *, min_side: int = 1, max_side: int = 4097, special: Sequence[int] = SPECIAL_SIZES
) -> st.SearchStrategy[int]:
    """One dimension's size: a ``special`` size (1, 3, 17, 1000, 4097) or a small random one.

    Small random sizes (up to 64) find off-by-one masks; the special ones find the block
    boundary bugs. Sizes outside ``[min_side, max_side]`` are left out.
    """
    picks = [s for s in special if min_side <= s <= max_side]
    small = st.integers(min_side, max(min_side, min(max_side, 64)))
    return st.sampled_from(picks) | small if picks else small


@st.composite
def _shapes(
    draw: st.DrawFn,
    rank: int,
    min_side: int,
    max_side: int,
    max_numel: int,
    special: Sequence[int],
) -> tuple[int, ...]:
    # Dims are drawn in a random order, each within what the numel budget leaves for it, so
    # that any dim (not only the first) may get the large size.
    order = draw(st.permutations(range(rank)))
    out = [max(min_side, 1)] * rank
    for k, d in enumerate(order):
        rest = math.prod(max(min_side, 1) for _ in order[k + 1 :])
        used = math.prod(out[i] for i in order[:k])
        cap = min(max_side, max(min_side, max_numel // max(used * rest, 1)))
        out[d] = draw(sizes(min_side=min_side, max_side=cap, special=special))
    return tuple(out)


def shapes(
    rank: int,
    *,
    min_side: int = 1,
    max_side: int = 4097,
    max_numel: int = 2**16,
    special: Sequence[int] = SPECIAL_SIZES,
) -> st.SearchStrategy[tuple[int, ...]]:
    """Shapes of ``rank`` dims built from ``sizes``, with at most ``max_numel`` elements.

    The cap keeps inputs small enough for Triton's CPU interpreter (about 64K elements runs in
    well under a second), while still letting one dim be 4097.
    """
    if rank < 0:
        raise ValueError(f"rank must be >= 0, got {rank}")
    return _shapes(rank, min_side, max_side, max_numel, tuple(special))


def dtypes(choices: Sequence[torch.dtype] = FLOAT_DTYPES) -> st.SearchStrategy[torch.dtype]:
    """A dtype from ``choices`` (float32, float16, bfloat16 by default); shrinks to float32."""
    return st.sampled_from(tuple(choices))


def _make(
    shape: tuple[int, ...],
    dtype: torch.dtype,
    gen: torch.Generator,
    low: float | None,
    high: float | None,
    scale: float,
    regime: tuple[str, float],
) -> torch.Tensor:
    if dtype == torch.bool:
        return torch.randint(0, 2, shape, generator=gen).bool()
    if not dtype.is_floating_point:
        lo = 0 if low is None else int(low)
        hi = 100 if high is None else int(high)
        return torch.randint(lo, hi, shape, generator=gen, dtype=torch.int64).to(dtype)
    if low is not None or high is not None:
        lo = -1.0 if low is None else float(low)
        hi = 1.0 if high is None else float(high)
        x = torch.rand(shape, generator=gen, dtype=torch.float32) * (hi - lo) + lo
    else:
        x = torch.randn(shape, generator=gen, dtype=torch.float32) * scale
        x = apply_regime(x, regime[0], regime[1], dtype, gen)
    return x.to(dtype)


@st.composite
def _tensors(
    draw: st.DrawFn,
    shape: st.SearchStrategy[Any],
    dtype: st.SearchStrategy[Any],
    layouts: tuple[str, ...],
    low: float | None,
    high: float | None,
    scale: float,
    regime: st.SearchStrategy[str],
    parameter: st.SearchStrategy[float] | None,
    seed_offset: int,
    device: str | torch.device,
) -> torch.Tensor:
    shp = tuple(int(s) for s in draw(shape))
    dt = draw(dtype)
    seed = draw(st.integers(0, 2**32 - 1)) ^ (seed_offset % 2**32)
    name = draw(regime)
    value = draw(regime_parameters(name) if parameter is None else parameter)
    how = (low, high, scale, (name, value))
    gen = torch.Generator().manual_seed(seed)
    usable = [
        lay
        for lay in layouts
        if lay == "contiguous"
        or (lay == "transposed" and len(shp) >= 2)
        or (lay in ("strided", "expanded") and len(shp) >= 1)
    ] or ["contiguous"]
    layout = draw(st.sampled_from(usable))
    if layout == "transposed":
        swapped = (*shp[:-2], shp[-1], shp[-2])
        x = _make(swapped, dt, gen, *how).transpose(-1, -2)
    elif layout == "strided":
        # Every other element of the last dim, starting at element 1 (a storage offset too).
        base = _make((*shp[:-1], 2 * shp[-1] + 1), dt, gen, *how)
        x = base[..., 1::2]
    elif layout == "expanded":
        dim = draw(st.integers(0, len(shp) - 1))
        one = (*shp[:dim], 1, *shp[dim + 1 :])
        x = _make(one, dt, gen, *how).expand(shp)
    else:
        x = _make(shp, dt, gen, *how)
    assert tuple(x.shape) == shp, (layout, x.shape, shp)
    return x.to(device)


def tensors(
    shape: Any,
    dtype: Any = torch.float32,
    *,
    noncontiguous: bool = True,
    layouts: Sequence[str] | None = None,
    low: float | None = None,
    high: float | None = None,
    scale: float = 1.0,
    regime: Any = "normal",
    parameter: Any = None,
    seed_offset: int = 0,
    device: str | torch.device = "cpu",
) -> st.SearchStrategy[torch.Tensor]:
    """Tensors of ``shape`` and ``dtype`` (each a value or a strategy), possibly non-contiguous.

    With ``noncontiguous`` (the default) the layout is drawn from ``layouts`` (default: all of
    ``LAYOUTS``): a transposed view, a step-2 slice with a storage offset, or an expanded
    (stride 0) broadcast, because kernels that assume contiguity read the wrong elements only
    for such inputs. ``noncontiguous=False`` always gives a contiguous tensor; pass ``layouts``
    to exclude layouts a kernel does not accept (an expanded tensor cannot be written to).

    Floats are ``randn * scale`` or, given ``low``/``high``, uniform in ``[low, high)``;
    integers are uniform in ``[low, high)`` (default ``[0, 100)``).

    ``regime`` (a name from ``REGIMES`` or a strategy of names) then moves float ``randn``
    values into a value regime (``kcompiler.testing_values``: large, all-negative or
    all-positive rows, NaN and infinities, subnormals); ``parameter`` (a value or a strategy;
    default: the regime's own choices) is its scale, shift or non-finite fraction.
    ``seed_offset`` changes the values drawn for the same hypothesis choices (a stratum's
    offset, so strata whose first examples are alike still get other values).
    """
    if layouts is None:
        layouts = LAYOUTS if noncontiguous else ("contiguous",)
    elif not noncontiguous:
        layouts = ("contiguous",)
    bad = sorted(set(layouts) - set(LAYOUTS))
    if bad:
        raise ValueError(f"unknown layouts {bad}; known: {LAYOUTS}")
    names = _strategy(regime)
    if isinstance(regime, str) and regime not in REGIMES:
        raise ValueError(f"unknown value regime {regime!r}; known: {REGIMES}")
    return _tensors(
        _strategy(shape),
        _strategy(dtype),
        tuple(layouts),
        low,
        high,
        scale,
        names,
        None if parameter is None else _strategy(parameter),
        seed_offset,
        device,
    )


# -- comparison ------------------------------------------------------------------------------


def _clone(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.clone()
    if isinstance(value, (list, tuple)):
        return type(value)(_clone(v) for v in value)
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    return value


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return (
            f"tensor(shape={list(value.shape)}, dtype={value.dtype}, "
            f"stride={list(value.stride())}, device={value.device})"
        )
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__}[{', '.join(_describe(v) for v in value)}]"
    return repr(value) if len(repr(value)) < 80 else type(value).__name__


def _flatten_outputs(value: Any, path: str) -> list[tuple[str, Any]]:
    if isinstance(value, (list, tuple)):
        out: list[tuple[str, Any]] = [(path, ("seq", type(value), len(value)))]
        for i, v in enumerate(value):
            out.extend(_flatten_outputs(v, f"{path}[{i}]"))
        return out
    return [(path, value)]


def _compare_one(
    path: str,
    got: Any,
    want: Any,
    rtol: float | None,
    atol: float | None,
    check_dtype: bool,
) -> str | None:
    """None when ``got`` matches ``want``, else a description of the mismatch."""
    if isinstance(want, tuple) and want and want[0] == "seq":
        if not (isinstance(got, tuple) and got and got[0] == "seq") or got[2] != want[2]:
            return f"{path}: kernel returned {got!r}, reference a sequence of {want[2]}"
        return None
    if not isinstance(want, torch.Tensor):
        if isinstance(got, torch.Tensor) and got.numel() == 1 and isinstance(want, (int, float)):
            got = got.item()
        if isinstance(want, float) and isinstance(got, (int, float)):
            r, a = (rtol, atol) if rtol is not None else default_tolerances(torch.float32)
            if math.isclose(got, want, rel_tol=r, abs_tol=a) or (
                math.isnan(got) and math.isnan(want)
            ):
                return None
        elif got == want:
            return None
        return f"{path}: kernel returned {got!r}, reference {want!r}"
    if not isinstance(got, torch.Tensor):
        return f"{path}: kernel returned {_describe(got)}, reference {_describe(want)}"
    if got.shape != want.shape:
        return f"{path}: shape {list(got.shape)} != reference shape {list(want.shape)}"
    if check_dtype and got.dtype != want.dtype:
        return f"{path}: dtype {got.dtype} != reference dtype {want.dtype}"
    if got.device != want.device:
        return f"{path}: device {got.device} != reference device {want.device}"
    if got.numel() == 0:
        return None
    d_rtol, _ = default_tolerances(got.dtype)
    r = d_rtol if rtol is None else rtol
    a = magnitude_atol(got.dtype, want) if atol is None else atol
    g = got.detach().cpu().to(torch.float64) if got.dtype != torch.bool else got.cpu()
    w = want.detach().cpu().to(torch.float64) if want.dtype != torch.bool else want.cpu()
    if g.dtype == torch.bool or w.dtype == torch.bool:
        bad = g != w
        diff = bad.to(torch.float64)
        rel = diff
    else:
        both_nan = torch.isnan(g) & torch.isnan(w)
        same_inf = torch.isinf(g) & (g == w)
        diff = (g - w).abs()
        diff = torch.where(both_nan | same_inf, torch.zeros_like(diff), diff)
        diff = torch.where(torch.isnan(diff), torch.full_like(diff, math.inf), diff)
        bad = diff > a + r * w.abs()
        bad = bad | (torch.isnan(g) != torch.isnan(w))
        # An infinity matches only itself (a relative tolerance of an inf allows anything).
        bad = bad | ((torch.isinf(g) | torch.isinf(w)) & (g != w))
        rel = diff / w.abs().clamp_min(torch.finfo(torch.float64).tiny)
    if not bool(bad.any()):
        return None
    # The worst element: the largest violation of the tolerance, not the largest raw error.
    excess = torch.where(bad, diff - r * w.abs() if g.dtype != torch.bool else diff, -math.inf)
    flat = int(torch.argmax(torch.nan_to_num(excess.flatten(), nan=math.inf)))
    worst = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), got.shape))
    return (
        f"{path}: {int(bad.sum())} of {got.numel()} elements differ "
        f"(rtol={r:g}, atol={a:g}); max abs error {float(diff.max()):.6g}, "
        f"max rel error {float(rel.max()):.6g}; worst at index {list(worst)}: "
        f"kernel {float(g[worst]):.8g}, reference {float(w[worst]):.8g}; "
        f"kernel output {_describe(got)}, reference output {_describe(want)}"
    )


def _upcast(value: Any) -> Any:
    if isinstance(value, torch.Tensor) and value.dtype in (torch.float16, torch.bfloat16):
        return value.float()
    if isinstance(value, (list, tuple)):
        return type(value)(_upcast(v) for v in value)
    return value


def _cast_like(want: Any, got: Any) -> Any:
    if isinstance(want, torch.Tensor) and isinstance(got, torch.Tensor):
        return want.to(got.dtype) if want.dtype != got.dtype else want
    if isinstance(want, (list, tuple)) and isinstance(got, (list, tuple)):
        return type(want)(_cast_like(w, g) for w, g in zip(want, got))
    return want


def assert_matches_torch(
    kernel: Callable[..., Any],
    reference: Callable[..., Any],
    *args: Any,
    atol: float | None = None,
    rtol: float | None = None,
    check_dtype: bool = True,
    reference_in_float32: bool = False,
    **kwargs: Any,
) -> Any:
    """Run ``kernel(*args, **kwargs)`` and ``reference(*args, **kwargs)``; compare every output.

    Outputs may be tensors, Python scalars, or (nested) tuples/lists of them; each element is
    compared with ``|kernel - reference| <= atol + rtol * |reference|`` (NaN matches NaN, and
    an infinity must match exactly). Default tolerances depend on the output's dtype (see
    ``default_tolerances``: fp32 1e-4 relative, fp16 1e-2, bf16 2e-2, integers exact), which
    suits references that compute in float32 and round once, as kernels usually do.

    ``reference_in_float32``: pass fp16/bf16 tensors to the reference as float32 and round its
    outputs to the kernel outputs' dtypes; the right semantics for kernels that load half
    precision and compute in fp32 (output dtypes are then taken from the kernel, so write the
    casts in the reference instead when the dtypes themselves are under test).
    ``check_dtype``: require the same output dtypes.

    The reference gets clones of the arguments, taken before the kernel runs, so an in-place
    kernel cannot change what the reference sees. On a mismatch raises ``AssertionError``
    naming the output, the max absolute and relative error, the worst index with both values,
    and the shapes, dtypes and strides of the inputs and outputs. Returns the kernel's output.
    """
    ref_args, ref_kwargs = _clone(args), _clone(kwargs)
    got = kernel(*args, **kwargs)
    if reference_in_float32:
        ref_args, ref_kwargs = _upcast(ref_args), _upcast(ref_kwargs)
    want = reference(*ref_args, **ref_kwargs)
    if reference_in_float32:
        want = _cast_like(want, got)
    got_items = _flatten_outputs(got, "output")
    want_items = _flatten_outputs(want, "output")
    problems: list[str] = []
    if len(got_items) != len(want_items):
        problems.append(f"kernel returned {_describe(got)}, reference {_describe(want)}")
    else:
        for (path, g), (_, w) in zip(got_items, want_items):
            msg = _compare_one(path, g, w, rtol, atol, check_dtype)
            if msg is not None:
                problems.append(msg)
    if problems:
        name = getattr(kernel, "__name__", repr(kernel))
        inputs = "; ".join(
            [f"arg{i}={_describe(a)}" for i, a in enumerate(args)]
            + [f"{k}={_describe(v)}" for k, v in kwargs.items()]
        )
        raise AssertionError(
            f"{name} does not match its torch reference:\n  "
            + "\n  ".join(problems)
            + f"\n  inputs: {inputs}"
        )
    return got
