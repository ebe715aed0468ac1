"""The estimate of one config: the IR's facts (gathered once per module and
``reduction_loops`` value) sized at the config's knobs and placed."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from math import prod
from typing import Any

from xdsl.ir import Operation

from kcompiler.backends.triton.blocked_layout import (
    WARP_SIZE,
    coalesced_vector,
    reduction_scratch_bytes,
    slice_conversion_bytes,
)
from kcompiler.backends.triton.blocks import block_elements
from kcompiler.backends.triton.loop_knobs import range_options
from kcompiler.backends.triton.mma_conversion import dot_store_conversion_bytes
from kcompiler.backends.triton.shared_memory.access_facts import Access, StoreSpan
from kcompiler.backends.triton.shared_memory.alignment import nvmma_alignment, round_up, stacked
from kcompiler.backends.triton.shared_memory.constants import (
    CP_ASYNC_ALIGN,
    SCRATCH_ALIGN,
    TMA_BARRIER_BYTES,
    TMA_MIN_SHARED,
    TRANSIENT_TMA_BUFFERS,
    WARP_GROUP,
    WGMMA_ROWS,
)
from kcompiler.backends.triton.shared_memory.facts import KernelFacts, kernel_facts
from kcompiler.dialects import tile as t
from kcompiler.passes.indexing import (
    TMA_MIN_BYTES,
    memory_ops,
    normalize_indexing,
    per_access_modes,
)
from kcompiler.passes.split_reductions import chunk_symbol, chunks_from_reduction_loops


def allocated_early(span: StoreSpan, picked: set[int]) -> bool:
    """Whether Triton 3.9 allocates a descriptor store's buffer right after its value is
    defined rather than at the store. Its instruction reordering moves a ``local_alloc`` of
    a value up to the value's definition unless an operation in between writes memory with
    known effects: a descriptor load (its barrier and copy), any store outside loops, or a
    loop whose stores all use pointers. A loop that stores through a descriptor holds
    operations of unknown effects (the fences and waits around the copy), which do not stop
    the move."""

    if span.writes or any(p in picked for p in span.loads):
        return False
    return not any(held and not any(p in picked for p in held) for _, held in span.loops)


def uses_wgmma(rows: int, num_warps: int | None) -> bool:
    """Whether Triton runs a dot of ``rows`` (M) rows with Hopper's wgmma: M a multiple of
    64 and whole warp groups; otherwise it runs mma.sync (mma v2), whose operands go from
    shared memory to registers."""

    return rows % WGMMA_ROWS == 0 and (num_warps or WARP_GROUP) % WARP_GROUP == 0


def shared_memory_estimator(module: Operation) -> Callable[..., int]:
    """``estimate(block_sizes, num_stages, range_num_stages=None, range_unroll_factors=None,
    range_multi_buffers=None, *, indexing=None, reduction_loops=None, num_warps=None,
    pid_type=None)`` for ``module`` (the traced IR; per-loop dicts keyed by block symbol, as
    ``loop_knobs.range_options`` gives them; ``indexing``, ``reduction_loops`` and
    ``pid_type`` as in a Config), with the IR walked once per ``reduction_loops`` value (a
    space's constraint calls it for every drawn config). See ``shared_memory_bytes``."""

    hints: dict[str, int] = {}
    for k in module.walk():
        if isinstance(k, t.KernelOp):
            hints.update(k.size_hints)
    layouts: dict[tuple[tuple[str, int], ...], KernelFacts] = {}
    accesses = len(memory_ops(module))

    def estimate(
        block_sizes: dict[str, int],
        num_stages: int,
        range_num_stages: dict[str, int] | None = None,
        range_unroll_factors: dict[str, int] | None = None,
        range_multi_buffers: dict[str, bool | None] | None = None,
        range_flattens: dict[str, bool | None] | None = None,
        *,
        indexing: Any = None,
        reduction_loops: Any = None,
        num_warps: int | None = None,
        pid_type: str | None = None,
    ) -> int:
        stages_of = range_num_stages or {}
        flat_of = range_flattens or {}
        unroll_of = range_unroll_factors or {}
        chunks = chunks_from_reduction_loops(module, reduction_loops)
        key = tuple(sorted(chunks.items()))
        if key not in layouts:
            layouts[key] = kernel_facts(module, chunks)
        layout = layouts[key]
        sizes = dict(block_sizes)
        sizes.update({chunk_symbol(d): c for d, c in chunks.items()})
        modes = normalize_indexing(indexing)
        if len(modes) > accesses:  # numbered Helion's way: one mode per source access
            modes = per_access_modes(module, modes, tuple(chunks))

        def elements(dims: tuple[str, ...]) -> int:
            return block_elements(dims, hints, sizes)

        def chosen(pos: int | None) -> bool:
            if pos is None or not modes:
                return False
            mode = modes[0] if len(modes) == 1 else (modes[pos] if pos < len(modes) else "")
            return mode == "tensor_descriptor"

        def legal(a: Access) -> bool:
            return not a.masked and elements(a.block[-1:]) * a.elem_bytes >= TMA_MIN_BYTES

        picked = {p for p, a in layout.accesses.items() if chosen(p) and legal(a)}

        # The launcher runs the kernel with pointers when a descriptor's block is larger
        # than its tensor at these sizes (``indexing.descriptor_check``).
        def extent(d: str) -> int:
            return hints.get(d, int(d) if d.isdigit() else elements((d,)))

        # So does it when a descriptor would read a tensor with a stride-0 dim or a last
        # stride other than 1.
        if any(
            elements((b,)) > extent(e)
            for p in picked
            for b, e in zip(layout.accesses[p].block, layout.accesses[p].extent)
        ) or any(layout.accesses[p].pointer_launch for p in picked):
            picked = set()

        pads: list[int] = []

        def aligned(nbytes: int) -> int:
            # With tensor descriptors, buffers start at TMA's 128-byte alignment: each is
            # padded to it, but for the one placed last (its padding is subtracted below).
            if not picked:
                return nbytes
            padded = round_up(nbytes, TMA_MIN_SHARED)
            pads.append(padded - nbytes)
            return padded

        def stages(loop: str | None) -> int:
            return max(1, stages_of.get(loop) or num_stages) if loop is not None else 1

        def unroll(loop: str | None) -> int:
            return max(1, unroll_of.get(loop) or 1) if loop is not None else 1

        # Dot operands: resident ones (loaded once, or computed) add up, and so do the copies
        # a pipelined loop keeps of each operand it loads. An unpipelined loop (one stage)
        # keeps one buffer of each operand of a dot until that dot has run: its dots' buffers
        # are not live together.
        persistent = (pid_type or "flat").startswith("persistent")
        resident = pipelined = 0
        largest = 0  # the largest operand allocation (Triton places buffers largest first)
        single: dict[int, int] = {}
        staged: dict[int, int] = {}  # one-stage mma v2 operands read one at a time, per dot
        operand_copies: list[tuple[int, int]] = []  # pipelined: (one copy, all with barriers)
        for b in layout.buffers:
            size = aligned(elements(b.dims) * b.elem_bytes)
            largest = max(largest, size)
            wgmma = uses_wgmma(elements((b.rows,)), num_warps)
            if b.computed:
                resident += 0 if b.lhs and wgmma else size
                continue
            barrier = TMA_BARRIER_BYTES if b.site in picked else 0
            if b.loop is None:
                resident += size + barrier
                continue
            s, u = stages(b.loop), unroll(b.loop)
            if s == 1 and u == 1 and TRANSIENT_TMA_BUFFERS:
                upcast = b.elem_bytes < 2  # fp8: widened to fp16 in registers for mma v2
                if not wgmma and (upcast or (b.lhs and b.site in picked)):
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
            pipelined += copies * (size + barrier)
            operand_copies.append((size, copies * (size + barrier)))
            largest = max(largest, kept * size)
        pipelined += max(
            (max(single.get(d, 0), staged.get(d, 0)) for d in {*single, *staged}), default=0
        )
        if not TRANSIENT_TMA_BUFFERS:
            # 3.6 (H100): range_multi_buffers=True could multi-buffer a loop's accumulator.
            multi_of = range_multi_buffers or {}
            for dims, loop in layout.accumulators:
                if multi_of.get(loop) is True:
                    pipelined += elements(dims) * 4
        total = resident + pipelined
        kept_store = 0  # a persistent kernel's descriptor store buffer, through the program
        # A dot kernel's epilogue runs after its pipelined loop and reuses that loop's shared
        # memory, except a persistent kernel's tensor-descriptor store, whose buffer stays
        # allocated across its tiles.
        if layout.buffers:
            epilogue = 0
            for m in layout.tiles:
                if m.store and m.scope is None:
                    tile = aligned(elements(m.dims) * m.elem_bytes)
                    if persistent and num_stages >= 2 and m.site in picked:
                        # Triton places buffers largest first (ties in program order, where
                        # the kept store comes first): a store at least as large as every
                        # operand buffer sits below them, a smaller one above the larger
                        # ones and their barriers (it lives beside each), at its swizzled
                        # layout's alignment, and the pipelined copies of smaller operands
                        # above it.
                        if tile >= largest:
                            total += tile
                        else:
                            align = nvmma_alignment(elements(m.dims[-1:]) * m.elem_bytes)
                            small = sum(n for one, n in operand_copies if one < tile)
                            total = round_up(total - small, align) + tile + small
                        kept_store += tile
                        continue
                    if m.site not in picked and len(m.dims) == 2 and num_warps:
                        # A pointer store converts the result from its mma layout, in
                        # rounds through a part of the tile.
                        shape = [elements((d,)) for d in m.dims]
                        wgmma = uses_wgmma(shape[0], num_warps)
                        tile = dot_store_conversion_bytes(shape, num_warps, wgmma, m.elem_bytes)
                    epilogue = max(epilogue, tile)
            total = max(total, epilogue)
        # Per top-level loop (None: outside loops): the pipelined loads' copies, which live
        # through the loop, and the tensor-descriptor buffers of unpipelined accesses, each
        # read into registers (a load) or drained (a store) before the next is needed where
        # the Triton reuses them (``TRANSIENT_TMA_BUFFERS``), else all live together.
        pipelined_in: dict[int | None, int] = {}
        # The same per top-level loop and pipelined loop (the outermost of a flattened nest):
        # Triton allocates a pipelined loop's buffers before it and frees them after it.
        pipelined_by: dict[tuple[int | None, str | None], int] = {}
        staged_in: dict[int | None, int] = {}
        hoisted: dict[int | None, int] = {}
        barrier_count: dict[int | None, int] = {}  # unpipelined descriptor loads, per loop
        barriers: dict[int | None, int] = {}
        largest_staged: dict[int | None, int] = {}  # unpipelined descriptor tiles, raw bytes
        spanning: dict[int | None, int] = {}  # stores' buffers allocated before a loop
        # Per loop: the (bytes, alignment) of each buffer live through it, for the loops
        # whose buffers are placed one above the other (``ends`` below); ``loose``: loops
        # with a buffer that placement does not model (a hoisted or early store).
        pieces: dict[int | None, list[tuple[int, int]]] = {}
        loose: set[int | None] = set()
        after_loads = 0  # descriptor loads after a dot kernel's loops, with their barriers
        for m in layout.tiles:
            if layout.buffers and m.store and m.scope is None:
                continue  # counted in the epilogue above
            tma = m.site in picked
            if tma and m.epilogue and layout.buffers and TRANSIENT_TMA_BUFFERS:
                # (3.9) It runs after the dot loops, in their freed memory: only the resident
                # operands and a persistent kernel's kept store buffer stay beside it.
                raw = aligned(elements(m.dims) * m.elem_bytes) + TMA_BARRIER_BYTES
                after_loads = max(after_loads, raw)
                continue
            u = 1
            for sym in m.loops:
                u *= unroll(sym)
            s = stages_of.get(m.loop) or 0 if m.loop is not None else 0
            # A loop nest flattened from an outer loop (``range_flattens``) is one loop,
            # pipelined at the most stages its loops ask for.
            fused = next(
                (i for i in range(len(m.loops) - 1, 0, -1) if flat_of.get(m.loops[i])), None
            )
            host = m.loop
            if fused is not None:
                s = max(stages_of.get(sym) or 0 for sym in m.loops[: fused + 1])
                host = m.loops[fused]
            raw = elements(m.dims) * m.elem_bytes
            barrier = 0 if m.store else TMA_BARRIER_BYTES
            if tma and not m.store and raw < TMA_MIN_SHARED and TRANSIENT_TMA_BUFFERS:
                # (3.9) A descriptor load of a tile under 128 bytes is not pipelined: the loop
                # reads it through one buffer at a time, as at one stage.
                s = 0
            if not m.store and s >= 2 and not tma and TRANSIENT_TMA_BUFFERS:
                # Triton 3.9 keeps stages - 1 copies of a pipelined pointer load that no dot
                # reads (one stage is in registers) in one buffer, one buffer per unrolled
                # copy of the body: the buffer, not each copy, starts at an aligned offset.
                # An unrolled outer loop runs its copies of this loop one after another: only
                # the pipelined loop's own unrolling multiplies its buffers.
                inner = unroll(m.loop)
                need = inner * aligned((s - 1) * raw)
                pieces.setdefault(m.scope, []).extend([((s - 1) * raw, CP_ASYNC_ALIGN)] * inner)
                pipelined_in[m.scope] = pipelined_in.get(m.scope, 0) + need
                pipelined_by[m.scope, host] = pipelined_by.get((m.scope, host), 0) + need
                continue
            tile = aligned(raw)
            if not m.store and s >= 2:
                # Triton 3.9 keeps stages - 1 copies of a pipelined descriptor load (one stage
                # is in registers), one set per unrolled copy of the body, each copy a whole
                # number of TMA's 128-byte units.
                inner = unroll(m.loop)
                if TRANSIENT_TMA_BUFFERS:
                    copies = (s - 1) * inner
                else:
                    copies = s * u + (1 if u > 1 else 0)
                need = copies * (tile + (barrier if tma else 0))
                if tma and TRANSIENT_TMA_BUFFERS:
                    need += inner * barrier  # and a barrier per unrolled copy of the body
                    pieces.setdefault(m.scope, []).extend(
                        [(raw, TMA_MIN_SHARED)] * copies
                        + [(barrier, TMA_BARRIER_BYTES)] * (copies + inner)
                    )
                else:
                    loose.add(m.scope)
                pipelined_in[m.scope] = pipelined_in.get(m.scope, 0) + need
                pipelined_by[m.scope, host] = pipelined_by.get((m.scope, host), 0) + need
            elif tma and TRANSIENT_TMA_BUFFERS:
                if m.store and m.scope is None:
                    staged_in[None] = max(staged_in.get(None, 0), tile)
                    if m.span is not None and allocated_early(m.span, picked):
                        # Its buffer lives from the value's definition: through the loops
                        # and beside the reductions between it and the store.
                        for k, _ in m.span.loops:
                            spanning[k] = spanning.get(k, 0) + tile
                            loose.add(k)
                        if m.span.reduces:
                            spanning[None] = spanning.get(None, 0) + tile
                    continue
                if m.store and stages(m.loop) >= 2 and num_stages >= 2:
                    # A pipelined loop's store: the buffer may be hoisted just out of the
                    # loop, so that one iteration's store drains while the next computes (it
                    # lives through that loop).
                    hoisted[m.scope] = hoisted.get(m.scope, 0) + tile
                    loose.add(m.scope)
                else:
                    # One buffer at a time, but each load's barrier may stay allocated beside
                    # it. Placed after every larger buffer, the barriers follow the last
                    # tile's bytes, inside its padding to TMA's alignment (the padding of the
                    # buffer placed last is not counted, below).
                    staged_in[m.scope] = max(staged_in.get(m.scope, 0), tile)
                    barriers[m.scope] = barriers.get(m.scope, 0) + barrier
                    largest_staged[m.scope] = max(largest_staged.get(m.scope, 0), raw)
                    if barrier:
                        barrier_count[m.scope] = barrier_count.get(m.scope, 0) + 1
                        pieces.setdefault(m.scope, []).append((barrier, TMA_BARRIER_BYTES))
            elif tma:
                loose.add(m.scope)
                need = u * (tile + barrier)
                if m.scope is None:
                    staged_in[m.scope] = max(staged_in.get(m.scope, 0), need)
                else:
                    staged_in[m.scope] = staged_in.get(m.scope, 0) + need
        scopes = {*pipelined_in, *staged_in, *hoisted, *spanning}

        def barrier_bytes(k: int | None) -> int:
            # A store's buffer allocated before a loop lives through it; Triton's first-fit
            # placement puts such a small, long-lived buffer above the loop's buffers and
            # barriers, at TMA's 128-byte alignment: each barrier takes 128 bytes.
            if k is not None and spanning.get(k):
                return barrier_count.get(k, 0) * TMA_MIN_SHARED
            return barriers.get(k, 0)

        # What may stay allocated while a reduction or conversion runs: the dot operands, the
        # hoisted buffers, the copies of the pipelined loops it runs in (``loops``; None:
        # wherever it may run), and a store's buffer allocated before the loop or reduction.
        # A reduced row (None) is invariant in the loops after the one computing it: its
        # conversion is hoisted before such a loop, ahead of the store buffer hoisted there.
        # An unpipelined descriptor load's buffer is read into registers, and its barrier
        # invalidated, before its value is used; an unpipelined store's buffer is allocated
        # once its value is computed and drained within the iteration.
        base = total

        def pipelined_beside(k: int | None, loops: tuple[str, ...] | None) -> int:
            if loops is None:
                return pipelined_in.get(k, 0)
            return sum(v for (kk, host), v in pipelined_by.items() if kk == k and host in loops)

        def kept(loops: tuple[str, ...] | None) -> int:
            return base + max(
                (
                    pipelined_beside(k, loops)
                    + spanning.get(k, 0)
                    + (hoisted.get(k, 0) if k is not None and loops is not None else 0)
                    for k in scopes
                ),
                default=0,
            )

        # Without dot operands below them, a loop's buffers are all live through it: Triton
        # places them largest first, each at its alignment above the last (its
        # unpipelined descriptor tiles, one at a time, as their largest).
        ends = {
            k: stacked([*pieces.get(k, []), (largest_staged.get(k, 0), TMA_MIN_SHARED)])
            for k in scopes
            if picked and TRANSIENT_TMA_BUFFERS and not total and k is not None
            if k not in loose
        }
        total += max(
            (
                pipelined_in.get(k, 0)
                + staged_in.get(k, 0)
                + barrier_bytes(k)
                + (hoisted.get(k, 0) + spanning.get(k, 0) if k is not None else 0)
                for k in scopes
                if k not in ends
            ),
            default=0,
        )
        if after_loads:
            total = max(total, resident + kept_store + after_loads)
        if picked:
            total = max(total - min(pads, default=0), TMA_MIN_SHARED, *ends.values())
        if not num_warps:
            return total  # the scratch below depends on the warps (counted when given)
        warps = num_warps
        after = 0
        scratch: list[tuple[int, tuple[str, ...] | None]] = []  # (bytes, loops) per operation
        for r in layout.reductions:
            shape = [elements((d,)) for d in r.dims]
            need = reduction_scratch_bytes(
                shape, r.axis, warps, r.elem_bytes, r.contiguous, r.load_bytes
            )
            scratch.append((need, r.loops))
        for c in layout.conversions:
            # The value's dims within its parent block: all but the reduced one for a
            # reduction's result, else its dims in order.
            if c.reduced is not None:
                axes = [d for d in range(len(c.parent)) if d != c.reduced]
            else:
                axes, at = [], 0
                for d in c.dims:
                    while c.parent[at] != d:
                        at += 1
                    axes.append(at)
                    at += 1
            shape = [elements((d,)) for d in c.parent]
            core = [n for d, n in zip(c.parent, shape) if d != "1"]
            if c.reduced is not None and all(
                [elements((d,)) for d in o] == core or (sites and picked.issuperset(sites))
                for o, sites in zip(c.others, c.other_sites or [()] * len(c.others))
            ):
                # The other blocks have the operand's shape at this config (Triton gives them
                # the same blocked layout, whose slice the reduced row already has), or are
                # read and written only through tensor descriptors: their registers take any
                # layout (``local_load``), so no access sets one and the reduced row's layout
                # carries into their arithmetic.
                continue
            own = [shape[d] for d in axes]
            if c.load and prod(own) < warps * WARP_SIZE:
                # A load of fewer elements than threads is cheap to repeat: Triton loads it
                # in the slice layout its users need (removing the conversion).
                continue
            # The parent's layout is its loads' (unknown: the value's element size); the value's
            # own access moves its elements (an index widened to 64 bits was loaded at 32;
            # one accessed at its full width keeps that access's vector).
            load = c.parent_bytes or min(4, c.elem_bytes)
            widths = {c.elem_bytes, min(4, c.elem_bytes)}
            if c.access_bytes is not None and c.access_bytes >= c.elem_bytes:
                widths = {c.elem_bytes}
            elem = c.elem_bytes
            # A per-row load of fewer elements than threads that bounds jagged loops whose
            # blocks are all one element (each index a splat): the bounds are compared in
            # the load's own layout and the load is repeated in the address's slice, so
            # only narrow values move (32-bit counts, f32 lengths, i1 masks), never the
            # 64-bit ones. At one warp Triton does move 64-bit values.
            if (
                c.loaded
                and not c.load
                and warps > 1
                and prod(own) < warps * WARP_SIZE
                and layout.jagged_masks
                and all(elements(d[-1:]) == 1 for d, _ in layout.jagged_masks)
            ):
                elem = min(4, elem)
                widths = {min(4, w) for w in widths}
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
                    after = max(after, need)
                else:
                    loops = c.loops
                    if c.inner is not None and prod(shape) < warps * WARP_SIZE:
                        # A parent block of fewer elements than threads (an inner loop's
                        # tile) anchors no layout: the value stored after that loop keeps
                        # the store's, and each iteration's result is converted into it.
                        loops = c.inner
                    scratch.append((need, loops))
        for dims, loops in layout.checked:
            n = elements(dims)
            scratch.append((reduction_scratch_bytes([n], 0, warps, 8), loops))
        for dims, loops in layout.jagged_masks:
            # (3.9) In a loop nest flattened into one pipelined loop, a load's row mask over
            # a one-element block of its jagged loop (rows x 1) is converted to the load's
            # layout beside its copies (in the loop and in the prologue, after the copies
            # are allocated).
            flat = any(flat_of.get(sym) for sym in loops[1:])
            if (
                TRANSIENT_TMA_BUFFERS
                and flat
                and elements(dims[-1:]) == 1
                and any(pipelined_beside(k, loops) for k in scopes)
            ):
                scratch.append((elements(dims), loops))
        if after:
            # After a dot kernel's loops only the resident operands and a persistent store's
            # buffer stay allocated.
            live = resident + kept_store
            total = max(total, round_up(live, SCRATCH_ALIGN) + after)
        # Scratch starts at a 128-byte boundary after the buffers live beside it.
        for need, loops in scratch:
            if need:
                total = max(total, round_up(kept(loops), SCRATCH_ALIGN) + need)
        return total

    return estimate


def shared_memory_of_config(module: Operation, config: Mapping[str, Any]) -> int:
    """``shared_memory_bytes`` for the knobs of a Config (or its dict): block_sizes,
    num_stages, the range_* loop knobs, indexing, reduction_loops, num_warps."""

    ranges = range_options(module, config)
    return shared_memory_bytes(
        module,
        {f"block_{i}": v for i, v in enumerate(config["block_sizes"])},
        config.get("num_stages") or 1,
        ranges["range_num_stages"],
        ranges["range_unroll_factors"],
        ranges["range_multi_buffers"],
        ranges["range_flattens"],
        indexing=config.get("indexing"),
        reduction_loops=config.get("reduction_loops"),
        num_warps=config.get("num_warps"),
        pid_type=config.get("pid_type"),
    )


def shared_memory_bytes(
    module: Operation,
    block_sizes: dict[str, int],
    num_stages: int,
    range_num_stages: dict[str, int] | None = None,
    range_unroll_factors: dict[str, int] | None = None,
    range_multi_buffers: dict[str, bool | None] | None = None,
    range_flattens: dict[str, bool | None] | None = None,
    *,
    indexing: Any = None,
    reduction_loops: Any = None,
    num_warps: int | None = None,
    pid_type: str | None = None,
) -> int:
    """Estimated shared memory of one program in bytes, for the traced IR ``module``.

    The rules are the module docstring's. ``stages`` of a loop is its ``range_num_stages``
    entry when set, else ``num_stages``; ``unroll`` its ``range_unroll_factors`` entry
    (matmul with wgmma: ``num_stages * (BLOCK_M * BLOCK_K + BLOCK_K * BLOCK_N) * element
    size``). ``indexing`` (a Config's field) picks the tensor-descriptor accesses,
    ``reduction_loops`` (None: the default chunks) the chunk loops the tiles are counted in,
    ``pid_type`` whether a persistent kernel keeps its epilogue's buffer; the scratch of
    reductions and layout conversions is counted only when ``num_warps`` is given.

    Block symbols count at ``block_sizes``; whole size symbols at the next power of two of
    their traced value (as for registers), so the estimate is for the traced shapes.
    """
    return shared_memory_estimator(module)(
        block_sizes,
        num_stages,
        range_num_stages,
        range_unroll_factors,
        range_multi_buffers,
        range_flattens,
        indexing=indexing,
        reduction_loops=reduction_loops,
        num_warps=num_warps,
        pid_type=pid_type,
    )
