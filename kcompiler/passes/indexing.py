"""indexing: choose how each load and store addresses memory (Helion's ``Config.indexing``).

Modes, per ``tile.load`` / ``tile.store`` in program order (walk order of the traced IR):

* ``pointer``: pointer arithmetic plus masks; always legal;
* ``block_ptr``: ``tl.make_block_ptr`` + ``boundary_check`` (Triton <= 3.6; 3.9 removed it);
* ``tensor_descriptor``: ``tl.make_tensor_descriptor`` (TMA on Hopper and later).

The pass records the choice as an ``indexing`` attribute on each load/store (none for
``pointer``); ``split-reductions`` copies it onto the loads and stores it re-issues, so it runs
first (``runs_before``). A choice the IR makes illegal is recorded as ``pointer``:

    tile.load %x[%i] ["tile", "full"] {indexing = "tensor_descriptor"} : ...

IR-level legality (``legal_modes``), the part that does not depend on the arguments:

* every index is a ``tile`` or ``full`` one (a gather or a scalar index is pointer-only);
* each ``tile`` index comes from a plain (non-jagged) ``tile.for`` whose upper bound is the
  tensor's own size in that dim, so the descriptor's bounds are the loop's mask;
* the element type has a width (no ``i1``) and the tensor has rank 1..5;
* for ``tensor_descriptor`` also: the last dim's block covers >= 16 bytes when that is known
  from the IR (a static or whole-dim block), and a tile of the last dim starts at 0 (so block
  offsets stay 16-byte aligned).

What depends on the arguments (last-dim stride 1, 16-byte aligned base and strides) is checked
by the Triton launcher at run time, which falls back to the pointer version of the kernel; what
depends on block sizes (a tiled last dim's 16 bytes) is a constraint of the config space.

Options: ``indexing{modes=pointer,tensor_descriptor}``: one mode per load/store in program
order (missing entries are ``pointer``); a single mode applies to all of them, and so does a
list longer than the loads/stores whose entries are all one mode (Helion numbers accesses its
own way, see ``check_count``). A longer list of different modes is an ``InvalidConfig``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.ir import Attribute, BlockArgument, Operation, SSAValue
from xdsl.passes import ModulePass

from kcompiler.dialects import tile as t
from kcompiler.dialects.tile import next_pow2
from kcompiler.exc import InvalidConfig

INDEXING_MODES = ("pointer", "block_ptr", "tensor_descriptor")
ATTR = "indexing"
TMA_MIN_BYTES = 16


def normalize_indexing(value: Any) -> tuple[str, ...]:
    """``Config.indexing`` (None, a mode, or a list of modes) as a tuple of checked modes."""
    if value is None:
        return ()
    modes = (value,) if isinstance(value, str) else tuple(value)
    for i, m in enumerate(modes):
        if m not in INDEXING_MODES:
            where = "indexing" if isinstance(value, str) else f"indexing[{i}]"
            raise InvalidConfig(f"{where} = {m!r}: expected one of {', '.join(INDEXING_MODES)}")
    return modes


def memory_ops(module: Operation) -> list[t.LoadOp | t.StoreOp]:
    """Every load and store, in program order: ``Config.indexing[i]`` is the i-th."""
    return [op for op in module.walk() if isinstance(op, (t.LoadOp, t.StoreOp))]


_BYTES = {
    t.f16: 2,
    t.bf16: 2,
    t.f32: 4,
    t.f64: 8,
    t.i8: 1,
    t.u8: 1,
    t.i16: 2,
    t.i32: 4,
    t.f8e4m3: 1,
    t.f8e5m2: 1,
}


def element_bytes(dtype: Attribute) -> int | None:
    """Bytes of one element; None for i1 (bool tensors stay on pointers)."""
    from xdsl.dialects.builtin import i64

    if dtype == i64:
        return 8
    return _BYTES.get(dtype)  # type: ignore[call-overload]


def loop_of(tile: SSAValue) -> t.ForOp | None:
    """The ``tile.for`` whose induction tile ``tile`` is, if it is one."""
    if not isinstance(tile, BlockArgument) or tile.index != 0:
        return None
    parent = tile.block.parent_op()
    return parent if isinstance(parent, t.ForOp) else None


def _is_const(v: SSAValue, value: int) -> bool:
    owner = v.owner
    if not isinstance(owner, t.ConstantOp):
        return False
    data = owner.value.value.data  # type: ignore[union-attr]
    return not isinstance(data, float) and int(data) == value


def _bound_is(v: SSAValue, size: str) -> bool:
    """Whether the loop bound ``v`` is the tensor size ``size`` (a symbol or a literal)."""
    owner = v.owner
    if isinstance(owner, t.SizeOp):
        return owner.sym.data == size
    return size.isdigit() and _is_const(v, int(size))


def _hints(op: Operation) -> dict[str, int]:
    parent = op.parent_op()
    while parent is not None and not isinstance(parent, t.KernelOp):
        parent = parent.parent_op()
    return parent.size_hints if parent is not None else {}


@dataclass(frozen=True)
class Site:
    """One load or store and what its indexing may be."""

    index: int  # position in program order (Config.indexing[index])
    op: t.LoadOp | t.StoreOp
    tensor: str  # the kernel argument's name ('' when not an argument)
    modes: tuple[str, ...]  # legal by the IR; always starts with 'pointer'
    elem_bytes: int | None
    last_block: str | None  # block symbol tiling the last dim (its size is a knob), else None
    last_elements: int | None  # elements of the last dim's block when fixed by the IR

    def last_dim_bytes_ok(self, block_sizes: dict[str, int]) -> bool | None:
        """Whether the descriptor's last dim covers 16 bytes; None when unknown."""
        if self.elem_bytes is None:
            return False
        n = self.last_elements
        if n is None and self.last_block is not None:
            n = block_sizes.get(self.last_block)
        if n is None:
            return None
        return n * self.elem_bytes >= TMA_MIN_BYTES


def _loc(op: Operation) -> str:
    """The kernel source line an op was traced from (``file.py:12``), or ''."""
    loc = op.attributes.get("loc")
    return loc.data if isinstance(loc, StringAttr) else ""


def _tensor_name(op: t.LoadOp | t.StoreOp) -> str:
    arg = op.tensor
    if isinstance(arg, BlockArgument):
        kernel = arg.block.parent_op()
        if isinstance(kernel, t.KernelOp) and arg.index < len(kernel.names):
            return kernel.names[arg.index]
    return ""


def site(op: t.LoadOp | t.StoreOp, index: int = 0) -> Site:
    """The IR-level legality of ``op``'s indexing modes (see the module docstring)."""
    ty = op.tensor.type
    assert isinstance(ty, t.TensorType)
    esz = element_bytes(ty.element_type)
    name = _tensor_name(op)
    rank = len(ty.dims)
    pointer_only = Site(index, op, name, ("pointer",), esz, None, None)
    if not 1 <= rank <= 5 or esz is None or any(k not in ("tile", "full") for k in op.kinds):
        return pointer_only
    descriptor = True
    last_block: str | None = None
    last_elements: int | None = None
    indices = iter(op.indices)
    for d, (kind, size) in enumerate(zip(op.kinds, ty.dims)):
        last = d == rank - 1
        if kind == "full":
            if last:
                if size.isdigit():
                    last_elements = next_pow2(int(size))
                elif size in _hints(op):
                    last_elements = next_pow2(_hints(op)[size])
            continue
        loop = loop_of(next(indices))
        if loop is None or loop.kind.data != "tile" or not _bound_is(loop.ub, size):
            return pointer_only
        if last:
            if not _is_const(loop.lb, 0):
                descriptor = False
            blk = loop.block.data
            if blk.isdigit():
                last_elements = int(blk)
            else:
                last_block = blk
    if last_elements is not None and last_elements * esz < TMA_MIN_BYTES:
        descriptor = False
    modes = ("pointer", "block_ptr") + (("tensor_descriptor",) if descriptor else ())
    return Site(index, op, name, modes, esz, last_block, last_elements)


def sites(module: Operation) -> list[Site]:
    """Every load/store of ``module`` with its legal modes, in program order."""
    return [site(op, i) for i, op in enumerate(memory_ops(module))]


def mode_of(op: Operation) -> str:
    """The mode the ``indexing`` pass recorded on a load/store (``pointer`` if none)."""
    attr = op.attributes.get(ATTR)
    return attr.data if isinstance(attr, StringAttr) else "pointer"


@dataclass(frozen=True)
class IndexingPass(ModulePass):
    name = "indexing"
    requires: ClassVar[tuple[str, ...]] = ("shape-inference",)
    runs_before: ClassVar[tuple[str, ...]] = ("split-reductions",)

    modes: tuple[str, ...] = ()

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        modes = normalize_indexing(self.modes)
        for kernel in op.ops:
            if not isinstance(kernel, t.KernelOp):
                continue
            ops = memory_ops(kernel)
            check_count(kernel, ops, modes)
            uniform = len(modes) == 1 or len(modes) > len(ops)  # one mode (check_count)
            for i, mem in enumerate(ops):
                mode = modes[0] if uniform else (modes[i] if i < len(modes) else "pointer")
                if mode not in site(mem, i).modes:
                    mode = "pointer"
                if mode == "pointer":
                    mem.attributes.pop(ATTR, None)
                else:
                    mem.attributes[ATTR] = StringAttr(mode)


def check_count(
    kernel: t.KernelOp, ops: Sequence[t.LoadOp | t.StoreOp], modes: Sequence[str]
) -> None:
    """Refuse a list of modes longer than the kernel's loads/stores whose entries differ."""
    if len(modes) > len(ops) and len(set(modes)) > 1:
        # Helion numbers the accesses of its reduction-rolled graph copies too (and its
        # graphs in tracing order), so its lists can be longer. A list of one repeated mode
        # means that mode for every access however they are numbered; otherwise which
        # entry would be which access here is not determined, so the list is refused.
        accesses = ", ".join(
            f"{'load' if isinstance(m, t.LoadOp) else 'store'} "
            f"{_tensor_name(m) or '?'}" + (f" ({_loc(m)})" if _loc(m) else "")
            for m in ops
        )
        raise InvalidConfig(
            f"indexing has {len(modes)} entries but kernel @{kernel.sym_name.data} "
            f"has {len(ops)} loads/stores ({accesses}): give one mode per load/store "
            "in source order, or one mode for all (a list tuned for Helion also "
            "counts the loads/stores of its rolled reduction loops and does not "
            "map onto these)"
        )


def apply_indexing(module: ModuleOp, indexing: Sequence[str] | str | None) -> None:
    """Apply ``Config.indexing`` to ``module`` in place."""
    modes = normalize_indexing(indexing)
    if any(m != "pointer" for m in modes):
        IndexingPass(modes=modes).apply(Context(), module)
