"""The implementations compared: the peers (torch eager, torch.compile, Liger, Helion) and kcompiler.

`make(impl, kernel, opts)` returns a callable with the torch reference's signature, returns None
where the implementation has no such op (Liger has four of the nine: no row), and raises where it
should have one but can't be built; the runner reports that error in the row. Imports are lazy so
a missing package costs one row, not the run. `kcompiler_autotune` is the single adapter to
kcompiler's tuning API.
"""

from __future__ import annotations

import functools
import importlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from benchmarks import kernels

PEERS = ["torch", "compile", "compile-max-autotune", "liger", "helion"]
ALL = [*PEERS, "kcompiler"]
DEFAULT = ["torch", "compile", "liger", "helion", "kcompiler"]


@dataclass(frozen=True)
class Options:
    """What the command line decides about building and tuning the implementations."""

    helion_effort: str = "none"  # "none" = Helion's default config; "quick"/"full" autotune
    kc_effort: str = "quick"


# The implementations that run the torch formulations of a kernel (its reference or one of its
# `KernelSpec.forms`), eagerly or through torch.compile.
FORM_IMPLS = ("torch", "compile", "compile-max-autotune")


def form_names(impl: str, kernel: str) -> list[str]:
    """The formulations `impl` times for `kernel`, its extra forms first and "reference" last
    (the forms exist because the reference lowers badly, so a reference that breaks the CUDA
    context runs after them); [] where `impl` runs no torch formulation or the kernel has only
    its reference."""
    forms = kernels.KERNELS[kernel].forms
    return [*forms, "reference"] if impl in FORM_IMPLS and forms else []


def make(
    impl: str, kernel: str, opts: Options, form: str = "reference"
) -> Callable[..., Any] | None:
    """The callable for `impl` x `kernel`; built fresh per shape so compile caches don't leak.
    `form` picks the torch formulation the FORM_IMPLS run (see `form_names`)."""
    spec = kernels.KERNELS[kernel]
    ref = spec.reference if form == "reference" else spec.forms[form]
    if impl == "torch":
        return ref
    if impl in ("compile", "compile-max-autotune"):
        torch._dynamo.reset()  # a fresh static graph per shape, no recompile-limit fallbacks
        mode = "max-autotune-no-cudagraphs" if impl == "compile-max-autotune" else None
        return torch.compile(ref, mode=mode, dynamic=False)
    if impl == "liger":
        return _liger(kernel)
    if impl == "helion":
        os.environ["HELION_AUTOTUNE_EFFORT"] = opts.helion_effort  # read when kernels are defined
        return getattr(importlib.import_module("benchmarks.peers.helion_kernels"), kernel)
    if impl == "kcompiler":
        return _fresh(getattr(importlib.import_module(f"kcompiler.kernels.{kernel}"), kernel))
    raise ValueError(f"unknown implementation {impl!r}; known: {', '.join(ALL)}")


def _fresh(k: Any) -> Any:
    """A copy of a bundled kernel with its own tuning state: tuning it for one shape must not
    change the config the bundled kernel uses for every other caller (a tuned config can be
    invalid at another shape: seen as a shared-memory InvalidConfig in the CPU test suite).
    Plain-function wrappers (rms_norm, layer_norm, ...) are returned as they are."""
    from kcompiler.runtime.kernel import Kernel

    if not isinstance(k, Kernel):
        return k
    return type(k)(
        k.fn,
        config=k.config,
        configs=k.configs,
        static_shapes=k.static_shapes,
        ignore_warnings=k.ignore_warnings,
        autotune_effort=k.autotune_effort,
        autotune_strategy=k.autotune_strategy,
        **k.settings,
    )


def _liger(kernel: str) -> Callable[..., Any] | None:
    """Liger-Kernel's functional forms, where it has the op; forward only (no grad), so no in-place."""
    if kernel not in ("rms_norm", "layer_norm", "softmax", "cross_entropy"):
        return None
    from liger_kernel.transformers import functional as lf

    if kernel == "rms_norm":
        return lambda x, w, eps: lf.liger_rms_norm(x, w, eps)
    if kernel == "layer_norm":
        return lambda x, shape, w, b, eps: lf.liger_layer_norm(x, w, b, eps)
    if kernel == "softmax":
        return lf.liger_softmax
    return lambda logits, targets: lf.liger_cross_entropy(logits, targets)


def kcompiler_autotune(fn: Any, args: tuple[Any, ...], effort: str) -> dict[str, Any] | None:
    """Tune a kcompiler kernel for `args` before it is timed; None if it has no `autotune`.

    The one place that knows kcompiler's tuning API (names still to be settled): it calls
    `fn.autotune(args, effort=effort)` and reads from the result, an object or a dict (today's
    `kcompiler.autotune.tuner.TuneResult` names first), the tuning wall time, configs tried and
    failed, whether it came from the cache, and the chosen config. Change the names in the
    `_field` calls below when the API settles.
    """
    tune = getattr(fn, "autotune", None)
    if tune is None:
        return None
    t0 = time.perf_counter()
    result = tune(args, effort=effort)
    wall = time.perf_counter() - t0
    return {
        "effort": effort,
        "tune_s": _field(result, "wall_s", "wall_time_s", "tune_s", default=wall),
        "configs_tried": _field(result, "tried", "configs_tried"),
        "configs_failed": _field(result, "failed", "configs_failed"),
        "from_cache": _field(result, "from_cache"),
        "best_ms": _field(result, "time_ms"),
        "config": str(_field(result, "config", "best_config", default=result)),
    }


def _field(obj: Any, *names: str, default: Any = None) -> Any:
    """The first of `names` that `obj` has, as an attribute or a key."""
    for name in names:
        if isinstance(obj, dict) and name in obj:
            return obj[name]
        if hasattr(obj, name):
            return getattr(obj, name)
    return default


def kcompiler_jit_launch(fn: Any) -> Callable[..., Any]:
    """A fresh copy of kcompiler kernel ``fn`` whose launches all go through Triton's JIT
    instead of the compiled kernel's direct launch: what the direct launch saves."""
    import kcompiler as kc

    copy = kc.kernel(fn.fn, config=fn.config)
    copy.direct_launch = False
    return copy


@functools.cache
def _triton_kernels() -> tuple[Any, Any]:
    """The hand-written Triton kernels of the host-overhead rows: an add, and an empty kernel
    (no body: its launch is the launch alone)."""
    import triton
    import triton.language as tl

    @triton.jit
    def add_kernel(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
        offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        mask = offs < n
        x = tl.load(x_ptr + offs, mask=mask)
        y = tl.load(y_ptr + offs, mask=mask)
        tl.store(out_ptr + offs, x + y, mask=mask)

    @triton.jit
    def empty_kernel(x_ptr):
        pass

    return add_kernel, empty_kernel


def triton_bare_add(with_alloc: bool) -> Callable[[torch.Tensor, torch.Tensor], Any]:
    """A hand-written Triton add, launched through ``kernel[grid]``: the per-call host
    overhead of a plain Triton launch."""
    import triton

    add_kernel, _ = _triton_kernels()
    block = 1024
    cache: dict[str, torch.Tensor] = {}

    def run(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        n = x.numel()
        out = torch.empty_like(x) if with_alloc else cache.setdefault("out", torch.empty_like(x))
        add_kernel[(triton.cdiv(n, block),)](x, y, out, n, BLOCK=block)
        return out

    return run


def triton_direct_run(
    x: torch.Tensor, y: torch.Tensor, empty: bool = False
) -> Callable[[torch.Tensor, torch.Tensor], Any]:
    """A hand-written Triton kernel launched through its ``CompiledKernel.run`` with every
    argument computed once (grid, stream, function, packed metadata, the tensors ``x``, ``y``
    and a preallocated output): a launch with no binding, specialization or cache lookup.
    ``empty``: a kernel with no body, one program, so the time is the launch alone (the
    floor any launch from Python pays). The returned callable ignores its arguments: it
    launches on ``x``, ``y`` (what the bare add returns, else None)."""
    import triton

    add_kernel, empty_kernel = _triton_kernels()
    out = torch.empty_like(x)
    if empty:
        grid, args = 1, (x,)
        compiled = empty_kernel[(grid,)](*args)
    else:
        block = 1024
        grid, args = triton.cdiv(x.numel(), block), (x, y, out, x.numel(), block)
        compiled = add_kernel[(grid,)](*args[:-1], BLOCK=block)
    # The JIT's own final call (triton/runtime/jit.py), with its values fixed: all the
    # parameters, constexprs included, follow the launch metadata and the two hooks.
    run, function, packed = compiled.run, compiled.function, compiled.packed_metadata
    stream = torch.cuda.current_stream(x.device).cuda_stream
    result = None if empty else out

    def launch(_x: torch.Tensor, _y: torch.Tensor) -> torch.Tensor | None:
        run(grid, 1, 1, stream, function, packed, None, None, None, *args)
        return result

    return launch


def triton_empty_jit() -> Callable[[torch.Tensor, torch.Tensor], None]:
    """The empty one-program kernel of ``triton_direct_run`` through ``kernel[grid]``, for
    capture in a CUDA graph (a captured launch must read the capture stream, which the JIT
    does at each call): replayed, it is the device's floor per graph node."""
    _, empty_kernel = _triton_kernels()

    def launch(x: torch.Tensor, _y: torch.Tensor) -> None:
        empty_kernel[(1,)](x)

    return launch
