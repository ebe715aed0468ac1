"""Bounds checks of computed indices: the in-bounds predicate, the error records, the host error.

Rule: an index that is not a tile or a whole dim (a ``gather`` block or a ``scalar``, i.e.
computed from loaded values or arithmetic) must lie in ``[0, size)`` of the tensor dim it
indexes, whatever its value. For each such index (a *site*, numbered k), ``guard`` emits

    kc_bad_k = tl.zeros((BLOCK_0,), tl.int1)            # at the kernel's start
    kc_value_k = tl.zeros((BLOCK_0,), tl.int64)
    ...
    oob_5 = (v3 < 0) | (v3 >= s2)                       # out of bounds
    bad_6 = (mask_1) & oob_5                            # ... among the live lanes
    kc_bad_k = kc_bad_k | bad_6                         # carried through the loops
    kc_value_k = tl.where(bad_6, v3, kc_value_k)
    ...
    if tl.max(kc_bad_k.to(tl.int32)) > 0:               # after the kernel's loops
        tl.store(kc_error_flag_ptr, 1)
        tl.store(kc_errors_ptr + 2k, s2 + 1)
        tl.store(kc_errors_ptr + 2k + 1, tl.max(tl.where(kc_bad_k, kc_value_k, -2**63 + 1)))

and the access's mask gains ``oob_5 == 0``, so no lane ever reads or writes outside the
tensor: an out-of-range lane loads 0 and stores nothing. The failures are carried in registers
and stored once per program, after its loops, rather than by predicated stores at the access:
stores inside a loop may alias the loop's loads, which keeps the compiler from pipelining them
(on the H200, jagged_mean's per-access stores cost 68 % of its time; see
benchmarks/results/nvidia-h200/session5/SUMMARY.md).

Two int64 buffers: the *flag* (one word, "some site failed", shared by every compiled variant
of a kernel so that the host reads one word per call however many variants exist) and the
variant's *records*, two words per site: the size plus one (nonzero: this site failed) and one
bad value. The stores are plain stores, not atomics: every failing program writes the same
flag and size, and each 64-bit store is whole, so the value word holds one of the bad values
(which one is unspecified) and never a mix. When nothing fails nothing is stored: the check
costs the compare, two register updates per lane and one reduction per program at its end.

Where the host reads them:

* Triton's CPU interpreter: right after the launch (``ErrorBuffer.eager``).
* A GPU: both live in pinned host memory, whose address the device can use under unified
  addressing, so the host reads them without synchronizing. The runtime looks at the kernel's
  flag at the start of its next launch, and ``check_errors()`` synchronizes and looks at every
  flag: an error surfaces at the next call or explicit check, not at the faulty launch.

``KCOMPILER_INDEX_CHECKS=0`` turns the checks off (``CodegenOptions.index_checks``); accesses
are then emitted as before, unchecked.
"""

from __future__ import annotations

import os
import weakref
from dataclasses import dataclass
from typing import Any

from xdsl.ir import Block, SSAValue

from kcompiler.dialects import tile as t
from kcompiler.exc import IndexOutOfBounds

# The launcher's globals holding the records and the flag, and the kernel parameters they are
# passed as.
ERRORS, FLAG = "kc_errors", "kc_error_flag"
ERRORS_PARAM, FLAG_PARAM = "kc_errors_ptr", "kc_error_flag_ptr"

CHECKS_ENV = "KCOMPILER_INDEX_CHECKS"


def index_checks() -> bool:
    """Whether computed indices are bounds-checked: ``$KCOMPILER_INDEX_CHECKS`` (default 1)."""
    value = os.environ.get(CHECKS_ENV, "1").strip().lower()
    if value in ("1", "true", "yes", "on", ""):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{CHECKS_ENV}={value!r}: expected 1 (check computed indices) or 0 (off)")


@dataclass(frozen=True)
class IndexSite:
    """One checked index: where it is in the user's source and what it indexes."""

    kernel: str
    location: str | None  # "file.py:line" of the indexing expression
    tensor: str  # the user's name of the tensor
    dim: int
    write: bool


# -- code generation ------------------------------------------------------------------------


def _static_in_range(em: Any, idx: SSAValue, size: str) -> bool:
    """Whether ``idx`` is in ``[0, size)`` by construction: a literal inside a literal size, or
    a tile's indices (or its first index) over a loop from >= 0 to exactly this size."""
    owner = idx.owner
    if isinstance(owner, t.ConstantOp):
        value = owner.value.value.data  # type: ignore[union-attr]
        return size.isdigit() and isinstance(value, int) and 0 <= value < int(size)
    if isinstance(owner, t.TileIndexOp) or (
        isinstance(owner, t.TileAttrOp) and owner.attr.data == "begin"
    ):
        ty = owner.tile.type
        assert isinstance(ty, t.TileType)
        lp = em.loops.get(ty.block.data)
        holder = owner.tile.owner  # the loop body's block, for a tile
        loop = holder.parent_op() if isinstance(holder, Block) else None
        lb = t.static_bound(loop.lb) if isinstance(loop, t.ForOp) else None
        return lp is not None and isinstance(lb, int) and lb >= 0 and lp.ub == size
    return False


def guard(em: Any, op: t.LoadOp | t.StoreOp | t.AtomicOp, out: tuple[str, ...]) -> str | None:
    """Emit the checks of ``op``'s computed indices (see the module docstring) and return the
    in-bounds mask laid out along ``out``, or None when no index needs one."""
    if not em.opts.index_checks:
        return None
    from kcompiler.backends.triton.indexing import index_positions, place

    ty = op.tensor.type
    assert isinstance(ty, t.TensorType)
    loc = op.attributes.get("loc")
    where = loc.data if loc is not None else None  # type: ignore[union-attr]
    tensor = em.name(op.tensor)[: -len("_ptr")]
    parts: list[str] = []
    for d, kind, idx, at in index_positions(em, op.kinds, op.indices):
        if kind not in ("gather", "scalar") or idx is None:
            continue
        size = ty.dims[d]
        if _static_in_range(em, idx, size):
            continue
        site = len(em.index_sites)
        em.index_sites.append(
            IndexSite(em.kernel.sym_name.data, where, tensor, d, not isinstance(op, t.LoadOp))
        )
        v = em.name(idx)
        n = em.size_param(size)
        oob = em.fresh("oob_")
        em.line(f"{oob} = ({v} < 0) | ({v} >= {n})")
        idims = em.dims(idx)
        live = em.mask_for(idims) if idims else None
        extra = getattr(op, "mask", None)  # an atomic has no extra mask
        if extra is not None and idims:
            # Lanes the access's extra mask turns off read nothing: their indices may be
            # anything (a row's tail past its length). A mask that does not lay out along
            # the index's dims is left out, which can only report too much, never too little.
            mdims = em.dims(extra)
            try:
                along = bool(mdims) and t.broadcast_dims(idims, mdims) == idims
            except t.ShapeError:
                along = False
            if along:
                m = em.align_right(em.name(extra), mdims, len(idims))
                live = m if live is None else f"({live}) & ({m})"
        bad = oob
        if live is not None:
            bad = em.fresh("bad_")
            em.line(f"{bad} = ({live}) & {oob}")
        # Accumulate, store once: the site's failing lanes and one bad value per lane are
        # carried in registers from the kernel's start (their shape is the index's, made of
        # constexpr block sizes) and written after the kernel's loops.
        shape = em.shape_tuple(idims)
        seen, value = f"kc_bad_{site}", f"kc_value_{site}"
        em.check_prologue += [
            f"{seen} = tl.zeros({shape}, tl.int1)",
            f"{value} = tl.zeros({shape}, tl.int64)",
        ]
        em.line(f"{seen} = {seen} | {bad}")
        em.line(f"{value} = tl.where({bad}, {v}, {value})")
        failed = f"{seen}.to(tl.int32)" if not idims else f"tl.max({seen}.to(tl.int32))"
        one_value = (
            value if not idims else f"tl.max(tl.where({seen}, {value}, -9223372036854775807))"
        )
        em.check_epilogue += [
            f"if {failed} > 0:",
            f"    tl.store({FLAG_PARAM}, 1)",
            f"    tl.store({ERRORS_PARAM} + {2 * site}, {n} + 1)",
            f"    tl.store({ERRORS_PARAM} + {2 * site + 1}, {one_value})",
        ]
        ok = place(f"({oob} == 0)", idims, at, out)
        if not idims and out:
            # A scalar index's predicate is 0-d: give it the access's shape by arithmetic (the
            # interpreter rejects a broadcast 0-d comparison as a block's mask).
            ok = f"((tl.zeros({em.shape_tuple(out)}, tl.int32) + {oob}.to(tl.int32)) == 0)"
        parts.append(ok)
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else "(" + ") & (".join(parts) + ")"


def and_masks(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a if b is None else b
    return f"({a}) & ({b})"


# -- the host side --------------------------------------------------------------------------


_FLAGS: weakref.WeakSet[ErrorFlag] = weakref.WeakSet()


def _host_buffer(words: int, pinned: bool) -> Any:
    import torch

    return torch.zeros(words, dtype=torch.int64, pin_memory=pinned)


class ErrorFlag:
    """A kernel's "some site failed" word, shared by its compiled variants' records. On a GPU
    (``pinned``) it is pinned host memory the kernels write through unified addressing."""

    def __init__(self, pinned: bool):
        self.tensor = _host_buffer(2, pinned)  # 16 bytes: Triton's pointer alignment
        self.words = memoryview(self.tensor.numpy())  # words[0]: a plain int, read in ~30 ns
        self.records: list[ErrorBuffer] = []
        _FLAGS.add(self)

    def check(self) -> None:
        """Raise ``IndexOutOfBounds`` for a failed site recorded since the last check."""
        if self.words[0]:
            self.raise_error()

    def raise_error(self) -> None:
        self.tensor.zero_()
        failed = [f for r in self.records for f in r.take()]
        if not failed:
            return
        site, value, size = failed[0]
        access = "write to" if site.write else "read of"
        where = f"{site.location}: " if site.location else ""
        more = f"; {len(failed) - 1} more indexing sites failed too" if len(failed) > 1 else ""
        raise IndexOutOfBounds(
            f"{where}index {value} is out of bounds for dim {site.dim} of {site.tensor!r} "
            f"(size {size}, valid range [0, {size - 1}]) in {site.kernel}; the {access} "
            f"those lanes was skipped{more}",
            location=site.location,
            tensor=site.tensor,
            dim=site.dim,
            value=value,
            size=size,
        )


class ErrorBuffer:
    """The error records of one compiled variant's sites (layout: the module docstring)."""

    def __init__(self, sites: list[IndexSite], interpret: bool, flag: ErrorFlag | None = None):
        import torch

        pinned = not interpret and torch.cuda.is_available()
        self.sites = list(sites)
        self.eager = interpret  # the interpreter has finished when the launch returns
        self.flag = flag if flag is not None else ErrorFlag(pinned)
        self.tensor = _host_buffer(max(2, 2 * len(self.sites)), pinned)
        self.words = memoryview(self.tensor.numpy())
        self.flag.records.append(self)

    def check(self) -> None:
        self.flag.check()

    def take(self) -> list[tuple[IndexSite, int, int]]:
        """(site, bad value, size) of each failed site, forgetting them."""
        words = self.words
        failed = [
            (site, words[2 * i + 1], words[2 * i] - 1)
            for i, site in enumerate(self.sites)
            if words[2 * i]
        ]
        if failed:
            self.tensor.zero_()
        return failed


def synchronize() -> None:
    """Wait for launched GPU work, so that its error records are in the buffers."""
    import torch

    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def check_flags(flags: Any, sync: bool = True) -> None:
    """Raise ``IndexOutOfBounds`` for the first of ``flags`` (``ErrorFlag``) that is set, after
    waiting for the GPU when ``sync``."""
    if sync:
        synchronize()
    for f in list(flags):
        f.check()


def check_errors(sync: bool = True) -> None:
    """Raise ``kcompiler.exc.IndexOutOfBounds`` if any launch so far (of any kernel) indexed
    out of bounds. On a GPU an error otherwise surfaces at that kernel's next call; this waits
    for the GPU (``sync=True``) and reads every kernel's records."""
    check_flags(_FLAGS, sync)
