"""FLOPs and bytes of a whole kernel call (``kc`` users' entry points): the host code runs on
fake tensors (runtime/custom_op.py) and each device loop that would launch is counted from its
IR (runtime/counting.py, whose docstring says what counts)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kcompiler.runtime.counting import Counts, count_launch, count_module, register_formula
from kcompiler.runtime.custom_op import analyze

if TYPE_CHECKING:
    from kcompiler.runtime.kernel import Kernel


def kernel_counts(kernel: Kernel, *args: Any, **kwargs: Any) -> Counts:
    """FLOPs and bytes of ``kernel(*args, **kwargs)``, without running it.

    The host code runs on fake copies of the tensors with device loops skipped; each loop
    that would launch is traced (cached) and counted.
    """
    return analyze(kernel, args, kwargs).counts


def flops(kernel: Kernel, *args: Any, **kwargs: Any) -> int:
    """FLOPs of one call (see the module docstring for what counts)."""
    return kernel_counts(kernel, *args, **kwargs).flops


def bytes_moved(kernel: Kernel, *args: Any, **kwargs: Any) -> int:
    """Bytes loaded plus bytes stored by one call's device loops (for bandwidth numbers)."""
    return kernel_counts(kernel, *args, **kwargs).bytes


__all__ = [
    "Counts",
    "bytes_moved",
    "count_launch",
    "count_module",
    "flops",
    "kernel_counts",
    "register_formula",
]
