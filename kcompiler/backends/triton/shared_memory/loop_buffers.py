"""The buffers each top-level loop keeps at one config, apart from dot operands (the package
docstring has the rules): pipelined loads' copies, tensor-descriptor tiles of unpipelined
accesses with their barriers, stores' buffers hoisted out of a loop or allocated before it,
and a dot kernel's descriptor loads after its loops. What is live together, and where it
lies, is ``placement.py``'s."""

from __future__ import annotations

from dataclasses import dataclass, field

from kcompiler.backends.triton.shared_memory.access_facts import MemoryTile, StoreSpan
from kcompiler.backends.triton.shared_memory.config_view import ConfigView
from kcompiler.backends.triton.shared_memory.constants import (
    CP_ASYNC_ALIGN,
    TMA_BARRIER_BYTES,
    TMA_MIN_SHARED,
    TRANSIENT_TMA_BUFFERS,
)
from kcompiler.backends.triton.shared_memory.facts import KernelFacts

Scope = int | None  # a top-level sequential loop's position among the module's loops (None: none)


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


@dataclass
class LoopBuffers:
    """Per top-level loop (``Scope``; None: outside loops), the bytes of what it keeps.

    ``pipelined_in``: the pipelined loads' copies, which live through the loop;
    ``pipelined_by``: the same per (top-level loop, pipelined loop) (the outermost of a
    flattened nest): Triton allocates a pipelined loop's buffers before it and frees them
    after it. ``staged_in``: the tensor-descriptor buffers of unpipelined accesses, each read
    into registers (a load) or drained (a store) before the next is needed where Triton
    reuses them (``TRANSIENT_TMA_BUFFERS``), else all live together. ``hoisted``: stores'
    buffers hoisted out of a pipelined loop; ``spanning``: stores' buffers allocated before a
    loop (None: beside a reduction outside loops). ``barriers`` and ``barrier_count``: the
    barriers of unpipelined descriptor loads; ``largest_staged``: their largest tile, in raw
    bytes. ``pieces``: the (bytes, alignment) of each buffer live through the loop, for the
    loops whose buffers are placed one above the other (``placement.buffers_peak``);
    ``loose``: loops with a buffer that placement does not model (a hoisted or early store).
    ``after_loads``: the largest descriptor load after a dot kernel's loops, with its
    barrier. ``scopes``: every loop with a buffer."""

    pipelined_in: dict[Scope, int] = field(default_factory=dict)
    pipelined_by: dict[tuple[Scope, str | None], int] = field(default_factory=dict)
    staged_in: dict[Scope, int] = field(default_factory=dict)
    hoisted: dict[Scope, int] = field(default_factory=dict)
    barrier_count: dict[Scope, int] = field(default_factory=dict)
    barriers: dict[Scope, int] = field(default_factory=dict)
    largest_staged: dict[Scope, int] = field(default_factory=dict)
    spanning: dict[Scope, int] = field(default_factory=dict)
    pieces: dict[Scope, list[tuple[int, int]]] = field(default_factory=dict)
    loose: set[Scope] = field(default_factory=set)
    after_loads: int = 0
    scopes: set[Scope] = field(default_factory=set)

    def add_pipelined(self, scope: Scope, host: str | None, need: int) -> None:
        """Count ``need`` bytes of copies of a load pipelined in ``host`` within ``scope``."""
        self.pipelined_in[scope] = self.pipelined_in.get(scope, 0) + need
        self.pipelined_by[scope, host] = self.pipelined_by.get((scope, host), 0) + need

    def pipelined_beside(self, k: Scope, loops: tuple[str, ...] | None) -> int:
        """The pipelined copies of top-level loop ``k`` live beside an operation inside the
        loops ``loops`` (block symbols; None: wherever it may run, so all of them)."""
        if loops is None:
            return self.pipelined_in.get(k, 0)
        return sum(v for (kk, host), v in self.pipelined_by.items() if kk == k and host in loops)

    def barrier_bytes(self, k: Scope) -> int:
        """The bytes the barriers of loop ``k``'s unpipelined descriptor loads take. A store's
        buffer allocated before a loop lives through it; Triton's first-fit placement puts
        such a small, long-lived buffer above the loop's buffers and barriers, at TMA's
        128-byte alignment: each barrier takes 128 bytes."""
        if k is not None and self.spanning.get(k):
            return self.barrier_count.get(k, 0) * TMA_MIN_SHARED
        return self.barriers.get(k, 0)


def _pipeline(m: MemoryTile, view: ConfigView) -> tuple[int, int, str | None]:
    """(stages, unrolled copies, pipelined loop) of a tile: its innermost loop's
    ``range_num_stages`` (0: unset), the product of the unroll factors of the loops around
    it, and the loop whose pipeline holds its copies. A loop nest flattened from an outer
    loop (``range_flattens``) is one loop, pipelined at the most stages its loops ask for."""

    u = 1
    for sym in m.loops:
        u *= view.unroll(sym)
    s = view.stages_of.get(m.loop) or 0 if m.loop is not None else 0
    fused = next((i for i in range(len(m.loops) - 1, 0, -1) if view.flat_of.get(m.loops[i])), None)
    host = m.loop
    if fused is not None:
        s = max(view.stages_of.get(sym) or 0 for sym in m.loops[: fused + 1])
        host = m.loops[fused]
    return s, u, host


def loop_buffers(facts: KernelFacts, view: ConfigView) -> LoopBuffers:
    """The buffers of the loads and stores that are not dot operands, per top-level loop."""

    out = LoopBuffers()
    for m in facts.tiles:
        if facts.buffers and m.store and m.scope is None:
            continue  # counted in the dot kernel's epilogue (operands.place_epilogue)
        tma = m.site in view.picked
        if tma and m.epilogue and facts.buffers and TRANSIENT_TMA_BUFFERS:
            # (3.9) It runs after the dot loops, in their freed memory: only the resident
            # operands and a persistent kernel's kept store buffer stay beside it.
            raw = view.aligned(view.elements(m.dims) * m.elem_bytes) + TMA_BARRIER_BYTES
            out.after_loads = max(out.after_loads, raw)
            continue
        s, u, host = _pipeline(m, view)
        raw = view.elements(m.dims) * m.elem_bytes
        barrier = 0 if m.store else TMA_BARRIER_BYTES
        if tma and not m.store and raw < TMA_MIN_SHARED and TRANSIENT_TMA_BUFFERS:
            # (3.9) A descriptor load of a tile under 128 bytes is not pipelined: the loop
            # reads it through one buffer at a time, as at one stage.
            s = 0
        if not m.store and s >= 2 and not tma and TRANSIENT_TMA_BUFFERS:
            _pipelined_pointer_load(out, m, view, s, raw, host)
            continue
        tile = view.aligned(raw)
        if not m.store and s >= 2:
            _pipelined_load(out, m, view, s, u, host, tile, raw, barrier, tma)
        elif tma and TRANSIENT_TMA_BUFFERS:
            _transient_descriptor(out, m, view, tile, raw, barrier)
        elif tma:
            # 3.6: a loop's descriptor buffers are all live together.
            out.loose.add(m.scope)
            need = u * (tile + barrier)
            if m.scope is None:
                out.staged_in[m.scope] = max(out.staged_in.get(m.scope, 0), need)
            else:
                out.staged_in[m.scope] = out.staged_in.get(m.scope, 0) + need
    out.scopes = {*out.pipelined_in, *out.staged_in, *out.hoisted, *out.spanning}
    return out


def _pipelined_pointer_load(
    out: LoopBuffers, m: MemoryTile, view: ConfigView, s: int, raw: int, host: str | None
) -> None:
    """Triton 3.9 keeps stages - 1 copies of a pipelined pointer load that no dot reads (one
    stage is in registers) in one buffer, one buffer per unrolled copy of the body: the
    buffer, not each copy, starts at an aligned offset. An unrolled outer loop runs its
    copies of this loop one after another: only the pipelined loop's own unrolling
    multiplies its buffers."""

    inner = view.unroll(m.loop)
    need = inner * view.aligned((s - 1) * raw)
    out.pieces.setdefault(m.scope, []).extend([((s - 1) * raw, CP_ASYNC_ALIGN)] * inner)
    out.add_pipelined(m.scope, host, need)


def _pipelined_load(
    out: LoopBuffers,
    m: MemoryTile,
    view: ConfigView,
    s: int,
    u: int,
    host: str | None,
    tile: int,
    raw: int,
    barrier: int,
    tma: bool,
) -> None:
    """A pipelined descriptor load (and, under 3.6, a pipelined pointer load). Triton 3.9
    keeps stages - 1 copies of a pipelined descriptor load (one stage is in registers), one
    set per unrolled copy of the body, each copy a whole number of TMA's 128-byte units;
    3.6 kept ``stages x unroll`` copies (+ 1 when unrolled)."""

    inner = view.unroll(m.loop)
    if TRANSIENT_TMA_BUFFERS:
        copies = (s - 1) * inner
    else:
        copies = s * u + (1 if u > 1 else 0)
    need = copies * (tile + (barrier if tma else 0))
    if tma and TRANSIENT_TMA_BUFFERS:
        need += inner * barrier  # and a barrier per unrolled copy of the body
        out.pieces.setdefault(m.scope, []).extend(
            [(raw, TMA_MIN_SHARED)] * copies + [(barrier, TMA_BARRIER_BYTES)] * (copies + inner)
        )
    else:
        out.loose.add(m.scope)
    out.add_pipelined(m.scope, host, need)


def _transient_descriptor(
    out: LoopBuffers, m: MemoryTile, view: ConfigView, tile: int, raw: int, barrier: int
) -> None:
    """(3.9) An unpipelined descriptor access, whose buffer Triton frees once a load is read
    into registers or a store drained: a store outside loops (perhaps allocated early), a
    pipelined loop's store hoisted out of it, or one buffer at a time."""

    if m.store and m.scope is None:
        out.staged_in[None] = max(out.staged_in.get(None, 0), tile)
        if m.span is not None and allocated_early(m.span, view.picked):
            # Its buffer lives from the value's definition: through the loops and beside the
            # reductions between it and the store.
            for k, _ in m.span.loops:
                out.spanning[k] = out.spanning.get(k, 0) + tile
                out.loose.add(k)
            if m.span.reduces:
                out.spanning[None] = out.spanning.get(None, 0) + tile
        return
    if m.store and view.stages(m.loop) >= 2 and view.num_stages >= 2:
        # A pipelined loop's store: the buffer may be hoisted just out of the loop, so that
        # one iteration's store drains while the next computes (it lives through that loop).
        out.hoisted[m.scope] = out.hoisted.get(m.scope, 0) + tile
        out.loose.add(m.scope)
        return
    # One buffer at a time, but each load's barrier may stay allocated beside it. Placed
    # after every larger buffer, the barriers follow the last tile's bytes, inside its
    # padding to TMA's alignment (the padding of the buffer placed last is not counted:
    # ``placement.buffers_peak``).
    out.staged_in[m.scope] = max(out.staged_in.get(m.scope, 0), tile)
    out.barriers[m.scope] = out.barriers.get(m.scope, 0) + barrier
    out.largest_staged[m.scope] = max(out.largest_staged.get(m.scope, 0), raw)
    if barrier:
        out.barrier_count[m.scope] = out.barrier_count.get(m.scope, 0) + 1
        out.pieces.setdefault(m.scope, []).append((barrier, TMA_BARRIER_BYTES))
