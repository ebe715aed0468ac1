"""Stand-ins for the ``helion._testing`` helpers that Helion's examples import.

``benchmarks/helion_examples.py`` runs Helion's examples with their imports pointed at
kcompiler; the examples' drivers also import a few test helpers from Helion. These are
correctness-only versions written for kcompiler: ``run_example`` calls every kernel and
every baseline on the same arguments and compares the results (no timing), ``do_bench``
calls its function once. ``DEVICE`` is ``cpu`` under Triton's interpreter, else the GPU.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import torch

__all__ = [
    "DEVICE",
    "HALF_DTYPE",
    "LONG_INT_TYPE",
    "ExampleMismatch",
    "assert_close_with_mismatch_tolerance",
    "assert_outputs_close",
    "do_bench",
    "run_example",
    "use_tileir_tunables",
]

# Triton's interpreter (TRITON_INTERPRET=1, the report's CPU run) computes on the CPU.
_INTERPRET = os.environ.get("TRITON_INTERPRET") == "1"
DEVICE = torch.device("cuda" if torch.cuda.is_available() and not _INTERPRET else "cpu")
HALF_DTYPE = torch.float16
LONG_INT_TYPE = torch.int64


class ExampleMismatch(AssertionError):
    """A kernel's result differs from the example's reference (the report's FAIL)."""


def _leaves(value: Any) -> list[Any]:
    """Tensors (and numbers) of a result, flattened in order; tuples/lists/dicts nest."""
    if isinstance(value, (tuple, list)):
        return [leaf for item in value for leaf in _leaves(item)]
    if isinstance(value, dict):
        return [leaf for key in sorted(value) for leaf in _leaves(value[key])]
    return [value]


def assert_close_with_mismatch_tolerance(
    actual: torch.Tensor,
    expected: torch.Tensor,
    *,
    atol: float = 1e-4,
    rtol: float = 1e-4,
    max_mismatch_pct: float = 0.01,
    max_abs_diff: float | None = None,
    max_rel_diff: float | None = None,
) -> None:
    """Accept results where at most ``max_mismatch_pct`` (a fraction) of the elements lie
    outside ``atol + rtol * |expected|``; kernels whose rounding differs element by element
    (fp8, low-precision accumulations) are checked this way."""
    a = actual.detach().to(torch.float64)
    e = expected.detach().to(torch.float64)
    if a.shape != e.shape:
        raise ExampleMismatch(f"shape {tuple(a.shape)} != expected {tuple(e.shape)}")
    diff = (a - e).abs()
    bad = ~(diff <= atol + rtol * e.abs()) & ~(a.isnan() & e.isnan())
    fraction = bad.float().mean().item() if bad.numel() else 0.0
    if fraction > max_mismatch_pct:
        raise ExampleMismatch(
            f"{fraction:.2%} of elements mismatch (allowed {max_mismatch_pct:.2%}); "
            f"max abs diff {diff.nan_to_num(float('inf')).max().item():.3g}"
        )
    if max_abs_diff is not None and bad.any() and diff[bad].max().item() > max_abs_diff:
        raise ExampleMismatch(f"a mismatched element differs by more than {max_abs_diff}")


def assert_outputs_close(
    actual: Any,
    expected: Any,
    rtol: float,
    atol: float,
    max_mismatch_pct: float | None = None,
    max_mismatched_abs_diff: float | None = None,
) -> None:
    """Compare two results leaf by leaf, in float32 as Helion's driver does."""
    got, want = _leaves(actual), _leaves(expected)
    if len(got) != len(want):
        raise ExampleMismatch(f"{len(got)} outputs, the reference has {len(want)}")
    for g, w in zip(got, want, strict=True):
        if not isinstance(w, torch.Tensor):
            if isinstance(g, torch.Tensor):
                g = g.item()
            if w is not None and abs(float(g) - float(w)) > atol + rtol * abs(float(w)):
                raise ExampleMismatch(f"{g} != expected {w}")
            continue
        if not isinstance(g, torch.Tensor):
            g = torch.tensor(g)
        g32, w32 = g.detach().to(torch.float32), w.detach().to(torch.float32)
        if max_mismatch_pct is not None:
            assert_close_with_mismatch_tolerance(
                g32,
                w32,
                atol=atol,
                rtol=rtol,
                max_mismatch_pct=max_mismatch_pct,
                max_abs_diff=max_mismatched_abs_diff,
            )
            continue
        try:
            torch.testing.assert_close(g32, w32, rtol=rtol, atol=atol, equal_nan=True)
        except AssertionError as err:
            raise ExampleMismatch(" ".join(str(err).split("\n")[:3])) from None


def _fresh(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """Leaf copies of tensors that require grad, so each implementation gets its own grads."""
    return tuple(
        a.detach().clone().requires_grad_(True)
        if isinstance(a, torch.Tensor) and a.requires_grad
        else a
        for a in args
    )


def _grads(fn: Callable[..., Any], args: tuple[Any, ...]) -> list[Any]:
    """Output and input grads of ``fn`` for a fixed random output grad."""
    args = _fresh(args)
    out = fn(*args)
    outs = [o for o in _leaves(out) if isinstance(o, torch.Tensor) and o.requires_grad]
    gen = torch.Generator().manual_seed(0)
    grads = [torch.randn(o.shape, generator=gen).to(o.device, o.dtype) for o in outs]
    torch.autograd.backward(outs, grads)
    return [out, [a.grad for a in args if isinstance(a, torch.Tensor) and a.requires_grad]]


def run_example(
    kernel_fn: Any,
    baseline_fn: Any,
    args: tuple[Any, ...],
    kernel_name: str = "helion",
    baseline_name: str = "torch",
    rtol: float = 1e-2,
    atol: float = 1e-1,
    max_mismatch_pct: float | None = None,
    max_mismatched_abs_diff: float | None = None,
    bwd: bool = False,
    **_unused: Any,
) -> dict[str, float]:
    """Check every kernel against the first baseline (and every other baseline against it);
    with ``bwd`` also the input grads. Returns no timings (an empty dict)."""
    kernels = kernel_fn if isinstance(kernel_fn, dict) else {kernel_name: kernel_fn}
    baselines = baseline_fn if isinstance(baseline_fn, dict) else {baseline_name: baseline_fn}
    run = _grads if bwd else (lambda fn, a: fn(*_fresh(a)))
    expected = run(next(iter(baselines.values())), args)
    for name, fn in list(kernels.items()) + list(baselines.items())[1:]:
        try:
            assert_outputs_close(
                run(fn, args), expected, rtol, atol, max_mismatch_pct, max_mismatched_abs_diff
            )
        except ExampleMismatch as err:
            raise ExampleMismatch(f"{name}: {err}") from None
    return {}


def do_bench(fn: Callable[[], Any], *_args: Any, **_kwargs: Any) -> float:
    """Call ``fn`` once (the report checks results, it does not time them)."""
    fn()
    return 0.0


def use_tileir_tunables() -> bool:
    """Helion's query for its TileIR backend's knobs (``helion._compat``): kcompiler emits
    Triton only."""
    return False
