"""Specialization keys: what about a device loop's inputs the compiled code depends on.

A compiled variant depends on dtypes, ranks, which sizes are 0 or 1, which sizes are equal to
each other (they share a size symbol), each size's power-of-two bucket (it fixes the register
block of a whole-dim reduction), each size's largest power-of-two divisor up to
``MAX_DIVISOR`` (a loop whose block divides its extent needs no bounds mask, as Triton's
``EVEN_K`` kernels), compile-time values (bools, None, dtypes, specialized ints, the ints the
kernel's own code fixes: frontend/host_constants.py), the values of the module globals the
loop's code reads (frontend/global_reads.py) and whether offsets need 64-bit math. Of a
tensor's strides, two facts are in the key, both of which make the launcher refuse tensor
descriptors and run the kernel's pointer version (backends/triton/indexing.py): a stride-0 dim
of more than one element (``overlapping``: an ``expand()``ed tensor) and a last stride other
than 1 (``strided_last``: a transposed or column-major view, a stepped slice). The tracer
records the tensors they hold for on the kernel (``tile.kernel``'s ``broadcast_args`` and
``strided_args``), so the config space and the shared-memory estimate know which kernel a
launch runs. Everything else (the sizes themselves, the other strides, float scalars) is a
runtime argument.

A Python function passed to a kernel (an epilogue) is traced into the kernel: its code, the
values it closes over (a captured float becomes a constant of the trace) and its defaults are
the key (``function_key``), never its ``id``: a lambda made per call (``lambda v: v * k``) is
freed after the call and the next one may get the same address with another ``k``. Any other
object (one whose attributes device code reads, ``p.scale``) is keyed by identity through
``Identity``, which holds it: while the key exists its address cannot pass to another object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import FunctionType, ModuleType
from typing import Any

import torch

from kcompiler.dialects.tile import next_pow2
from kcompiler.language import constexpr, unwrap_constexpr

INT32_MAX = 2**31 - 1


class Identity:
    """An object's part of a key: equal only to the same object. It holds the object, so the
    object outlives the key and no other object can take its address (an ``id`` alone would
    match a later object at a freed one's address: a trace with the old one's values baked in
    served to the new one)."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any):
        self.obj = obj

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Identity) and other.obj is self.obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __repr__(self) -> str:
        return f"Identity({type(self.obj).__name__} at {id(self.obj):#x})"


# The largest divisor a size's key records, unless the size is itself a power of two (then its
# bucket holds that one size, and the divisor is the size): a block beyond it over a size that
# is not a power of two keeps its mask. It bounds the variants a dynamic size can cause within
# one power-of-two bucket to 13.
MAX_DIVISOR = 4096


def pow2_divisor(n: int) -> int:
    """The largest power of two dividing ``n``: ``n`` itself for a power of two, else at most
    ``MAX_DIVISOR`` (0 counts as divisible by ``MAX_DIVISOR``: it has no partial tile)."""
    if n == 0:
        return MAX_DIVISOR
    low = n & -n
    return low if low == n else min(low, MAX_DIVISOR)


class BlockSizeInt(int):
    """A host int returned by ``kl.register_block_size``: remembers its block symbol."""

    block_sym: str

    def __new__(cls, value: int, block_sym: str) -> BlockSizeInt:
        obj = super().__new__(cls, value)
        obj.block_sym = block_sym
        return obj


class SpecializedInt(int):
    """A host int passed through ``kl.specialize``: becomes a static dim.

    Host arithmetic on it with ints (``C.bit_length() - 1``, ``C // 2``) stays specialized: the
    result is fixed wherever ``C`` is, so device code may use it as a Python int (``range``,
    a static dim); each such value entering a device loop is part of its specialization key.
    """

    def bit_length(self) -> int:
        return SpecializedInt(int(self).bit_length())


def _specialized_op(name: str) -> Any:
    base = getattr(int, name)

    def op(self: SpecializedInt, *other: Any) -> Any:
        if any(not isinstance(o, int) or isinstance(o, bool) for o in other):
            return base(self, *other)
        out = base(self, *other)
        return SpecializedInt(out) if isinstance(out, int) and not isinstance(out, bool) else out

    op.__name__ = name
    return op


for _name in (
    "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__floordiv__",
    "__rfloordiv__", "__mod__", "__rmod__", "__lshift__", "__rshift__", "__neg__", "__abs__",
):  # fmt: skip
    setattr(SpecializedInt, _name, _specialized_op(_name))


@dataclass
class SymbolTable:
    """Size symbols of one specialization and where their runtime values come from."""

    static_shapes: bool = False
    static_values: set[int] = field(default_factory=set)  # sizes passed through kl.specialize
    by_value: dict[int, str] = field(default_factory=dict)
    values: dict[str, int] = field(default_factory=dict)
    sources: dict[str, tuple[str, int | None]] = field(default_factory=dict)

    def dim(self, value: int, source: tuple[str, int | None]) -> str:
        """The dim string for a size: static when 0/1 (or static_shapes), else a symbol."""
        if (
            value in (0, 1)
            or self.static_shapes
            or isinstance(value, SpecializedInt)
            or value in self.static_values
        ):
            return str(int(value))
        sym = self.by_value.get(value)
        if sym is None:
            sym = f"s{len(self.by_value)}"
            self.by_value[value] = sym
            self.values[sym] = value
            self.sources[sym] = source
        return sym


@dataclass
class Specialization:
    key: tuple[Any, ...]
    symbols: SymbolTable
    int64_indexing: bool
    block_values: dict[str, int] = field(default_factory=dict)  # kl.register_block_size values
    constexprs: frozenset[str] = frozenset()  # kl.constexpr parameters: baked into the code
    # Host names that are compile-time constants (frontend/host_constants.py): an int among
    # them is a static size, its value in the key.
    constants: frozenset[str] = frozenset()

    def static_int(self, name: str, value: Any) -> bool:
        """Whether ``value``, the host value of ``name``, enters device code as a static int."""
        return (
            name in self.constants
            and isinstance(value, int)
            and not isinstance(value, (bool, BlockSizeInt))
        )


def overlapping(v: torch.Tensor) -> bool:
    """Whether several indices of ``v`` share one element: a stride-0 dim of more than one
    element (an ``expand()``ed tensor)."""
    return any(st == 0 and n > 1 for n, st in zip(v.shape, v.stride()))


def strided_last(v: torch.Tensor) -> bool:
    """Whether ``v``'s last dim has a stride other than 1, the launcher's test for refusing
    a tensor descriptor (a 0-d tensor has no last dim: False)."""
    return v.dim() > 0 and v.stride(-1) != 1


def function_key(fn: FunctionType, depth: int = 4) -> tuple[Any, ...]:
    """What a traced Python function contributes to a key: its code object, the values of its
    closure cells and its defaults (see the module docstring)."""
    cells = []
    for cell in fn.__closure__ or ():
        try:
            cells.append(value_key(cell.cell_contents, depth))
        except ValueError:  # a cell not bound yet
            cells.append(None)
    kw = tuple(sorted((fn.__kwdefaults__ or {}).items()))
    return (fn.__code__, tuple(cells), value_key(fn.__defaults__, depth), value_key(kw, depth))


def lifted_name(fn_name: str, var: str) -> str:
    """The kernel argument that carries tensor ``var``, captured by the function passed as
    ``fn_name``: device code reads it like any tensor argument."""
    return f"kc_lift_{fn_name}_{var}"


def captured_tensors(fn: Any) -> dict[str, torch.Tensor]:
    """The tensors a Python function closes over, by closure variable name."""
    if not isinstance(fn, FunctionType) or not fn.__closure__:
        return {}
    out = {}
    for var, cell in zip(fn.__code__.co_freevars, fn.__closure__):
        try:
            value = cell.cell_contents
        except ValueError:  # a cell not bound yet
            continue
        if isinstance(value, torch.Tensor):
            out[var] = value
    return out


def lifted_names(env: dict[str, Any], called: list[str]) -> list[str]:
    """The kernel arguments ``lift_captured_tensors`` adds for the functions named ``called``:
    a launch reads them like its loop's own names (device and grad checks included)."""
    return [lifted_name(name, var) for name in called for var in captured_tensors(env.get(name))]


def lift_captured_tensors(env: dict[str, Any], called: list[str]) -> dict[str, Any]:
    """``env`` with the tensors captured by the functions named ``called`` (the names a
    device loop calls) added under their ``lifted_name``; ``env`` itself when there are none."""
    lifted: dict[str, Any] = {}
    for name in called:
        for var, tensor in captured_tensors(env.get(name)).items():
            lifted[lifted_name(name, var)] = tensor
    return {**env, **lifted} if lifted else env


def value_key(v: Any, depth: int = 4) -> Any:
    """A value's part of a key: plain data (bools, ints, floats, strings, None, tuples and
    lists of them) by type and repr, tensors by their metadata, dtypes and modules as
    themselves, functions by ``function_key``, any other object by identity."""
    if isinstance(v, FunctionType):
        return function_key(v, depth - 1) if depth > 0 else (FunctionType, Identity(v))
    if isinstance(v, (bool, int, float, str, type(None))):
        return (type(v), repr(v))
    if isinstance(v, (tuple, list)):
        return (type(v), tuple(value_key(x, depth) for x in v))
    if isinstance(v, torch.Tensor):
        # requires_grad too: a launch that reads a captured tensor needing grad is guarded.
        return (torch.Tensor, v.dtype, tuple(v.shape), v.stride(), v.device.type, v.requires_grad)
    if isinstance(v, (torch.dtype, ModuleType)):
        return v
    return (type(v), Identity(v))


def _specialized(values: Any) -> set[int]:
    """Every kl.specialize'd int among ``values`` (sizes that become static everywhere)."""
    out: set[int] = set()
    for v in values:
        if isinstance(v, SpecializedInt):
            out.add(int(v))
        elif isinstance(v, (tuple, list)):
            out |= _specialized(v)
    return out


def specialize(
    names: list[str],
    env: dict[str, Any],
    static_shapes: bool,
    constexprs: frozenset[str] = frozenset(),
    constants: frozenset[str] = frozenset(),
    global_values: tuple[Any, ...] = (),
) -> Specialization:
    """The specialization of a device loop reading ``names`` from ``env``. ``constexprs``
    (kl.constexpr parameters) are baked in whatever their type; ``constants`` (host names the
    kernel's code fixes) are static sizes when they hold ints. Both are keyed by value.
    ``global_values``: the module globals the loop's code reads, keyed
    (frontend/global_reads.py ``read_values``): baked into the code, so part of the key."""
    # A value wrapped in kl.constexpr(...) (made in host code, or passed at the call) is baked
    # in like a kl.constexpr parameter, keyed by the value it wraps.
    constexprs = constexprs | {n for n in names if type(env.get(n)) is constexpr}
    table = SymbolTable(static_shapes=static_shapes)
    table.static_values = _specialized(env[n] for n in names if n in env)
    entries: list[Any] = [("<globals>", "G", global_values)] if global_values else []
    block_values: dict[str, int] = {}
    big = False
    for name in names:
        if name not in env:
            continue
        v = env[name]
        if name in constexprs:
            entries.append((name, "C", repr(unwrap_constexpr(v))))
        elif isinstance(v, torch.Tensor):
            dims = tuple(table.dim(int(s), (name, i)) for i, s in enumerate(v.shape))
            extent = sum((s - 1) * abs(st) for s, st in zip(v.shape, v.stride())) + 1
            big = big or extent > INT32_MAX or v.numel() > INT32_MAX
            entries.append(
                (name, "T", v.dtype, dims, v.device.type, overlapping(v), strided_last(v))
            )
        elif isinstance(v, bool):
            entries.append((name, "B", v))
        elif isinstance(v, BlockSizeInt):
            entries.append((name, "BS", v.block_sym, int(v)))
            block_values[v.block_sym] = int(v)
        elif isinstance(v, int) and name in constants:
            entries.append((name, "K", int(v)))
        elif isinstance(v, int):
            entries.append((name, "I", table.dim(v, (name, None))))
        elif isinstance(v, float):
            entries.append((name, "F"))
        elif v is None:
            entries.append((name, "N"))
        elif isinstance(v, (torch.dtype, str, tuple, list)):
            entries.append((name, "C", repr(v)))
        elif isinstance(v, FunctionType):
            entries.append((name, "FN", function_key(v)))
        else:
            entries.append((name, "O", type(v).__name__, Identity(v)))
    buckets = tuple(next_pow2(table.values[s]) for s in table.values)
    divisors = tuple(pow2_divisor(table.values[s]) for s in table.values)
    key = (tuple(entries), buckets, divisors, big, tuple(sorted(table.static_values)))
    return Specialization(key, table, big, block_values, constexprs, constants)
