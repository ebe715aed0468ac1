"""The shared memory of a dot kernel's operands and epilogue at one config (the package
docstring has the rules): how many copies of each ``tl.dot`` operand stay allocated, and what
the epilogue after the dot loops adds, in their freed memory or, for a persistent kernel's
kept store, beside them."""

from __future__ import annotations

from dataclasses import dataclass, field

from kcompiler.backends.triton.mma_conversion import dot_store_conversion_bytes
from kcompiler.backends.triton.shared_memory.alignment import nvmma_alignment, round_up
from kcompiler.backends.triton.shared_memory.config_view import ConfigView
from kcompiler.backends.triton.shared_memory.constants import (
    TMA_BARRIER_BYTES,
    TRANSIENT_TMA_BUFFERS,
    WARP_GROUP,
    WGMMA_ROWS,
)
from kcompiler.backends.triton.shared_memory.facts import KernelFacts


def uses_wgmma(rows: int, num_warps: int | None) -> bool:
    """Whether Triton runs a dot of ``rows`` (M) rows with Hopper's wgmma: M a multiple of
    64 and whole warp groups; otherwise it runs mma.sync (mma v2), whose operands go from
    shared memory to registers."""

    return rows % WGMMA_ROWS == 0 and (num_warps or WARP_GROUP) % WARP_GROUP == 0


@dataclass
class OperandBuffers:
    """The dot operands' bytes at a config: ``resident``, those loaded once or computed,
    live through the program; ``pipelined``, the copies the loops keep (and, at one stage,
    the largest dot's operands); ``largest``, the largest single allocation (Triton places
    buffers largest first); ``copies``, per pipelined operand, (one copy's bytes, all its
    copies' bytes with their barriers)."""

    resident: int = 0
    pipelined: int = 0
    largest: int = 0
    copies: list[tuple[int, int]] = field(default_factory=list)


def operand_buffers(facts: KernelFacts, view: ConfigView) -> OperandBuffers:
    """The dot operands' buffers. Resident ones (loaded once, or computed) add up, and so do
    the copies a pipelined loop keeps of each operand it loads. An unpipelined loop (one
    stage) keeps one buffer of each operand of a dot until that dot has run: its dots'
    buffers are not live together."""

    out = OperandBuffers()
    single: dict[int, int] = {}
    staged: dict[int, int] = {}  # one-stage mma v2 operands read one at a time, per dot
    for b in facts.buffers:
        size = view.aligned(view.elements(b.dims) * b.elem_bytes)
        out.largest = max(out.largest, size)
        wgmma = uses_wgmma(view.elements((b.rows,)), view.num_warps)
        if b.computed:
            # wgmma reads a computed left operand from registers.
            out.resident += 0 if b.lhs and wgmma else size
            continue
        barrier = TMA_BARRIER_BYTES if b.site in view.picked else 0
        if b.loop is None:
            out.resident += size + barrier
            continue
        s, u = view.stages(b.loop), view.unroll(b.loop)
        if s == 1 and u == 1 and TRANSIENT_TMA_BUFFERS:
            upcast = b.elem_bytes < 2  # fp8: widened to fp16 in registers for mma v2
            if not wgmma and (upcast or (b.lhs and b.site in view.picked)):
                # mma v2 reads a descriptor left operand's buffer, and an operand it
                # widens, into registers right after it is written, before the other
                # operand needs memory.
                staged[b.dot] = max(staged.get(b.dot, 0), size + barrier)
            else:
                single[b.dot] = single.get(b.dot, 0) + size + barrier
            continue
        # mma v2 reads operands into registers, which hold one stage of the pipeline.
        kept = s if wgmma or not TRANSIENT_TMA_BUFFERS else max(1, s - 1)
        copies = kept * u + (1 if u > 1 and s > 1 else 0)  # an unrolled loop's remainder
        out.pipelined += copies * (size + barrier)
        out.copies.append((size, copies * (size + barrier)))
        out.largest = max(out.largest, kept * size)
    out.pipelined += max(
        (max(single.get(d, 0), staged.get(d, 0)) for d in {*single, *staged}), default=0
    )
    if not TRANSIENT_TMA_BUFFERS:
        # 3.6 (H100): range_multi_buffers=True could multi-buffer a loop's accumulator.
        for dims, loop in facts.accumulators:
            if view.multi_of.get(loop) is True:
                out.pipelined += view.elements(dims) * 4
    return out


def place_epilogue(
    facts: KernelFacts, view: ConfigView, operands: OperandBuffers, total: int
) -> tuple[int, int]:
    """(the peak with the epilogue, the bytes of a persistent kernel's kept store) for a dot
    kernel whose operands' buffers end at ``total``. The epilogue runs after the pipelined
    loop and reuses that loop's shared memory, except a persistent kernel's
    tensor-descriptor store, whose buffer stays allocated across its tiles."""

    kept_store = 0
    epilogue = 0
    for m in facts.tiles:
        if not (m.store and m.scope is None):
            continue
        tile = view.aligned(view.elements(m.dims) * m.elem_bytes)
        if view.persistent and view.num_stages >= 2 and m.site in view.picked:
            # Triton places buffers largest first (ties in program order, where the kept
            # store comes first): a store at least as large as every operand buffer sits
            # below them, a smaller one above the larger ones and their barriers (it lives
            # beside each), at its swizzled layout's alignment, and the pipelined copies of
            # smaller operands above it.
            if tile >= operands.largest:
                total += tile
            else:
                align = nvmma_alignment(view.elements(m.dims[-1:]) * m.elem_bytes)
                small = sum(n for one, n in operands.copies if one < tile)
                total = round_up(total - small, align) + tile + small
            kept_store += tile
            continue
        if m.site not in view.picked and len(m.dims) == 2 and view.num_warps:
            # A pointer store converts the result from its mma layout, in rounds through a
            # part of the tile.
            shape = [view.elements((d,)) for d in m.dims]
            wgmma = uses_wgmma(shape[0], view.num_warps)
            tile = dot_store_conversion_bytes(shape, view.num_warps, wgmma, m.elem_bytes)
        epilogue = max(epilogue, tile)
    return max(total, epilogue), kept_store
