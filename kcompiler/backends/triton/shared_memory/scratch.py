"""The scratch of each operation at one config (the package docstring has the rules):
a reduction's partial results crossing warps, a layout conversion between a value's own
blocked layout and the slice of a larger block's, a gather's bounds check, a jagged loop's row
mask. Scratch is live only while its operation runs; where it lies beside the buffers is
``placement.place_scratch``'s."""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from kcompiler.backends.triton.blocked_layout import (
    WARP_SIZE,
    coalesced_vector,
    reduction_scratch_bytes,
    slice_conversion_bytes,
)
from kcompiler.backends.triton.shared_memory.config_view import ConfigView
from kcompiler.backends.triton.shared_memory.constants import TRANSIENT_TMA_BUFFERS
from kcompiler.backends.triton.shared_memory.facts import KernelFacts
from kcompiler.backends.triton.shared_memory.loop_buffers import LoopBuffers
from kcompiler.backends.triton.shared_memory.scratch_facts import Conversion


@dataclass(frozen=True)
class ScratchNeed:
    """One operation's scratch: ``nbytes``, and the block symbols of the sequential loops it
    runs in (``loops``, innermost first; None: a reduced row's conversion, which may run
    wherever the row is used); ``epilogue``: it runs after a dot kernel's loops, in their
    freed memory."""

    nbytes: int
    loops: tuple[str, ...] | None
    epilogue: bool = False


def scratch_needs(
    facts: KernelFacts, view: ConfigView, loops: LoopBuffers, warps: int
) -> list[ScratchNeed]:
    """Every operation's scratch at ``warps`` warps, in the order: reductions, conversions,
    gathers' bounds checks, jagged row masks."""

    out: list[ScratchNeed] = []
    for r in facts.reductions:
        shape = [view.elements((d,)) for d in r.dims]
        need = reduction_scratch_bytes(
            shape, r.axis, warps, r.elem_bytes, r.contiguous, r.load_bytes
        )
        out.append(ScratchNeed(need, r.loops))
    for c in facts.conversions:
        out.extend(conversion_needs(c, facts, view, warps))
    for dims, at in facts.checked:
        n = view.elements(dims)
        out.append(ScratchNeed(reduction_scratch_bytes([n], 0, warps, 8), at))
    for dims, at in facts.jagged_masks:
        # (3.9) In a loop nest flattened into one pipelined loop, a load's row mask over a
        # one-element block of its jagged loop (rows x 1) is converted to the load's layout
        # beside its copies (in the loop and in the prologue, after the copies are
        # allocated).
        flat = any(view.flat_of.get(sym) for sym in at[1:])
        if (
            TRANSIENT_TMA_BUFFERS
            and flat
            and view.elements(dims[-1:]) == 1
            and any(loops.pipelined_beside(k, at) for k in loops.scopes)
        ):
            out.append(ScratchNeed(view.elements(dims), at))
    return out


def conversion_needs(
    c: Conversion, facts: KernelFacts, view: ConfigView, warps: int
) -> list[ScratchNeed]:
    """The scratch of one layout conversion (one per element width it may move at; none
    where Triton avoids the conversion)."""

    # The value's dims within its parent block: all but the reduced one for a reduction's
    # result, else its dims in order.
    if c.reduced is not None:
        axes = [d for d in range(len(c.parent)) if d != c.reduced]
    else:
        axes, at = [], 0
        for d in c.dims:
            while c.parent[at] != d:
                at += 1
            axes.append(at)
            at += 1
    shape = [view.elements((d,)) for d in c.parent]
    core = [n for d, n in zip(c.parent, shape) if d != "1"]
    if c.reduced is not None and all(
        [view.elements((d,)) for d in o] == core or (sites and view.picked.issuperset(sites))
        for o, sites in zip(c.others, c.other_sites or [()] * len(c.others))
    ):
        # The other blocks have the operand's shape at this config (Triton gives them the
        # same blocked layout, whose slice the reduced row already has), or are read and
        # written only through tensor descriptors: their registers take any layout
        # (``local_load``), so no access sets one and the reduced row's layout carries into
        # their arithmetic.
        return []
    own = [shape[d] for d in axes]
    if c.load and prod(own) < warps * WARP_SIZE:
        # A load of fewer elements than threads is cheap to repeat: Triton loads it in the
        # slice layout its users need (removing the conversion).
        return []
    # The parent's layout is its loads' (unknown: the value's element size); the value's own
    # access moves its elements (an index widened to 64 bits was loaded at 32; one accessed
    # at its full width keeps that access's vector).
    load = c.parent_bytes or min(4, c.elem_bytes)
    widths = {c.elem_bytes, min(4, c.elem_bytes)}
    if c.access_bytes is not None and c.access_bytes >= c.elem_bytes:
        widths = {c.elem_bytes}
    elem = c.elem_bytes
    # A per-row load of fewer elements than threads that bounds jagged loops whose blocks
    # are all one element (each index a splat): the bounds are compared in the load's own
    # layout and the load is repeated in the address's slice, so only narrow values move
    # (32-bit counts, f32 lengths, i1 masks), never the 64-bit ones. At one warp Triton does
    # move 64-bit values.
    if (
        c.loaded
        and not c.load
        and warps > 1
        and prod(own) < warps * WARP_SIZE
        and facts.jagged_masks
        and all(view.elements(d[-1:]) == 1 for d, _ in facts.jagged_masks)
    ):
        elem = min(4, elem)
        widths = {min(4, w) for w in widths}
    out: list[ScratchNeed] = []
    for width in widths:
        need = slice_conversion_bytes(
            shape,
            axes,
            warps,
            elem,
            coalesced_vector(shape, warps, load),
            coalesced_vector(own, warps, width),
            from_own=c.loaded,
        )
        if c.epilogue:
            out.append(ScratchNeed(need, c.loops, epilogue=True))
            continue
        loops = c.loops
        if c.inner is not None and prod(shape) < warps * WARP_SIZE:
            # A parent block of fewer elements than threads (an inner loop's tile) anchors
            # no layout: the value stored after that loop keeps the store's, and each
            # iteration's result is converted into it.
            loops = c.inner
        out.append(ScratchNeed(need, loops))
    return out
