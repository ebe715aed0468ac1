"""FLOP and byte counts of a kernel call's device loops, read off their traced tile IR.

Each device loop's IR is symbolic: a value's dims are block symbols (one tile of a loop),
size symbols (a tensor dim) or static ints. A count is made concrete with the sizes of the
call at hand:

* an op's element count is the product of its result dims, where a dim that is the block of
  an enclosing loop counts that loop's whole *extent* (its tiles together cover the range
  exactly, masked tails excluded), a size symbol counts its value and a static dim itself;
* an enclosing loop whose block is *not* a dim of the value (a per-row scalar inside a
  reduction loop, a weight row reloaded by every tile) multiplies by its number of tiles,
  ``ceil(extent / block)``, since the op runs once per tile.

What counts as a FLOP: floating-point ``tile.binary`` arithmetic and comparisons (one per
result element), floating-point ``tile.unary`` math (one per element), ``tile.reduce`` on a
floating-point value (one per *input* element) and ``tile.dot`` (``2*M*N*K``). Integer ops
(index math), casts, selects and reshapes count 0. So softmax of an ``[M, N]`` input counts
``5*M*N`` (max, sub, exp, sum, div) and ``vector_add`` of ``n`` elements counts ``n``.

Bytes moved: every ``tile.load`` reads (elements of its result) x itemsize, every
``tile.store`` writes (elements of its indexed target) x itemsize: the traffic the kernel
issues, before any cache reuse.

Loops whose bound is not a host value (``kl.jagged_tile``: a per-row bound) are counted as
one tile of their block and the result is flagged ``approximate``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Attribute, Block, BlockArgument, SSAValue

from kcompiler.compiler.checks import resolve_block_sizes
from kcompiler.dialects import tile as t

if TYPE_CHECKING:
    from kcompiler.runtime.kernel import Kernel


@dataclass
class Counts:
    """What one kernel call computes and moves (summed over its device loops)."""

    flops: int = 0
    bytes_loaded: int = 0
    bytes_stored: int = 0
    launches: int = 0
    approximate: bool = False

    @property
    def bytes(self) -> int:
        return self.bytes_loaded + self.bytes_stored

    def __iadd__(self, other: Counts) -> Counts:
        self.flops += other.flops
        self.bytes_loaded += other.bytes_loaded
        self.bytes_stored += other.bytes_stored
        self.launches += other.launches
        self.approximate = self.approximate or other.approximate
        return self


_ITEMSIZE = {t.f16: 2, t.bf16: 2, t.f32: 4, t.f64: 8, t.i1: 1, t.i8: 1, t.u8: 1, t.i16: 2, t.i32: 4}


def _itemsize(elt: Attribute) -> int:
    if elt in _ITEMSIZE:
        return _ITEMSIZE[elt]
    width = getattr(elt, "width", None)
    if width is not None:  # i64 and other builtin integer types
        return max(1, int(width.data) // 8)
    return 4


def _is_float(elt: Attribute) -> bool:
    return t.is_float(elt)


@dataclass
class _Loop:
    block: str
    extent: int
    block_size: int

    @property
    def tiles(self) -> int:
        if self.extent <= 0:
            return 0
        return math.ceil(self.extent / max(1, self.block_size))


class _Counter:
    def __init__(
        self,
        kernel_op: t.KernelOp,
        values: dict[str, int],
        env: dict[str, Any],
        block_sizes: dict[str, int],
    ):
        self.values = values
        self.env = env
        self.block_sizes = block_sizes
        self.arg_names = kernel_op.names
        self.kernel_block = kernel_op.body.block
        self.counts = Counts(launches=1)

    # -- scalars (loop bounds) ---------------------------------------------------------------
    def scalar(self, v: SSAValue) -> int | None:
        if isinstance(v, BlockArgument):
            if v.owner is self.kernel_block:
                host = self.env.get(self.arg_names[v.index])
                if isinstance(host, (int, float)) and not isinstance(host, bool):
                    return int(host)
            return None
        op = v.owner
        if isinstance(op, t.SizeOp):
            return self.dim_value(op.sym.data)
        if isinstance(op, t.ConstantOp):
            data = op.value.value.data  # type: ignore[union-attr]
            return int(data)
        if isinstance(op, t.CastOp):
            return self.scalar(op.operand)
        if isinstance(op, t.BinaryOp):
            a, b = self.scalar(op.lhs), self.scalar(op.rhs)
            if a is None or b is None:
                return None
            kind = op.kind.data
            if kind == "add":
                return a + b
            if kind == "sub":
                return a - b
            if kind == "mul":
                return a * b
            if kind == "floordiv" and b:
                return a // b
            if kind == "div" and b:
                return math.ceil(a / b)
            if kind == "maximum":
                return max(a, b)
            if kind == "minimum":
                return min(a, b)
        return None

    def dim_value(self, d: str) -> int:
        if d.isdigit():
            return int(d)
        if d in self.values:
            return self.values[d]
        if d in self.block_sizes:
            return self.block_sizes[d]
        self.counts.approximate = True
        return 1

    # -- element counts ----------------------------------------------------------------------
    def elements(self, dims: tuple[str, ...] | list[str], loops: list[_Loop]) -> int:
        by_block = {lp.block: lp for lp in loops}
        covered: set[str] = set()
        n = 1
        for d in dims:
            lp = by_block.get(d)
            if lp is not None and not d.isdigit():
                n *= lp.extent
                covered.add(d)
            else:
                n *= self.dim_value(d)
        for lp in loops:
            if lp.block not in covered:
                n *= lp.tiles
        return n

    # -- walk --------------------------------------------------------------------------------
    def walk_block(self, block: Block, loops: list[_Loop]) -> None:
        for op in block.ops:
            self.visit(op, loops)

    def visit(self, op: Any, loops: list[_Loop]) -> None:
        c = self.counts
        if isinstance(op, t.ForOp):
            lb, ub = self.scalar(op.lb), self.scalar(op.ub)
            block = op.block.data
            size = int(block) if block.isdigit() else self.block_sizes.get(block, 1)
            if lb is None or ub is None:
                # A jagged or data-dependent bound: count a single tile.
                c.approximate = True
                extent = size
            else:
                extent = max(0, ub - lb)
            self.walk_block(op.body.block, [*loops, _Loop(block, extent, size)])
            return
        if isinstance(op, t.BinaryOp):
            res = t.block_of(op.result)
            kind = op.kind.data
            if kind in t.BINARY_ARITH or kind in t.BINARY_COMPARE:
                if _is_float(op.operand_dtype()):
                    c.flops += self.elements(res.dims, loops)
            return
        if isinstance(op, t.UnaryOp):
            res = t.block_of(op.result)
            if _is_float(res.element_type) and op.kind.data != "not":
                c.flops += self.elements(res.dims, loops)
            return
        if isinstance(op, t.ReduceOp):
            src = t.block_of(op.operand)
            if _is_float(src.element_type):
                c.flops += self.elements(src.dims, loops)
            return
        if isinstance(op, t.DotOp):
            a, b = t.block_of(op.lhs), t.block_of(op.rhs)
            c.flops += 2 * self.elements((*a.dims[:-1], b.dims[-1], a.dims[-1]), loops)
            return
        if isinstance(op, t.LoadOp):
            res = t.block_of(op.result)
            c.bytes_loaded += self.elements(res.dims, loops) * _itemsize(res.element_type)
            return
        if isinstance(op, t.StoreOp):
            tensor = op.tensor.type
            assert isinstance(tensor, t.TensorType)
            dims = t.indexed_dims(tensor, op.kinds, op.indices)
            c.bytes_stored += self.elements(dims, loops) * _itemsize(tensor.element_type)
            return
        for region in op.regions:
            for block in region.blocks:
                self.walk_block(block, loops)


def count_module(
    module: ModuleOp, values: dict[str, int], env: dict[str, Any], block_sizes: dict[str, int]
) -> Counts:
    """Counts of one device loop's IR, given its size symbols' values and block sizes."""
    total = Counts()
    for op in module.ops:
        if isinstance(op, t.KernelOp):
            counter = _Counter(op, values, env, block_sizes)
            counter.walk_block(op.body.block, [])
            total += counter.counts
    return total


def count_launch(kernel: Kernel, index: int, env: dict[str, Any], config: Any = None) -> Counts:
    """Counts of device loop ``index`` launched with the host values ``env``."""

    module, spec = kernel.trace_loop(index, env)
    cfg = config if config is not None else kernel.choose_config()
    sizes = resolve_block_sizes(module, cfg, kernel.blocks)
    return count_module(module, dict(spec.symbols.values), env, sizes)


# -- torch.utils.flop_counter integration ----------------------------------------------------


def register_formula(packet: Any, formula: Any) -> None:
    """Register ``formula`` (raw args) for ``packet``, also with FlopCounterModes active now.

    ``FlopCounterMode`` copies the formula registry when it is constructed; an op registered
    lazily, on its first call inside the mode, would otherwise be counted as 0.
    """
    from torch.utils import flop_counter
    from torch.utils._python_dispatch import _get_current_dispatch_mode_stack

    def raw(*args: Any, **kwargs: Any) -> int:
        return formula(*args, **kwargs)

    raw._get_raw = True  # type: ignore[attr-defined]
    if packet not in flop_counter.flop_registry:
        flop_counter.register_flop_formula(packet, get_raw=True)(raw)
    for mode in _get_current_dispatch_mode_stack():
        counter = getattr(mode, "counter", None)
        registry = getattr(counter, "flop_registry", None)
        if isinstance(registry, dict):
            registry.setdefault(packet, raw)
