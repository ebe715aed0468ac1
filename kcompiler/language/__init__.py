"""The kernel language: ``import kcompiler.language as kl``.

Names, signatures and meaning follow ``helion.language``. These functions mean something only
inside a ``@kc.kernel``: device-loop calls are interpreted by the frontend's tracer, host-side
calls (``register_block_size``, ``specialize``) by the running kernel.
"""

from __future__ import annotations

from typing import Any

from kcompiler.language._context import current_host, current_tracer

__all__ = [
    "constexpr",
    "device_print",
    "dot",
    "full",
    "grid",
    "jagged_tile",
    "load",
    "register_block_size",
    "register_reduction_dim",
    "specialize",
    "store",
    "tile",
    "zeros",
]


class constexpr:  # noqa: N801 - Helion's spelling
    """Annotation for kernel parameters whose value is baked into the compiled code."""

    def __init__(self, value: Any = None) -> None:
        self.value = value


def tile(begin_or_end: Any, end_or_none: Any = None, /, block_size: Any = None) -> Any:
    """Iterate over tiles of ``range(begin, end)``; a list of sizes iterates over several dims."""
    return current_tracer("kl.tile").tile_request(begin_or_end, end_or_none, block_size, "tile")


def grid(begin_or_end: Any, end_or_none: Any = None, /, step: Any = None) -> Any:
    """Iterate over single indices (block size 1) of ``range(begin, end)``."""
    return current_tracer("kl.grid").tile_request(begin_or_end, end_or_none, 1, "grid")


def jagged_tile(bounds: Any, /, block_size: Any = None) -> Any:
    """Iterate over tiles of ``range(0, bounds[i])`` for each row ``i`` of the enclosing tile."""
    return current_tracer("kl.jagged_tile").tile_request(bounds, None, block_size, "jagged")


def zeros(shape: Any, dtype: Any = None, device: Any = None) -> Any:
    """A block of zeros whose dims are tiles or sizes."""
    return full(shape, 0.0, dtype)


def full(shape: Any, value: Any, dtype: Any = None, device: Any = None) -> Any:
    """A block filled with ``value``."""
    import torch

    return current_tracer("kl.full").full(shape, value, dtype or torch.float32)


def load(tensor: Any, index: list[Any], extra_mask: Any = None, eviction_policy: Any = None) -> Any:
    """Read ``tensor[index]`` where indices may be computed integer blocks (a gather).
    ``extra_mask``: a bool block broadcasting to the result; where it is false nothing is
    read and the result is 0."""
    return current_tracer("kl.load").load(tensor, index, extra_mask)


def store(tensor: Any, index: list[Any], value: Any, extra_mask: Any = None) -> None:
    """Write ``value`` to ``tensor[index]``; with ``extra_mask`` (a bool block broadcasting to
    the indexed shape) only where it is true."""
    current_tracer("kl.store").store(tensor, index, value, extra_mask)


def dot(mat1: Any, mat2: Any, acc: Any = None, out_dtype: Any = None) -> Any:
    """``acc + mat1 @ mat2`` (``mat1 @ mat2`` without ``acc``), accumulated in float32 (int32 for
    integers). Inputs may be fp8 (``torch.float8_e4m3fn``/``float8_e5m2``), half or float32;
    the result has ``out_dtype``, else ``acc``'s dtype, else the inputs' (float32 for fp8)."""
    if acc is not None and out_dtype is None:
        out_dtype = getattr(acc, "dtype", None)  # a Python number: the promoted dtype
    return current_tracer("kl.dot").dot(mat1, mat2, acc, out_dtype)


def device_print(prefix: str, *values: Any) -> None:
    """Print ``values`` from the device, each line led by ``prefix`` (``tl.device_print``);
    ``print(...)`` in device code means the same. Every program prints its whole blocks,
    so keep the shapes small when debugging."""
    current_tracer("kl.device_print").device_print(prefix, values)


def register_block_size(min_or_max: Any, max_or_none: Any = None, /) -> int:
    """Declare a tunable block size on the host; returns its value in the running config."""
    return current_host("kl.register_block_size").register_block_size(min_or_max, max_or_none)


def register_reduction_dim(size: int) -> int:
    """Declare a dim that is reduced over as a whole; returns the size (a host int)."""
    current_host("kl.register_reduction_dim")
    return size


def specialize(value: Any) -> Any:
    """Bake a host size into the compiled code (it becomes a static dim)."""
    return current_host("kl.specialize").specialize(value)
