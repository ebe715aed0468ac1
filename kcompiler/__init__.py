"""kcompiler: tile-level Python kernels -> `tile` IR (xDSL) -> passes -> Triton, autotuned.

``import kcompiler as kc`` gives the decorator and configs; ``import kcompiler.language as kl``
gives the kernel language. The runtime (and torch) load on first use of ``kc.kernel``, so
tools that only need the IR (kc-opt) start fast.
"""

from __future__ import annotations

from typing import Any

from kcompiler import exc
from kcompiler.config import Config

__all__ = [
    "Config",
    "Kernel",
    "aot_kernel",
    "cdiv",
    "check_errors",
    "exc",
    "jit",
    "kernel",
    "next_power_of_2",
]


def cdiv(a: Any, b: Any) -> Any:
    """Ceiling division ``(a + b - 1) // b`` of non-negative ints (or device ints)."""
    return (a + b - 1) // b


def next_power_of_2(n: int) -> int:
    """The smallest power of two >= ``n`` (1 for ``n`` <= 1)."""
    n = int(n)
    return 1 if n <= 1 else 1 << (n - 1).bit_length()


def check_errors(sync: bool = True) -> None:
    """Raise ``kc.exc.IndexOutOfBounds`` if a launch so far indexed outside a tensor. On a GPU
    such an error otherwise surfaces at the kernel's next call: this waits for the GPU (unless
    ``sync=False``, or during CUDA graph capture, where it does not wait) and reads every
    kernel's error records, those a replayed CUDA graph's launches wrote included."""
    # Deferred, as the names below: importing kcompiler (or only its config, language or
    # autotune modules, as compile workers do) does not load torch, Triton and xDSL.
    from kcompiler.backends.triton.bounds import check_errors as check

    check(sync)


def __getattr__(name: str) -> Any:
    """``kc.Kernel``, ``kc.kernel`` (``kc.jit``) and ``kc.aot_kernel``, imported at first use
    (which loads torch, Triton and xDSL)."""
    if name in ("Kernel", "kernel", "jit"):  # jit: Helion's alias of kernel
        from kcompiler.runtime import kernel as _kernel

        return getattr(_kernel, "kernel" if name == "jit" else name)
    if name == "aot_kernel":  # kernel(configs_table=...), Helion's name
        from kcompiler.aot import aot_kernel

        return aot_kernel
    raise AttributeError(f"module 'kcompiler' has no attribute {name!r}")
