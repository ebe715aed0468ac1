"""Where the buffers and scratch of one config lie, and so the peak the estimate reports:
which buffers are live together (a dot kernel's operands with one top-level loop's buffers at
a time; scratch beside what stays allocated where its operation runs), stacked at their
alignments, with the padding of the buffer placed last taken back."""

from __future__ import annotations

from kcompiler.backends.triton.shared_memory.alignment import round_up, stacked
from kcompiler.backends.triton.shared_memory.config_view import ConfigView
from kcompiler.backends.triton.shared_memory.constants import (
    SCRATCH_ALIGN,
    TMA_MIN_SHARED,
    TRANSIENT_TMA_BUFFERS,
)
from kcompiler.backends.triton.shared_memory.loop_buffers import LoopBuffers
from kcompiler.backends.triton.shared_memory.scratch import ScratchNeed


def buffers_peak(base: int, loops: LoopBuffers, view: ConfigView, beside_epilogue: int) -> int:
    """The peak of the explicit buffers: ``base`` (the dot operands and the epilogue) below
    the largest top-level loop's buffers; a dot kernel's descriptor loads after its loops
    beside ``beside_epilogue`` (the resident operands and a kept store) only. With tensor
    descriptors the padding of the buffer placed last is not counted, and a config takes at
    least TMA's 128 bytes."""

    # Without dot operands below them, a loop's buffers are all live through it: Triton
    # places them largest first, each at its alignment above the last (its unpipelined
    # descriptor tiles, one at a time, as their largest).
    ends = {
        k: stacked([*loops.pieces.get(k, []), (loops.largest_staged.get(k, 0), TMA_MIN_SHARED)])
        for k in loops.scopes
        if view.picked and TRANSIENT_TMA_BUFFERS and not base and k is not None
        if k not in loops.loose
    }
    total = base + max(
        (
            loops.pipelined_in.get(k, 0)
            + loops.staged_in.get(k, 0)
            + loops.barrier_bytes(k)
            + (loops.hoisted.get(k, 0) + loops.spanning.get(k, 0) if k is not None else 0)
            for k in loops.scopes
            if k not in ends
        ),
        default=0,
    )
    if loops.after_loads:
        total = max(total, beside_epilogue + loops.after_loads)
    if view.picked:
        total = max(total - min(view.pads, default=0), TMA_MIN_SHARED, *ends.values())
    return total


def kept_beside(base: int, loops: LoopBuffers, at: tuple[str, ...] | None) -> int:
    """What may stay allocated while a reduction or conversion runs in the loops ``at``
    (block symbols; None: wherever it may run): the dot operands (``base``), the hoisted
    buffers, the copies of the pipelined loops it runs in, and a store's buffer allocated
    before the loop or reduction. A reduced row (None) is invariant in the loops after the
    one computing it: its conversion is hoisted before such a loop, ahead of the store buffer
    hoisted there. An unpipelined descriptor load's buffer is read into registers, and its
    barrier invalidated, before its value is used; an unpipelined store's buffer is
    allocated once its value is computed and drained within the iteration."""

    return base + max(
        (
            loops.pipelined_beside(k, at)
            + loops.spanning.get(k, 0)
            + (loops.hoisted.get(k, 0) if k is not None and at is not None else 0)
            for k in loops.scopes
        ),
        default=0,
    )


def place_scratch(
    total: int, needs: list[ScratchNeed], base: int, loops: LoopBuffers, beside_epilogue: int
) -> int:
    """The peak with each operation's scratch: after a dot kernel's loops beside
    ``beside_epilogue`` only, elsewhere beside ``kept_beside``; scratch starts at a 128-byte
    boundary after the buffers live beside it."""

    after = max([0, *(n.nbytes for n in needs if n.epilogue)])
    if after:
        # After a dot kernel's loops only the resident operands and a persistent store's
        # buffer stay allocated.
        total = max(total, round_up(beside_epilogue, SCRATCH_ALIGN) + after)
    for n in needs:
        if n.nbytes and not n.epilogue:
            total = max(
                total, round_up(kept_beside(base, loops, n.loops), SCRATCH_ALIGN) + n.nbytes
            )
    return total
