"""Bounds checks of computed indices: the in-bounds predicate, the error records, the host error.

Rule: an index that is not a tile or a whole dim (a ``gather`` or ``outer`` block or a
``scalar``, i.e. computed from loaded values or arithmetic) must lie in ``[0, size)`` of the
tensor dim it indexes, whatever its value. For each such index (a *site*, numbered k), ``guard`` emits

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
benchmarks/results/nvidia-h200/session5/SUMMARY.md). An access outside every loop and
followed by loops (a jagged row's offsets) has no such loop: its failures are stored right
after the check, with no carried state, so nothing of the check stays live through the loops
(values alive across a loop nest and unused in it are what ptxas spills first when it trades
a few spill bytes for one more program per multiprocessor).

Checks hoisted out of loops. An index that is affine in the tile indices of enclosing
sequential loops, with coefficients computed before those loops (a jagged row's
``(start + k) * D + m``), is checked once, before the outermost such loop, instead of in
every lane of every iteration: its interval over the loops' live lanes (``_Ranges``) must lie
in ``[0, size)``. The state then has the shape of the remaining dims (a row tile's, not the
row x chunk x feature block the loop body works on), the loop body only gains a
loop-invariant term in the access's mask, and a program whose check failed skips the jagged
loops it checked, whose trip counts come from the same bad data (an offset of 2**40 would
otherwise loop for hours). The check is exact, not conservative: the interval's ends are
attained by some lane, and a subexpression whose bounds reach +-2**62 (the range in which
the check's own int64 arithmetic is exact; a product ``a * c`` needs ``|a| * |c| < 2**62``) or
lanes that would wrap around in their Triton integer type count as failures, recorded as
``OVERFLOW``, even where the final index would be in range (``(2**62 + k) * 0``): such values
are reported, never computed with. Any other index keeps the per-lane check above.

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
* Under CUDA graph capture: the captured launch passes the same two buffers, so every replay of
  the graph records into them as an eager launch would, and its errors surface at the kernel's
  next call outside a capture or at ``check_errors()`` after the replay. A call during capture
  does not raise for a flag that earlier launches set (raising would abort the capture the
  user is building, for an error that is not the captured launch's): the flag stays set for
  the next call outside the capture. ``check_errors()`` during capture does not synchronize
  (CUDA forbids it while a stream captures, and the captured launches have not run); it reads
  what earlier launches recorded.

``KCOMPILER_INDEX_CHECKS=0`` turns the checks off (``CodegenOptions.index_checks``); accesses
are then emitted as before, unchecked.

``KCOMPILER_OUT_OF_BOUNDS=warn`` (opt-in; ``CodegenOptions.out_of_bounds``) keeps the checks
and gives the failing lanes a defined meaning instead of an error: a read of such a lane is
0 (the load's ``other``), a write of it is dropped, and every other lane computes what
unchecked code would. For that the checks stay per lane: a hoisted check fails a whole
access (and skips the jagged loops it bounds) when one lane of its interval is outside,
which is right only when the call then raises (so, unlike the default, a row whose bad
offset makes its jagged loop long runs that loop). The host reads the same records and issues
``kcompiler.exc.IndexOutOfBoundsWarning`` at the kernel's source line (``warn_explicit``, so
the warning points at the indexing expression, not at kcompiler) instead of raising.
"""

from __future__ import annotations

import warnings
import weakref
from dataclasses import dataclass
from typing import Any, NamedTuple

from xdsl.dialects.builtin import IntegerAttr
from xdsl.ir import Block, SSAValue

from kcompiler import settings
from kcompiler.backends.triton.index_layout import index_positions, place
from kcompiler.dialects import tile as t
from kcompiler.exc import CompileError, IndexOutOfBounds, IndexOutOfBoundsWarning

# The launcher's globals holding the records and the flag, and the kernel parameters they are
# passed as.
ERRORS, FLAG = "kc_errors", "kc_error_flag"
ERRORS_PARAM, FLAG_PARAM = "kc_errors_ptr", "kc_error_flag_ptr"

# The value recorded for an index whose computation overflows: also the "no value" filler of
# the epilogue's max, so a site whose failing lanes all overflowed records exactly this.
OVERFLOW = -(2**63) + 1


@dataclass(frozen=True)
class IndexSite:
    """One checked index: where it is in the user's source and what it indexes."""

    kernel: str
    location: str | None  # "file.py:line" of the indexing expression
    tensor: str  # the user's name of the tensor
    dim: int
    write: bool


# -- code generation ------------------------------------------------------------------------


def _loop_of(op: t.TileIndexOp | t.TileAttrOp) -> Any:
    """The tile.for whose tile ``op`` reads (its tile is the loop body's block argument), or
    None."""
    holder = op.tile.owner
    return holder.parent_op() if isinstance(holder, Block) else None


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
        loop = _loop_of(owner)
        lb = t.static_bound(loop.lb) if isinstance(loop, t.ForOp) else None
        return lp is not None and isinstance(lb, int) and lb >= 0 and lp.ub == size
    return False


# Bounds of int64 nodes stay inside (-2**62, 2**62): the sum or difference of two such values
# cannot overflow, and a product is admitted only when a division shows it stays inside too.
_LIMIT = 2**62
_INT32 = 2**31


class _Interval(NamedTuple):
    """Bounds of an index expression over the live lanes of the loops it is hoisted out of:
    int64 expressions laid out along the index's dims, unit axes where the hoisted loops' dims
    were."""

    lo: str
    hi: str
    exact: bool  # lo == hi: a value invariant in the hoisted loops
    wide: bool  # Triton computes the node in int64 (else int32, which must not wrap)


class _Ranges:
    """The interval of an index expression over the lanes of ``hoist`` and the loops inside
    it, computed by code placed right before ``hoist``; None where the expression is not
    affine in those loops' tile indices with loop-invariant coefficients.

    Why checking the interval once equals checking every lane: a tile's live indices are
    exactly ``[lb, ub)`` (its mask, or whole tiles that never pass ``ub``); the extremes of an
    affine expression over independent ranges are attained by some lane; and the arithmetic
    is exact: ``exact`` requires every bound computed here to stay inside ``_LIMIT``, and
    ``fits`` requires every node's bounds to fit the type Triton computes the kernel's own
    lanes in (int32 unless an operand is int64)."""

    def __init__(self, em: Any, hoist: t.ForOp, layout: tuple[str, ...]):
        self.em, self.hoist, self.layout = em, hoist, layout
        self.lines: list[str] = []  # code at the hoist point
        # Predicates (ordered, unique): ``exact``, the bounds computed here do not overflow
        # int64; ``fits``, no node of the kernel's own lanes wraps in its Triton type.
        self.exact: dict[str, None] = {}
        self.fits: dict[str, None] = {}
        self.ranged: dict[str, t.ForOp] = {}  # block -> loop whose tile index is ranged over
        self.cache: dict[SSAValue, _Interval | None] = {}
        self.leaves: dict[SSAValue, str | None] = {}

    def inside(self, op: Any) -> bool:
        while op is not None:
            if op is self.hoist:
                return True
            op = op.parent_op()
        return False

    def invariant(self, v: SSAValue) -> bool:
        owner = v.owner.parent_op() if isinstance(v.owner, Block) else v.owner
        if isinstance(owner, t.SizeOp) or (
            isinstance(owner, t.ConstantOp) and isinstance(owner.value, IntegerAttr)
        ):
            return True
        if isinstance(owner, t.TileIndexOp):  # the indices of a tile of a loop around hoist
            loop = _loop_of(owner)
            return loop is not None and not self.inside(loop) and v in self.em.names
        return not self.inside(owner) and v in self.em.names

    def tmp(self, expr: str) -> str:
        name = self.em.fresh("h")
        self.lines.append(f"{name} = {expr}")
        return name

    def placed(self, v: SSAValue) -> str | None:
        """An invariant value as int64, laid out along the index's dims."""
        if v not in self.leaves:
            self.leaves[v] = self._placed(v)
        return self.leaves[v]

    def _placed(self, v: SSAValue) -> str | None:
        owner = v.owner
        if isinstance(owner, t.ConstantOp):  # literals and sizes: the same wherever defined
            return self.tmp(f"tl.full((), {int(owner.value.value.data)}, tl.int64)")  # type: ignore[union-attr]
        if isinstance(owner, t.SizeOp):
            return self.tmp(f"tl.full((), {self.em.size_param(owner.sym.data)}, tl.int64)")
        dims = self.em.dims(v)
        if "1" in dims or any(d not in self.layout for d in dims):
            return None
        if not dims:
            return self.tmp(f"tl.full((), {self.em.name(v)}, tl.int64)")
        try:
            x = self.em.expand(self.em.name(v), dims, self.layout)
        except CompileError:
            return None
        return self.tmp(f"{x}.to(tl.int64)")

    def of(self, v: SSAValue) -> _Interval | None:
        if v not in self.cache:
            iv = self._of(v)
            if iv is not None:
                self.exact[f"({iv.lo} > -{_LIMIT}) & ({iv.hi} < {_LIMIT})"] = None
                if not iv.wide:
                    self.fits[f"({iv.lo} >= -{_INT32}) & ({iv.hi} < {_INT32})"] = None
            self.cache[v] = iv
        return self.cache[v]

    def _of(self, v: SSAValue) -> _Interval | None:
        ty = t.block_of(v).element_type
        if not t.is_int(ty):
            return None
        owner = v.owner
        if self.invariant(v):
            x = self.placed(v)
            return None if x is None else _Interval(x, x, True, _wide(v))
        if isinstance(owner, t.TileIndexOp):
            return self._tile(owner)
        if isinstance(owner, t.ReshapeOp):
            src = [d for d in self.em.dims(owner.operand) if d != "1"]
            return (
                self.of(owner.operand) if src == [d for d in self.em.dims(v) if d != "1"] else None
            )
        if isinstance(owner, t.CastOp):
            src = t.block_of(owner.operand).element_type
            if not (t.is_int(src) and src.width.data <= ty.width.data):  # type: ignore[attr-defined]
                return None
            iv = self.of(owner.operand)
            return None if iv is None else iv._replace(wide=iv.wide or ty.width.data == 64)  # type: ignore[attr-defined]
        if isinstance(owner, t.BinaryOp) and owner.kind.data in ("add", "sub", "mul"):
            a, b = self.of(owner.lhs), self.of(owner.rhs)
            if a is None or b is None:
                return None
            return self._binary(owner.kind.data, a, b)
        return None

    def _tile(self, owner: t.TileIndexOp) -> _Interval | None:
        """A tile's indices over its loop: ``[lb, ub - 1]`` (int32 in Triton)."""
        loop = _loop_of(owner)
        if not isinstance(loop, t.ForOp) or loop.parallel is not None or not self.inside(loop):
            return None
        if not (self.invariant(loop.lb) and self.invariant(loop.ub)) or self.em.dims(loop.lb):
            return None
        lb, ub = self.placed(loop.lb), self.placed(loop.ub)
        if lb is None or ub is None:
            return None
        self.ranged[loop.block.data] = loop
        self.fits[f"({lb} >= -{_INT32}) & ({ub} <= {_INT32})"] = None
        return _Interval(lb, self.tmp(f"{ub} - 1"), False, False)

    def _binary(self, kind: str, a: _Interval, b: _Interval) -> _Interval | None:
        exact, wide = a.exact and b.exact, a.wide or b.wide
        if kind == "add":
            lo = self.tmp(f"{a.lo} + {b.lo}")
            return _Interval(lo, lo if exact else self.tmp(f"{a.hi} + {b.hi}"), exact, wide)
        if kind == "sub":
            lo = self.tmp(f"{a.lo} - {b.hi}")
            return _Interval(lo, lo if exact else self.tmp(f"{a.hi} - {b.lo}"), exact, wide)
        if not b.exact:
            a, b = b, a
        if not b.exact:
            return None  # a product of two ranges: its extremes need not be at the corners
        # |a| * |c| < _LIMIT, tested by a division that cannot overflow (|c| < _LIMIT is known).
        c = b.lo
        cap = self.tmp(f"{_LIMIT} // tl.maximum(tl.abs({c}), 1)")
        self.exact[f"({a.lo} > -{cap}) & ({a.hi} < {cap})"] = None
        x = self.tmp(f"{a.lo} * {c}")
        if a.exact:
            return _Interval(x, x, True, wide)
        y = self.tmp(f"{a.hi} * {c}")
        return _Interval(
            self.tmp(f"tl.minimum({x}, {y})"), self.tmp(f"tl.maximum({x}, {y})"), False, wide
        )


def _wide(v: SSAValue, depth: int = 8) -> bool:
    """Whether Triton computes ``v`` in int64: an int64 load or cast, or arithmetic on one
    (scalar arguments, sizes and tile indices are int32 when their values fit)."""
    owner = v.owner
    ty = t.block_of(v).element_type
    if isinstance(owner, (t.LoadOp, t.CastOp)):
        return t.is_int(ty) and ty.width.data == 64  # type: ignore[attr-defined]
    if depth and isinstance(owner, t.ReshapeOp):
        return _wide(owner.operand, depth - 1)
    if depth and isinstance(owner, t.BinaryOp):
        return _wide(owner.lhs, depth - 1) or _wide(owner.rhs, depth - 1)
    return False


def _prologue(em: Any, seen: str, value: str, dims: tuple[str, ...]) -> list[str]:
    """The kernel-start lines of a site's carried state: failing lanes, one bad value each."""
    shape = em.shape_tuple(dims)
    return [f"{seen} = tl.zeros({shape}, tl.int1)", f"{value} = tl.zeros({shape}, tl.int64)"]


def _lanes_max(expr: str, dims: tuple[str, ...], dtype: str) -> str:
    """The largest lane of ``expr`` laid out as ``dims``. Where every dim is "1" the value may
    be 0-d (a check computed from scalars only, as in a data-dependent branch): a (1,) zero
    block added to it gives ``tl.max`` a block either way, because the GPU compiler rejects
    ``tl.max`` of a 0-d value (the interpreter accepts it)."""
    if not dims:
        return expr
    if all(d == "1" for d in dims):
        expr = f"({expr} + tl.zeros((1,), {dtype}))"
    return f"tl.max({expr})"


def _epilogue(seen: str, value: str, dims: tuple[str, ...], n: str, site: int) -> list[str]:
    """The lines that store a failed site's record (see the module docstring): at the
    kernel's end for carried failures, or where a hoisted check runs outside every loop."""
    failed = _lanes_max(f"{seen}.to(tl.int32)", dims, "tl.int32")
    one = (
        value
        if not dims
        else _lanes_max(f"tl.where({seen}, {value}, {OVERFLOW})", dims, "tl.int64")
    )
    return [
        f"if {failed} > 0:",
        f"    tl.store({FLAG_PARAM}, 1)",
        f"    tl.store({ERRORS_PARAM} + {2 * site}, {n} + 1)",
        f"    tl.store({ERRORS_PARAM} + {2 * site + 1}, {one})",
    ]


def _enclosing_loops(op: Any) -> list[t.ForOp]:
    """The sequential loops around ``op``, outermost first."""
    loops: list[t.ForOp] = []
    parent = op.parent_op()
    while parent is not None and not isinstance(parent, t.KernelOp):
        if isinstance(parent, (t.IfOp, t.WhileOp)):
            break  # a loop outside a branch (or a while) runs whether or not the access does
        if isinstance(parent, t.ForOp) and parent.parallel is None:
            loops.append(parent)
        parent = parent.parent_op()
    return loops[::-1]


def _in_loop(op: Any) -> bool:
    """Whether ``op`` runs in a sequential loop (a ``tile.for`` that is not a parallel one, or
    a ``tile.while``) of its kernel."""
    parent = op.parent_op()
    while parent is not None and not isinstance(parent, t.KernelOp):
        if isinstance(parent, t.WhileOp) or (
            isinstance(parent, t.ForOp) and parent.parallel is None
        ):
            return True
        parent = parent.parent_op()
    return False


def _loop_follows(op: Any) -> bool:
    """Whether a sequential loop of ``op``'s kernel comes after ``op`` in program order."""
    kernel = op.parent_op()
    while kernel is not None and not isinstance(kernel, t.KernelOp):
        kernel = kernel.parent_op()
    after = False
    for o in kernel.walk() if kernel is not None else ():
        if o is op:
            after = True
        elif after and (
            isinstance(o, t.WhileOp) or (isinstance(o, t.ForOp) and o.parallel is None)
        ):
            return True
    return False


def _hoisted(
    em: Any, op: Any, idx: SSAValue, n: str, site: int
) -> tuple[str, tuple[str, ...]] | None:
    """Check ``idx`` once before the outermost sequential loop it can be hoisted out of: emit
    the check at that loop's hoist slot and return the name of the lanes' failure predicate
    (laid out along the index's dims, unit axes for the hoisted loops) for the access's mask,
    "" when the failing lanes are dead without it, with that layout; or None when it cannot
    be hoisted."""
    layout = em.dims(idx)
    for hoist in _enclosing_loops(op):
        ranges = _Ranges(em, hoist, layout)
        iv = ranges.of(idx)
        if iv is None or not ranges.ranged:
            continue
        kept = tuple("1" if d in ranges.ranged else d for d in layout)
        inner = {lp.block.data for lp in hoist.walk() if isinstance(lp, t.ForOp)}
        if inner.intersection(kept):
            continue  # a dim of a loop inside the hoisted one that is not ranged over
        exact = ranges.tmp(" & ".join(f"({c})" for c in ranges.exact) or "1")
        fits = " & ".join(f"({c})" for c in ranges.fits) or "1"
        parts = [f"~(({iv.lo} >= 0) & ({iv.hi} < {n}) & {exact} & {fits})"]
        for loop in ranges.ranged.values():  # an empty loop has no lanes to check
            parts.append(f"({ranges.placed(loop.ub)} > {ranges.placed(loop.lb)})")
        live = em.mask_for(kept)
        if live is not None:
            parts.append(f"({live})")
        bad = ranges.tmp(" & ".join(parts))
        # The value recorded: an end of the interval outside [0, n), else OVERFLOW (the
        # bounds, or some lane's arithmetic, wrap around: no exact bad value to name).
        one = (
            f"tl.where({exact} & ({iv.lo} < 0), {iv.lo}, "
            f"tl.where({exact} & ({iv.hi} >= {n}), {iv.hi}, {OVERFLOW}))"
        )
        if _enclosing_loops(hoist):
            # Inside another sequential loop: carry the failures to the kernel's end, as the
            # per-lane checks do, so no store sits in that loop.
            seen, value = f"kc_bad_{site}", f"kc_value_{site}"
            em.check_prologue += _prologue(em, seen, value, kept)
            ranges.lines.append(f"{seen} = {seen} | {bad}")
            ranges.lines.append(f"{value} = tl.where({bad}, {one}, {value})")
            em.check_epilogue += _epilogue(seen, value, kept, n, site)
        else:
            # Outside every sequential loop: record at once, so nothing stays live through the
            # loops (the kernels hoisted here are the ones short of registers).
            ranges.lines += _epilogue(bad, ranges.tmp(one), kept, n, site)
        jagged = [lp for lp in ranges.ranged.values() if lp.kind.data == "jagged"]
        # A failing row's jagged counts become empty: its lanes die by the loops' own masks
        # (no term in the loop body's access mask) and a count from bad data (2**40) cannot
        # make the loop long. Each count must be per row (the dims the check kept) and a
        # variable, rebound here, before the loops compute their trip counts from it.
        rows = tuple(d for d in kept if d != "1")
        per_row = [lp for lp in jagged if em.dims(lp.ub) == rows]
        # The access's mask must be the loops' own per-row masks (mask_for takes them only
        # when their dims come in the index's order; else a per-tile fallback ignores rows).
        in_order = all(
            [d for d in layout if d in (*rows, lp.block.data)] == [*rows, lp.block.data]
            for lp in per_row
        )
        if per_row and in_order and all(em.name(lp.ub).isidentifier() for lp in per_row):
            rowwise = bad if rows == kept else f"tl.reshape({bad}, {em.shape_tuple(rows)})"
            for lp in per_row:
                count, lb = em.name(lp.ub), em.name(lp.lb)
                ranges.lines.append(f"{count} = tl.where({rowwise}, {lb}, {count})")
            em.hoist(hoist, ranges.lines)
            return "", kept
        if jagged:
            # Otherwise a failing program skips the jagged loops it checked.
            stop = ranges.tmp(f"{_lanes_max(f'{bad}.to(tl.int32)', kept, 'tl.int32')} > 0")
            for lp in jagged:
                em.stop_loop(lp, stop)
        em.hoist(hoist, ranges.lines)
        return bad, kept
    return None


def _mask_along_index(
    em: Any,
    mask: str,
    mdims: tuple[str, ...],
    idims: tuple[str, ...],
    at: int,
    out: tuple[str, ...],
) -> str | None:
    """An access's extra mask laid out along the access (``rows_ok[:, None]`` or a rows x
    cols block for ``x[rows, cols]``) as the live lanes of one index's dims: a lane of the
    index is live when some element of the access it addresses is; the mask's other axes
    are reduced away. None when the mask's axes at the index's place are not the index's."""
    aligned = ("1",) * (len(out) - len(mdims)) + mdims
    k = len(idims)
    if aligned[at : at + k] != idims:
        return None
    expr = f"{em.align_right(mask, mdims, len(out))}.to(tl.int32)"
    for axis in reversed(range(len(out))):
        if not at <= axis < at + k:
            expr = f"tl.max({expr}, axis={axis})"
    return f"({expr} > 0)"


def _broadcast_ok(em: Any, failed: str, out: tuple[str, ...]) -> str:
    """A 0-d failure flag as an in-bounds mask of the access's shape, by arithmetic: the
    interpreter rejects a broadcast 0-d comparison as a block's mask, and a 0-d value cannot
    be indexed with ``[:, None]``."""
    return f"((tl.zeros({em.shape_tuple(out)}, tl.int32) + {failed}.to(tl.int32)) == 0)"


def guard(em: Any, op: t.LoadOp | t.StoreOp | t.AtomicOp, out: tuple[str, ...]) -> str | None:
    """Emit the checks of ``op``'s computed indices (see the module docstring) and return the
    in-bounds mask laid out along ``out``, or None when no index needs one."""
    if not em.opts.index_checks:
        return None
    ty = op.tensor.type
    assert isinstance(ty, t.TensorType)
    loc = op.attributes.get("loc")
    where = loc.data if loc is not None else None  # type: ignore[union-attr]
    tensor = em.name(op.tensor)[: -len("_ptr")]
    parts: list[str] = []
    for d, kind, idx, at in index_positions(em, op.kinds, op.indices):
        if kind not in ("gather", "outer", "scalar") or idx is None:
            continue
        size = ty.dims[d]
        if _static_in_range(em, idx, size):
            continue
        site = len(em.index_sites)
        em.index_sites.append(
            IndexSite(em.kernel.sym_name.data, where, tensor, d, not isinstance(op, t.LoadOp))
        )
        n = em.size_param(size)
        # A hoisted check covers every lane of the loops; lanes an extra mask turns off may
        # hold any index, so a masked access checks its live lanes where it runs.
        extra = getattr(op, "mask", None)  # an atomic has no extra mask
        # A hoisted check fails the whole access when one lane fails: only when that raises.
        hoist = extra is None and em.opts.out_of_bounds == "error"
        hoisted = _hoisted(em, op, idx, n, site) if hoist else None
        if hoisted is not None:
            hoisted, kept = hoisted
            if hoisted and out and all(d == "1" for d in kept):
                # Every dim of the index was ranged over: the predicate is one 0-d flag for
                # the whole access, broadcast by arithmetic as a scalar index's is below.
                parts.append(_broadcast_ok(em, hoisted, out))
            elif hoisted:  # "": the failing lanes are already dead by their loops' masks
                parts.append(place(f"({hoisted} == 0)", em.dims(idx), at, out))
            continue
        v = em.name(idx)
        oob = em.fresh("oob_")
        em.line(f"{oob} = ({v} < 0) | ({v} >= {n})")
        idims = em.dims(idx)
        live = em.mask_for(idims) if idims else None
        if extra is not None and idims:
            # Lanes the access's extra mask turns off read nothing: their indices may be
            # anything (a row's tail past its length). A mask that does not lay out along
            # the index's dims is left out, which can only report too much, never too little.
            mdims = em.dims(extra)
            try:
                along = bool(mdims) and t.broadcast_dims(idims, mdims) == idims
            except t.ShapeError:
                along = False
            m = None
            if along:
                m = em.align_right(em.name(extra), mdims, len(idims))
            elif len(mdims) <= len(out):
                m = _mask_along_index(em, em.name(extra), mdims, idims, at, out)
            if m is not None:
                live = m if live is None else f"({live}) & ({m})"
        bad = oob
        if live is not None:
            bad = em.fresh("bad_")
            em.line(f"{bad} = ({live}) & {oob}")
        if _in_loop(op) or not _loop_follows(op):
            # Accumulate, store once: the site's failing lanes and one bad value per lane are
            # carried in registers from the kernel's start (their shape is the index's, made
            # of constexpr block sizes) and written after the kernel's loops.
            seen, value = f"kc_bad_{site}", f"kc_value_{site}"
            em.check_prologue += _prologue(em, seen, value, idims)
            em.line(f"{seen} = {seen} | {bad}")
            em.line(f"{value} = tl.where({bad}, {v}, {value})")
            em.check_epilogue += _epilogue(seen, value, idims, n, site)
        else:
            # Outside every loop, with loops after it: record at once, as a hoisted check
            # does, so the failures do not stay live through those loops.
            # The value recorded is int64 whatever the index's type (as the carried state is).
            # (tl.cast, not .to: the index may be a literal, as in x[0]).
            for line in _epilogue(bad, f"tl.cast({v}, tl.int64)", idims, n, site):
                em.line(line)
        ok = place(f"({oob} == 0)", idims, at, out)
        if not idims and out:
            ok = _broadcast_ok(em, oob, out)
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
        """Report the failed sites: warn at each site's source line when every failure
        comes from a variant compiled for ``out_of_bounds=warn`` and that is still the
        setting; otherwise raise for the first failure that does not warn. A variant made
        under the other setting (a fast-path entry outlives a change of it) thus raises:
        one compiled to raise may have masked whole accesses, and raising is what the
        default asks for."""
        self.tensor.zero_()
        failed = [(f, r.warn) for r in self.records for f in r.take()]
        if not failed:
            return
        warning = settings.current().out_of_bounds == "warn"
        raising = [f for f, warn in failed if not (warn and warning)]
        if not raising:
            for (site, value, size), _ in failed:
                _warn(site, value, size)
            return
        site, value, size = raising[0]
        more = len(failed) - 1
        raise IndexOutOfBounds(
            _message(site, value, size)
            + (f"; {more} more indexing sites failed too" if more else ""),
            location=site.location,
            tensor=site.tensor,
            dim=site.dim,
            value=value if value != OVERFLOW else None,
            size=size,
        )


def _message(site: IndexSite, value: int, size: int) -> str:
    access = "write to" if site.write else "read of"
    where = f"{site.location}: " if site.location else ""
    what = f"index {value}" if value != OVERFLOW else "an index whose computation overflows"
    return (
        f"{where}{what} is out of bounds for dim {site.dim} of {site.tensor!r} "
        f"(size {size}, valid range [0, {size - 1}]) in {site.kernel}; the {access} "
        f"those lanes was skipped"
    )


# Python's once-per-location registry for the warnings below: a site warns again only with
# another message (another bad value), as a ``warnings.warn`` at that line would.
_WARNED: dict[Any, Any] = {}


def _warn(site: IndexSite, value: int, size: int) -> None:
    """Warn at the site's source line (``file.py:line``) that its out-of-range lanes were
    masked (reads gave 0, writes were dropped) under ``out_of_bounds=warn``."""
    filename, _, line = (site.location or f"<{site.kernel}>:0").rpartition(":")
    warnings.warn_explicit(
        _message(site, value, size) + " (KCOMPILER_OUT_OF_BOUNDS=warn: reads gave 0, "
        "writes were dropped)",
        IndexOutOfBoundsWarning,
        filename,
        int(line) if line.isdigit() else 0,
        module=site.kernel,
        registry=_WARNED,
    )


class ErrorBuffer:
    """The error records of one compiled variant's sites (layout: the module docstring)."""

    def __init__(
        self,
        sites: list[IndexSite],
        interpret: bool,
        flag: ErrorFlag | None = None,
        warn: bool = False,
    ):
        import torch

        pinned = not interpret and torch.cuda.is_available()
        self.sites = list(sites)
        self.eager = interpret  # the interpreter has finished when the launch returns
        self.warn = warn  # compiled with out_of_bounds=warn: its failures warn, not raise
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


def capturing() -> bool:
    """Whether the current CUDA stream is capturing a CUDA graph (``torch.cuda.graph``).

    Asked only off the per-call path (a fast-path miss, a set error flag, ``check_errors``):
    it costs a driver call. False without an initialized CUDA context, where no capture can
    be under way (a CPU-only torch has no such query at all)."""
    import torch

    return torch.cuda.is_initialized() and torch.cuda.is_current_stream_capturing()


def check_flags(flags: Any, sync: bool = True) -> None:
    """Raise ``IndexOutOfBounds`` for the first of ``flags`` (``ErrorFlag``) that is set, after
    waiting for the GPU when ``sync`` and the current stream is not capturing a CUDA graph
    (module docstring)."""
    if sync and not capturing():
        synchronize()
    for f in list(flags):
        f.check()


def check_errors(sync: bool = True) -> None:
    """Raise ``kcompiler.exc.IndexOutOfBounds`` if any launch so far (of any kernel) indexed
    out of bounds. On a GPU an error otherwise surfaces at that kernel's next call; this waits
    for the GPU (``sync=True``) and reads every kernel's records."""
    check_flags(_FLAGS, sync)
