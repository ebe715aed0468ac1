"""Loads and stores in Triton: pointer arithmetic, block pointers or tensor descriptors.

``TritonEmitter.op_load`` / ``op_store`` delegate here. The mode of each load/store is the
``indexing`` attribute the ``indexing`` pass recorded (``kcompiler/passes/indexing.py``), taken
only when it is legal for this IR, these block sizes and the installed Triton
(``effective_mode``); anything else is emitted as pointer arithmetic:

    # pointer
    v = tl.load(x_ptr + offs_1[:, None] * x_stride_0 + ..., mask=..., other=0.0)
    # block_ptr (Triton <= 3.6)
    bp = tl.make_block_ptr(x_ptr, shape=(s0, s1), strides=(x_stride_0, x_stride_1),
                           offsets=(begin_1, 0), block_shape=(BLOCK_0, RDIM_S1), order=(1, 0))
    v = tl.load(bp, boundary_check=(0, 1), padding_option="zero")
    # tensor_descriptor: created once at the top of the kernel, loaded at tile offsets
    desc_x_0 = tl.make_tensor_descriptor(x_ptr, shape=[s0, s1], strides=[x_stride_0, 1],
                                         block_shape=[BLOCK_0, RDIM_S1])
    v = desc_x_0.load([begin_1, 0])

Out-of-bounds lanes read 0 and are not written in every mode, as the masking rule of the
emitter requires (the bounds of a block pointer or descriptor are the tensor's sizes, which
the IR check ties to the loops' bounds).

A tensor descriptor needs facts about the arguments: last-dim stride 1, 16-byte aligned base and
other strides (and, on a GPU, blocks no larger than the tensor). ``descriptor_guards`` lists
them per kernel; ``guarded`` wraps the launcher so that arguments failing them run the same
kernel emitted with pointers. On a GPU, ``tl.make_tensor_descriptor`` inside a kernel needs a
scratch allocator for the TMA descriptors: ``ensure_allocator`` installs a torch one
(``triton.set_allocator``) unless the user set their own.

What the installed Triton can do is read at import: Triton 3.9 removed block pointers
(``tl.make_block_ptr`` raises), so ``SUPPORTED_MODES`` offers only what works.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import triton.language as tl
from xdsl.dialects.builtin import StringAttr
from xdsl.ir import Operation, SSAValue

from kcompiler.backends.triton import bounds
from kcompiler.backends.triton.index_layout import index_positions, place
from kcompiler.backends.triton.tl_types import tl_dtype
from kcompiler.dialects import tile as t
from kcompiler.dialects.tile import next_pow2
from kcompiler.exc import InvalidConfig
from kcompiler.passes import indexing as ir_indexing


def _block_ptr_works() -> bool:
    fn = getattr(tl, "make_block_ptr", None)
    if fn is None:
        return False
    doc = (getattr(fn, "__doc__", None) or "").lower()
    if "removed" in doc:
        return False
    try:
        src = inspect.getsource(fn)
    except (OSError, TypeError):
        return True
    body = src.split(":", 1)[-1]
    return "NotImplementedError" not in body


BLOCK_PTR = _block_ptr_works()
TENSOR_DESCRIPTOR = hasattr(tl, "make_tensor_descriptor")
SUPPORTED_MODES: tuple[str, ...] = (
    ("pointer",)
    + (("block_ptr",) if BLOCK_PTR else ())
    + (("tensor_descriptor",) if TENSOR_DESCRIPTOR else ())
)


def supported_modes() -> tuple[str, ...]:
    """Indexing modes the installed Triton supports (``pointer`` first)."""
    return SUPPORTED_MODES


def _block_elements(
    d: str, kind: str, idx: SSAValue | None, opts: Any, hints: dict[str, int]
) -> int | None:
    """Elements of a load/store block along one tensor dim, once block sizes are known."""
    if kind == "full":
        if d.isdigit():
            return next_pow2(int(d))
        return next_pow2(hints[d]) if d in hints else None
    assert idx is not None and isinstance(idx.type, t.TileType)
    blk = idx.type.block.data
    if blk.isdigit():
        return int(blk)
    return opts.block_sizes.get(blk)


def block_shape(op: t.LoadOp | t.StoreOp, opts: Any, hints: dict[str, int]) -> list[int | None]:
    """Per tensor dim, the block's element count (tile/full indices only)."""
    ty = op.tensor.type
    assert isinstance(ty, t.TensorType)
    out: list[int | None] = []
    it = iter(op.indices)
    for kind, d in zip(op.kinds, ty.dims):
        idx = next(it) if kind != "full" else None
        out.append(_block_elements(d, kind, idx, opts, hints))
    return out


def effective_mode(op: t.LoadOp | t.StoreOp, opts: Any, hints: dict[str, int]) -> str:
    """The mode to emit: the recorded one when legal here, else ``pointer``."""
    mode = ir_indexing.mode_of(op)
    if mode == "pointer" or getattr(opts, "indexing_fallback", False):
        return "pointer"
    if op.mask is not None:  # an element-wise mask: only pointer accesses take one
        return "pointer"
    if mode not in SUPPORTED_MODES or opts.int64_indexing:  # both take 32-bit offsets
        return "pointer"
    info = ir_indexing.site(op)
    if mode not in info.modes:
        return "pointer"
    if mode == "tensor_descriptor":
        shape = block_shape(op, opts, hints)
        last = shape[-1]
        if last is None or info.elem_bytes is None:
            return "pointer"
        if last * info.elem_bytes < ir_indexing.TMA_MIN_BYTES:
            return "pointer"
    return mode


# -- emission -------------------------------------------------------------------------------


def _tuple(items: Sequence[str], brackets: str = "()") -> str:
    inner = ", ".join(items)
    if brackets == "()" and len(items) == 1:
        inner += ","
    return f"{brackets[0]}{inner}{brackets[1]}"


def pointer_expr(
    em: Any, tensor: SSAValue, kinds: tuple[str, ...], indices: Any, out: tuple[str, ...]
) -> str:
    """``base_ptr + sum(index_d * stride_d)`` with each index laid out along ``out``'s dims."""
    ty = tensor.type
    assert isinstance(ty, t.TensorType)
    name = em.name(tensor)
    base = name[: -len("_ptr")]
    terms: list[str] = []
    for d, kind, idx, at in index_positions(em, kinds, indices):
        size = ty.dims[d]
        if kind == "full":
            rng, _, _ = em.dim_range(size)
            if out.count(size) > 1:  # w[:, :] of a square tensor: place the range by position
                expr = place(rng, (size,), at, out)
            else:
                expr = em.expand(rng, (size,), out)
        elif kind == "tile":
            assert idx is not None
            blk = idx.type.block.data
            expr = em.expand(em.loops[blk].offs, (blk,), out)
        else:
            assert idx is not None
            expr = place(em.name(idx), em.dims(idx), at, out)
        if em.opts.int64_indexing:
            expr = f"({expr}).to(tl.int64)"
        terms.append(f"{expr} * {base}_stride_{d}")
    return f"{name} + " + " + ".join(terms) if terms else name


def pointer_access(
    em: Any, op: t.LoadOp | t.StoreOp | t.AtomicOp, out: tuple[str, ...]
) -> tuple[str, str | None]:
    """A pointer-mode access by ``op``, laid out along ``out``: the pointer expression and
    the mask of the lanes it touches (None: every lane). A lane is touched when it lies
    inside the tensor, its computed indices pass the bounds checks (``bounds.guard`` emits
    them) and, for a load or store, its ``extra_mask`` holds."""
    checked = bounds.guard(em, op, out)  # computed indices: in-bounds lanes only
    ptr = pointer_expr(em, op.tensor, op.kinds, op.indices, out)
    mask = bounds.and_masks(em.access_mask(op.tensor, op.kinds, op.indices, out), checked)
    if not isinstance(op, t.AtomicOp):  # atomics take no extra mask
        mask = bounds.and_masks(mask, extra_mask(em, op, out))
    return ptr, mask


def extra_mask(em: Any, op: t.LoadOp | t.StoreOp, out: tuple[str, ...]) -> str | None:
    """The access's ``mask`` operand (``extra_mask=``) laid out along ``out``: broadcast by
    numpy's rule (leading unit axes), which the verifier checked."""
    if op.mask is None:
        return None
    dims = em.dims(op.mask)
    expr = em.name(op.mask)
    if not dims:
        if not out:
            return expr
        # A 0-d predicate gets the access's shape by arithmetic (the interpreter rejects a
        # broadcast 0-d comparison as a block's mask).
        return f"((tl.zeros({em.shape_tuple(out)}, tl.int32) + {expr}.to(tl.int32)) != 0)"
    return em.align_right(expr, dims, len(out))


def _fill(op: t.LoadOp) -> str:
    elt = t.block_of(op.result).element_type
    return "0.0" if t.is_float(elt) or tl_dtype(elt).startswith("tl.float8") else "0"


def _layout(em: Any, op: t.LoadOp | t.StoreOp) -> tuple[list[str], list[str], list[str], list[int]]:
    """(shape, block_shape, offsets, dims needing a bounds check) of a tile/full access."""
    ty = op.tensor.type
    assert isinstance(ty, t.TensorType)
    shape: list[str] = []
    blocks: list[str] = []
    offsets: list[str] = []
    check: list[int] = []
    it = iter(op.indices)
    for d, (kind, size) in enumerate(zip(op.kinds, ty.dims)):
        shape.append(size if size.isdigit() else em.size_param(size))
        if kind == "full":
            blocks.append(em.dim_size(size) if size != "1" else "1")
            offsets.append("0")
            if size != "1" and not (size.isdigit() and next_pow2(int(size)) == int(size)):
                check.append(d)
        else:
            lp = em.loops[next(it).type.block.data]
            blocks.append(lp.size)
            offsets.append(lp.begin)
            if lp.size != "1" or size != "1":
                check.append(d)
    return shape, blocks, offsets, check


def _descriptor(em: Any, op: t.LoadOp | t.StoreOp, shape: list[str], blocks: list[str]) -> str:
    """A tensor descriptor for (tensor, block shape), created once at the top of the kernel."""
    cache: dict[tuple[str, tuple[str, ...]], str] = em.__dict__.setdefault("_kc_descriptors", {})
    ptr = em.name(op.tensor)
    key = (ptr, tuple(blocks))
    var = cache.get(key)
    if var is not None:
        return var
    base = ptr[: -len("_ptr")]
    var = f"desc_{base}_{len(cache)}"
    cache[key] = var
    rank = len(shape)
    strides = [f"{base}_stride_{d}" for d in range(rank - 1)] + ["1"]
    line = (
        f"{var} = tl.make_tensor_descriptor({ptr}, shape={_tuple(shape, '[]')}, "
        f"strides={_tuple(strides, '[]')}, block_shape={_tuple(blocks, '[]')})"
    )
    em.lines.insert(len(cache) - 1, "    " + line)  # kernel top, in creation order
    return var


def _block_ptr(
    em: Any, op: t.LoadOp | t.StoreOp, shape: list[str], blocks: list[str], offsets: list[str]
) -> str:
    ptr = em.name(op.tensor)
    base = ptr[: -len("_ptr")]
    rank = len(shape)
    strides = [f"{base}_stride_{d}" for d in range(rank)]
    order = [str(d) for d in reversed(range(rank))]
    var = em.fresh("bp")
    em.line(
        f"{var} = tl.make_block_ptr({ptr}, shape={_tuple(shape)}, strides={_tuple(strides)}, "
        f"offsets={_tuple(offsets)}, block_shape={_tuple(blocks)}, order={_tuple(order)})"
    )
    return var


# A load's eviction policy (Config.load_eviction_policies, recorded by the backend's compile
# step): "first" or "last", emitted as tl.load(..., eviction_policy="evict_<policy>").
EVICTION_ATTR = "eviction_policy"


def eviction_policy(op: t.LoadOp) -> str:
    attr = op.attributes.get(EVICTION_ATTR)
    return attr.data if isinstance(attr, StringAttr) else ""


def emit_load(em: Any, op: t.LoadOp) -> None:
    out = em.dims(op.result)
    mode = effective_mode(op, em.opts, em.hints)
    policy = eviction_policy(op)
    evict = f', eviction_policy="evict_{policy}"' if policy else ""
    if mode == "pointer":
        ptr, mask = pointer_access(em, op, out)
        if mask is None:
            em.bind(op.result, f"tl.load({ptr}{evict})")
        else:
            em.bind(op.result, f"tl.load({ptr}, mask={mask}, other={_fill(op)}{evict})")
        return
    shape, blocks, offsets, check = _layout(em, op)
    if mode == "tensor_descriptor":
        if policy:  # Triton's descriptor loads take no cache hints
            tensor = em.name(op.tensor).removesuffix("_ptr")
            raise InvalidConfig(
                f"load_eviction_policies: {policy!r} on the load of {tensor!r}, which indexing "
                "makes a tensor_descriptor load (those take no eviction policy); use pointer "
                "indexing for it or the policy ''"
            )
        desc = _descriptor(em, op, shape, blocks)
        em.bind(op.result, f"{desc}.load({_tuple(offsets, '[]')})")
        return
    bp = _block_ptr(em, op, shape, blocks, offsets)
    if check:
        em.bind(
            op.result,
            f"tl.load({bp}, boundary_check={_tuple([str(d) for d in check])}, "
            f'padding_option="zero"{evict})',
        )
    else:
        em.bind(op.result, f"tl.load({bp}{evict})")


def emit_store(em: Any, op: t.StoreOp) -> None:
    ty = op.tensor.type
    assert isinstance(ty, t.TensorType)
    target = t.indexed_dims(ty, op.kinds, op.indices)
    val = em.name(op.value)
    vd = em.dims(op.value)
    if vd != target and not t.same_dims(vd, target, t.fixed_size_symbols(op)):
        val = em.align_right(val, vd, len(target))
        if target:
            val = f"tl.broadcast_to({val}, {em.shape_tuple(target)})"
    mode = effective_mode(op, em.opts, em.hints)
    if mode == "pointer":
        ptr, mask = pointer_access(em, op, target)
        if mask is None:
            em.line(f"tl.store({ptr}, {val})")
        else:
            em.line(f"tl.store({ptr}, {val}, mask={mask})")
        return
    vt = t.block_of(op.value).element_type
    if vt != ty.element_type or vt in (t.f16, t.bf16):  # half values may be float32 registers
        val = f"({val}).to({tl_dtype(ty.element_type)})"
    shape, blocks, offsets, check = _layout(em, op)
    if mode == "tensor_descriptor":
        desc = _descriptor(em, op, shape, blocks)
        em.line(f"{desc}.store({_tuple(offsets, '[]')}, {val})")
        return
    bp = _block_ptr(em, op, shape, blocks, offsets)
    if check:
        em.line(f"tl.store({bp}, {val}, boundary_check={_tuple([str(d) for d in check])})")
    else:
        em.line(f"tl.store({bp}, {val})")


# -- run-time guards ------------------------------------------------------------------------


@dataclass(frozen=True)
class DescriptorGuard:
    """What a tensor argument read through a descriptor must satisfy at run time."""

    param: str  # the kernel argument (a launcher parameter)
    elem_bytes: int
    blocks: tuple[int, ...]  # block elements per dim (GPU: each must be <= the size)


def _hints_of(module: Operation) -> dict[str, int]:
    for op in module.walk():
        if isinstance(op, t.KernelOp):
            return op.size_hints
    return {}


def descriptor_guards(module: Operation, opts: Any) -> list[DescriptorGuard]:
    """The run-time conditions of the tensor descriptors ``generate`` will emit."""
    hints = _hints_of(module)
    out: dict[tuple[str, tuple[int, ...]], DescriptorGuard] = {}
    for op in ir_indexing.memory_ops(module):
        if effective_mode(op, opts, hints) != "tensor_descriptor":
            continue
        info = ir_indexing.site(op)
        blocks = tuple(b or 1 for b in block_shape(op, opts, hints))
        assert info.elem_bytes is not None
        out[(info.tensor, blocks)] = DescriptorGuard(info.tensor, info.elem_bytes, blocks)
    return list(out.values())


# An in-kernel tensor descriptor takes this much of the launch's global scratch per program,
# which Triton addresses with 32-bit offsets: past 2**31 bytes the kernel writes out of bounds.
DESCRIPTOR_SCRATCH_BYTES = 128
SCRATCH_LIMIT = 2**31


def program_count(
    module: Operation, params: Sequence[str], blocks: dict[str, int], sources: dict[str, Any]
) -> Callable[[Sequence[Any]], int | None]:
    """``count(args)``: the tiles of the launch's parallel nest for launcher arguments ``args``
    (a persistent schedule launches fewer programs), or None where a bound is not a size."""
    kernel = next((op for op in module.walk() if isinstance(op, t.KernelOp)), None)
    pos = {p: i for i, p in enumerate(params)}
    steps: list[tuple[int, int | tuple[int, int | None]]] = []
    for loop in kernel.parallel_nest() if kernel is not None else []:
        blk = loop.block.data
        step = int(blk) if blk.isdigit() else blocks.get(blk, 1)
        ub = t.static_bound(loop.ub)
        if isinstance(ub, int):
            steps.append((step, ub))
        elif isinstance(ub, str) and sources.get(ub, ("", None))[0] in pos:
            name, dim = sources[ub]
            steps.append((step, (pos[name], dim)))
        else:
            return lambda args: None

    def count(args: Sequence[Any]) -> int | None:
        n = 1
        for step, extent in steps:
            if isinstance(extent, tuple):
                i, dim = extent
                extent = int(args[i] if dim is None else args[i].shape[dim])
            n *= -(-extent // max(1, step))
        return n

    return count


def descriptor_check(
    params: Sequence[str],
    guards: Sequence[DescriptorGuard],
    check_bounds: bool,
    scratch: tuple[Callable[[Sequence[Any]], int | None], int] | None = None,
) -> Callable[[Sequence[Any]], bool]:
    """``ok(args)``: whether launcher arguments ``args`` meet every guard; with ``scratch``
    (``program_count``'s function, the kernel's descriptor count), also whether the launch's
    descriptor scratch stays addressable."""
    pos = {p: i for i, p in enumerate(params)}
    items = [(pos[g.param], g.elem_bytes, g.blocks) for g in guards if g.param in pos]

    def ok(args: Sequence[Any]) -> bool:
        if scratch is not None:
            programs = scratch[0](args)
            if programs is not None and (
                programs * scratch[1] * DESCRIPTOR_SCRATCH_BYTES >= SCRATCH_LIMIT
            ):
                return False
        for i, esz, blocks in items:
            x = args[i]
            strides = x.stride()
            if strides[-1] != 1 or x.data_ptr() % 16:
                return False
            for s in strides[:-1]:
                if s <= 0 or (s * esz) % 16:
                    return False
            if check_bounds:
                for b, n in zip(blocks, x.shape):
                    if b > n:
                        return False
        return True

    return ok


def guarded(
    ok: Callable[[Sequence[Any]], bool], launch: Callable[..., Any], fallback: Callable[..., Any]
) -> Callable[..., Any]:
    """The launcher that runs ``fallback`` when ``ok`` fails. ``ok`` depends only on what the
    runtime's fast path keys on (strides, alignment), so a ``_kc_launch`` bound to the kernel
    one branch compiled is only ever handed to that branch again."""

    def launcher(*args: Any, _kc_launch: Any = None) -> Any:
        return (launch if ok(args) else fallback)(*args, _kc_launch=_kc_launch)

    return launcher


_ALLOCATOR_SET = False


def ensure_allocator() -> None:
    """On a GPU, in-kernel tensor descriptors need scratch memory: install a torch allocator
    with ``triton.set_allocator`` unless one is already set."""
    global _ALLOCATOR_SET
    if _ALLOCATOR_SET:
        return
    _ALLOCATOR_SET = True
    try:
        import torch
        import triton
        from triton.runtime import _allocation
    except ImportError:
        return
    current = getattr(_allocation, "_allocator", None)
    if hasattr(current, "get"):  # a ContextVar in recent Triton
        current = current.get()
    if current is not None and not isinstance(current, getattr(_allocation, "NullAllocator", ())):
        return

    def alloc(size: int, alignment: int, stream: Any) -> Any:
        return torch.empty(size, device="cuda", dtype=torch.int8)

    triton.set_allocator(alloc)
