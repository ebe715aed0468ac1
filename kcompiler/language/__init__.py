"""The kernel language: ``import kcompiler.language as kl``.

Names, signatures and meaning follow ``helion.language``. These functions mean something only
inside a ``@kc.kernel``: device-loop calls are interpreted by the frontend's tracer, host-side
calls (``register_block_size``, ``specialize``) by the running kernel.
"""

from __future__ import annotations

import operator
from typing import Any

from kcompiler.exc import UnsupportedConstruct
from kcompiler.language import quantized as _quantized
from kcompiler.language._context import current_host, current_tracer, tracing_now

__all__ = [
    "arange",
    "associative_scan",
    "atomic_add",
    "atomic_and",
    "atomic_cas",
    "atomic_max",
    "atomic_min",
    "atomic_or",
    "atomic_xchg",
    "atomic_xor",
    "barrier",
    "constexpr",
    "cumprod",
    "cumsum",
    "device_print",
    "dot",
    "full",
    "grid",
    "inline_asm_elementwise",
    "jagged_tile",
    "join",
    "load",
    "load_bfloat16_x16_to_float16",
    "load_float4_e2m1fn_x16_to_float16",
    "rand",
    "randint",
    "reduce",
    "register_block_size",
    "register_reduction_dim",
    "register_tunable",
    "specialize",
    "split",
    "static_range",
    "store",
    "subscript",
    "tile",
    "tile_begin",
    "tile_block_size",
    "tile_end",
    "tile_id",
    "tile_index",
    "Tile",
    "zeros",
]


class constexpr:  # noqa: N801 - Helion's spelling
    """Annotation for kernel parameters whose value is baked into the compiled code; called,
    ``kl.constexpr(v)`` (in host code, or as a call's argument) wraps a value to be baked in.

    Device code reads a wrapper as its value, and each value keys its own variant
    (frontend/specialize.py, runtime/fastpath.py). In host code the wrapper acts as its value
    where Python asks for a truth value or an index, and compares and hashes by its value:
    two wrappers of equal values are one constant."""

    __slots__ = ("value",)

    def __init__(self, value: Any = None) -> None:
        self.value = value

    def __bool__(self) -> bool:
        return bool(self.value)

    def __index__(self) -> int:
        return operator.index(self.value)

    def _baked(self) -> tuple[type, str]:
        # What the compiled code holds: the value's type and repr (so -0.0 is not 0.0, and
        # an unhashable value such as a list still hashes), as the specialization keys it.
        return type(self.value), repr(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, constexpr) and other._baked() == self._baked()

    def __hash__(self) -> int:
        return hash(self._baked())

    def __repr__(self) -> str:
        return f"constexpr({self.value!r})"


def unwrap_constexpr(value: Any) -> Any:
    """``value``'s wrapped value if it is a ``kl.constexpr(...)``, else ``value``."""
    return value.value if type(value) is constexpr else value


def tile(begin_or_end: Any, end_or_none: Any = None, /, block_size: Any = None) -> Any:
    """Iterate over tiles of ``range(begin, end)``; a list of sizes iterates over several dims."""
    return current_tracer("kl.tile").tile_request(begin_or_end, end_or_none, block_size, "tile")


def grid(begin_or_end: Any, end_or_none: Any = None, /, step: Any = None) -> Any:
    """Iterate over single indices (block size 1) of ``range(begin, end, step)``; ``step`` (one
    int or device scalar, or one per dim) may be negative or known only at run time."""
    return current_tracer("kl.grid").tile_request(begin_or_end, end_or_none, 1, "grid", step)


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


def arange(*args: Any, dtype: Any = None, device: Any = None, **kwargs: Any) -> Any:
    """``torch.arange`` in device code: ``arange(end)`` or ``arange(start, end[, step])``, an
    int32 block by default. Its length is fixed when the kernel compiles: ``end`` is an int,
    a tensor size or a block size (``tile.block_size``); ``start``/``step`` are ints."""
    if kwargs:
        raise TypeError(f"kl.arange got unexpected keyword arguments {sorted(kwargs)}")
    return current_tracer("kl.arange").arange(args, dtype)


def static_range(begin_or_end: int, end_or_none: int | None = None, /, step: int = 1) -> range:
    """A range of Python ints whose loop is unrolled when the kernel compiles (each iteration
    is its own code); its bounds must be compile-time ints."""
    current_tracer("kl.static_range")
    bounds = (0, begin_or_end) if end_or_none is None else (begin_or_end, end_or_none)
    for b in (*bounds, step):
        if not isinstance(b, int) or isinstance(b, bool):
            raise UnsupportedConstruct(
                "kl.static_range bounds and step must be ints known when the kernel compiles "
                "(a literal, a kl.constexpr, a kl.specialize'd size); use range(...) or "
                "kl.grid(..., step=) to loop to a run-time bound or by a run-time step"
            )
    return range(*bounds, step)


def load(tensor: Any, index: list[Any], extra_mask: Any = None, eviction_policy: Any = None) -> Any:
    """Read ``tensor[index]`` where indices may be computed integer blocks (a gather).
    ``extra_mask``: a bool block broadcasting to the result; where it is false nothing is
    read and the result is 0."""
    return current_tracer("kl.load").load(tensor, index, extra_mask)


def load_float4_e2m1fn_x16_to_float16(
    storage: Any, group_offsets: Any, extra_mask: Any = None
) -> tuple[Any, ...]:
    """Load the 8 packed FP4 (E2M1) bytes of each group (``group_offsets`` counts 8-byte groups
    from the start of contiguous ``torch.uint8`` storage) and unpack them into 16 fp16 blocks
    of ``group_offsets``' shape, each byte's low nibble first."""
    current_tracer("kl.load_float4_e2m1fn_x16_to_float16")
    if "uint8" not in str(getattr(storage, "dtype", "")):
        raise UnsupportedConstruct(
            "kl.load_float4_e2m1fn_x16_to_float16 reads torch.uint8 storage (view a "
            f"float4_e2m1fn_x2 tensor as uint8 on the host); got {getattr(storage, 'dtype', storage)}"
        )
    return _quantized.load_float4_e2m1fn_x16(load, storage, group_offsets, extra_mask)


def load_bfloat16_x16_to_float16(
    storage: Any, group_offsets: Any, extra_mask: Any = None
) -> tuple[Any, ...]:
    """Load the 16 bf16 values of each group (``group_offsets`` counts 16-value groups of
    contiguous bf16 storage) as 16 fp16 blocks of ``group_offsets``' shape."""
    current_tracer("kl.load_bfloat16_x16_to_float16")
    if "bfloat16" not in str(getattr(storage, "dtype", "")):
        raise UnsupportedConstruct(
            "kl.load_bfloat16_x16_to_float16 reads bfloat16 storage; got "
            f"{getattr(storage, 'dtype', storage)}"
        )
    return _quantized.load_bfloat16_x16(load, storage, group_offsets, extra_mask)


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


def inline_asm_elementwise(
    asm: str,
    constraints: str,
    args: Any,
    dtype: Any,
    is_pure: bool,
    pack: int,
) -> Any:
    """Run target assembly (PTX on NVIDIA) on each element of ``args``, broadcast to one
    shape; the result has that shape and ``dtype``. ``constraints`` is the LLVM constraint
    string (``"=r,r"``: one 32-bit output register, then one input per arg), ``$0`` is the
    result and ``$1``... the args in the asm; ``is_pure``: the asm has no side effects;
    ``pack``: elements one instance of the asm handles. One result dtype (a tuple is
    refused). An arg narrower than its register (int8 in ``r``) arrives zero-extended: the asm
    sign-extends it itself (``cvt.s32.s8``) where it is signed. Needs a GPU: Triton's CPU
    interpreter cannot run assembly."""
    return current_tracer("kl.inline_asm_elementwise").inline_asm(
        asm, constraints, args, dtype, is_pure, pack
    )


def cumsum(input_tensor: Any, dim: int, reverse: bool = False) -> Any:
    """Inclusive prefix sum along ``dim`` (``torch.cumsum``); ``reverse`` sums from the end."""
    return current_tracer("kl.cumsum").scan("sum", input_tensor, dim, reverse)


def cumprod(input_tensor: Any, dim: int, reverse: bool = False) -> Any:
    """Inclusive prefix product along ``dim`` (``torch.cumprod``); ``reverse`` from the end."""
    return current_tracer("kl.cumprod").scan("prod", input_tensor, dim, reverse)


def associative_scan(combine_fn: Any, input_tensor: Any, dim: int, reverse: bool = False) -> Any:
    """Inclusive scan along ``dim`` with ``combine_fn``, an associative function of two
    elements (``combine_fn(a, b)``; for a tuple of inputs, of two tuples or of all elements
    flattened), traced into the kernel. Returns a block, or a tuple for a tuple of inputs."""
    return current_tracer("kl.associative_scan").combine(
        "scan", combine_fn, input_tensor, dim, reverse=reverse
    )


def reduce(
    combine_fn: Any,
    input_tensor: Any,
    dim: int | None = None,
    other: Any = 0,
    keep_dims: bool = False,
) -> Any:
    """Reduce along ``dim`` with ``combine_fn`` (associative and commutative, as for
    ``associative_scan``); lanes past the dim's end take ``other`` (the function's identity,
    one per input for a tuple)."""
    return current_tracer("kl.reduce").combine(
        "reduce", combine_fn, input_tensor, dim, others=other, keepdim=keep_dims
    )


def _atomic(kind: str, target: Any, index: Any, value: Any, sem: str, compare: Any = None) -> Any:
    return current_tracer(f"kl.atomic_{kind}").atomic(kind, target, index, value, sem, compare)


def atomic_add(target: Any, index: list[Any], value: Any, sem: str = "relaxed") -> Any:
    """Atomically add ``value`` to ``target[index]``; returns the old values. ``sem``: the
    memory order, ``relaxed``, ``acquire``, ``release`` or ``acq_rel``."""
    return _atomic("add", target, index, value, sem)


def atomic_max(target: Any, index: list[Any], value: Any, sem: str = "relaxed") -> Any:
    """Atomically store ``max(target[index], value)``; returns the old values."""
    return _atomic("max", target, index, value, sem)


def atomic_min(target: Any, index: list[Any], value: Any, sem: str = "relaxed") -> Any:
    """Atomically store ``min(target[index], value)``; returns the old values."""
    return _atomic("min", target, index, value, sem)


def atomic_and(target: Any, index: list[Any], value: Any, sem: str = "relaxed") -> Any:
    """Atomically store ``target[index] & value`` (integers); returns the old values."""
    return _atomic("and", target, index, value, sem)


def atomic_or(target: Any, index: list[Any], value: Any, sem: str = "relaxed") -> Any:
    """Atomically store ``target[index] | value`` (integers); returns the old values."""
    return _atomic("or", target, index, value, sem)


def atomic_xor(target: Any, index: list[Any], value: Any, sem: str = "relaxed") -> Any:
    """Atomically store ``target[index] ^ value`` (integers); returns the old values."""
    return _atomic("xor", target, index, value, sem)


def atomic_xchg(target: Any, index: list[Any], value: Any, sem: str = "relaxed") -> Any:
    """Atomically store ``value`` into ``target[index]``; returns the old values."""
    return _atomic("xchg", target, index, value, sem)


def atomic_cas(
    target: Any, index: list[Any], expected: Any, value: Any, sem: str = "relaxed"
) -> Any:
    """Atomically store ``value`` where ``target[index] == expected``; returns the old
    values."""
    return _atomic("cas", target, index, value, sem, expected)


def rand(shape: list[Any], seed: Any, device: Any = None) -> Any:
    """Uniform random float32 values in [0, 1) of ``shape`` (tiles and sizes), from Philox
    keyed by ``seed``; each element's number is fixed by its position in the whole iteration
    space, so results do not depend on block sizes."""
    return current_tracer("kl.rand").rand(shape, seed)


def randint(shape: list[Any], low: int, high: int, seed: Any, device: Any = None) -> Any:
    """Random int32 values in ``[low, high)`` of ``shape``, from Philox keyed by ``seed`` at
    each element's position in the whole iteration space (as ``kl.rand``)."""
    return current_tracer("kl.randint").randint(shape, low, high, seed)


def split(tensor: Any) -> tuple[Any, Any]:
    """The two halves ``(lo, hi)`` of a value whose last dim has size 2."""
    return current_tracer("kl.split").split(tensor)


def join(tensor0: Any, tensor1: Any) -> Any:
    """Stack two values along a new last dim of size 2."""
    return current_tracer("kl.join").join(tensor0, tensor1)


def tile_begin(tile: Any) -> Any:
    """The first index of ``tile`` (``tile.begin``)."""
    current_tracer("kl.tile_begin")
    return tile.begin


def tile_end(tile: Any) -> Any:
    """One past the last index of ``tile`` (``tile.end``), clipped to the loop's end."""
    current_tracer("kl.tile_end")
    return tile.end


def tile_block_size(tile: Any) -> Any:
    """The block size of ``tile``'s loop (``tile.block_size``)."""
    current_tracer("kl.tile_block_size")
    return tile.block_size


def tile_id(tile: Any) -> Any:
    """The number of ``tile`` in its loop, from 0 (``tile.id``)."""
    current_tracer("kl.tile_id")
    return tile.id


def tile_index(tile: Any) -> Any:
    """The indices ``tile`` covers, a 1-D block (``tile.index``)."""
    current_tracer("kl.tile_index")
    return tile.index


def subscript(tensor: Any, index: list[Any]) -> Any:
    """``tensor[index]`` of a device value: ``:`` keeps a dim, ``None`` inserts one."""
    current_tracer("kl.subscript")
    return tensor[tuple(index) if isinstance(index, list) else index]


class Tile:
    """The type of a tile loop's variable, for annotations (``def f(t: kl.Tile)``)."""


def barrier() -> None:
    """Grid-wide barrier between top-level device loops (in host code, between two
    ``for ... in kl.tile(...)`` loops). Each top-level loop is its own launch, and launches
    run in order, so every program of one loop has finished before the next loop starts:
    the barrier holds without code of its own."""

    if tracing_now():
        raise UnsupportedConstruct(
            "kl.barrier() inside a device loop: it separates top-level device loops; put it "
            "in host code between them"
        )
    current_host("kl.barrier")


def register_block_size(min_or_max: Any, max_or_none: Any = None, /) -> int:
    """Declare a tunable block size on the host; returns its value in the running config."""
    return current_host("kl.register_block_size").register_block_size(min_or_max, max_or_none)


def register_tunable(name: str, fragment: Any) -> Any:
    """Declare a knob of this kernel's own, named ``name``, whose domain is ``fragment`` (a
    ``kcompiler.autotuner`` fragment such as ``PowerOfTwoFragment(1, 256)``); returns its value
    in the running config (``Config(name=value)``), else the fragment's default. The tuner
    searches it with the other knobs, and the chosen value is part of the config record. Host
    code only: the value is a host int (or choice) that host code uses to shape the launch,
    and a device loop that reads it has it baked in."""
    import sys

    caller = sys._getframe(1)
    where = f"{caller.f_code.co_filename}:{caller.f_lineno}"
    if tracing_now():
        raise UnsupportedConstruct(
            "kl.register_tunable inside a device loop: declare the tunable in host code (before "
            "the loop) and use its value in the loop"
        )
    return current_host("kl.register_tunable").register_tunable(name, fragment, where)


def register_reduction_dim(size: int) -> int:
    """Declare a dim that is reduced over as a whole; returns the size (a host int)."""
    current_host("kl.register_reduction_dim")
    return size


def specialize(value: Any) -> Any:
    """Bake a host size into the compiled code (it becomes a static dim)."""
    return current_host("kl.specialize").specialize(value)


# Helion language names kcompiler does not implement, and why. Reading one gives an object
# that raises "not supported: kl.<name>" (at the kernel's line, inside device code) when
# used, so a Helion kernel that merely imports or mentions one still loads.
_NOT_SUPPORTED = {
    "make_async_remote_copy": "distributed (multi-GPU) ops are not supported",
    "remote_barrier": "distributed (multi-GPU) ops are not supported",
    "ProcessGroupName": "distributed (multi-GPU) ops are not supported",
    "AsyncCopyDescriptor": "distributed (multi-GPU) ops are not supported",
    "breakpoint": "device code cannot stop in a debugger; use kl.device_print",
    "inline_triton": "inline Triton source is not supported; write the op in kl/torch",
    "triton_kernel": "calling a @triton.jit function from device code is not supported",
    "dot_scaled": "block-scaled (mx) matmul is not supported",
    "float4_e2m1fn_x2_to_float32": "quantized fp4 helpers are not supported",
    "StackTensor": "stacked tensors (lists of device pointers) are not supported",
    "stacktensor_like": "stacked tensors (lists of device pointers) are not supported",
    "rand4x": "random numbers are not supported yet",
}


class NotSupported:
    """A Helion language name kcompiler does not implement: calling it raises
    ``UnsupportedConstruct("not supported: kl.<name> (<why>)")``."""

    def __init__(self, name: str, why: str) -> None:
        self.name = name
        self.why = why

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        import sys

        where = None
        if not tracing_now():  # device code: the tracer names the line; host code: the caller
            caller = sys._getframe(1)
            where = f"{caller.f_code.co_filename}:{caller.f_lineno}"
        raise UnsupportedConstruct(f"not supported: kl.{self.name} ({self.why})", where)

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return self  # kl.ProcessGroupName.WORLD and the like: refused when called

    def __repr__(self) -> str:
        return f"<not supported: kl.{self.name}>"


def __getattr__(name: str) -> Any:
    why = _NOT_SUPPORTED.get(name)
    if why is None:
        raise AttributeError(f"module 'kcompiler.language' has no attribute {name!r}")
    return NotSupported(name, why)
