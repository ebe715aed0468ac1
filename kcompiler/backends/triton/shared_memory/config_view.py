"""One config as the sizing rules read it: block sizes, stages and unrolling per loop, which
accesses take a tensor descriptor, and the padding of buffers to TMA's alignment. Each rule
module asks this view rather than the Config's raw fields, so that every rule reads a knob the
same way."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from kcompiler.backends.triton.blocks import block_elements
from kcompiler.backends.triton.shared_memory.access_facts import Access
from kcompiler.backends.triton.shared_memory.alignment import round_up
from kcompiler.backends.triton.shared_memory.constants import TMA_MIN_SHARED
from kcompiler.passes.indexing import TMA_MIN_BYTES


def descriptor_sites(
    accesses: Mapping[int, Access],
    modes: Sequence[str],
    hints: dict[str, int],
    sizes: dict[str, int],
) -> frozenset[int]:
    """The ``Config.indexing`` positions whose access takes a tensor descriptor at this
    config: those ``modes`` asks it for whose access a descriptor may take (no element-wise
    mask, a last dim of at least ``TMA_MIN_BYTES``). None at all where the launcher runs the
    pointer kernel instead: a descriptor's block larger than its tensor at these sizes
    (``indexing.descriptor_check``), or a tensor with a stride-0 dim or a last stride other
    than 1."""

    def elements(dims: tuple[str, ...]) -> int:
        return block_elements(dims, hints, sizes)

    def chosen(pos: int | None) -> bool:
        # One mode for every access, or one per position (a missing one is not a descriptor).
        if pos is None or not modes:
            return False
        mode = modes[0] if len(modes) == 1 else (modes[pos] if pos < len(modes) else "")
        return mode == "tensor_descriptor"

    def legal(a: Access) -> bool:
        return not a.masked and elements(a.block[-1:]) * a.elem_bytes >= TMA_MIN_BYTES

    picked = {p for p, a in accesses.items() if chosen(p) and legal(a)}

    def extent(d: str) -> int:
        return hints.get(d, int(d) if d.isdigit() else elements((d,)))

    if any(
        elements((b,)) > extent(e)
        for p in picked
        for b, e in zip(accesses[p].block, accesses[p].extent)
    ) or any(accesses[p].pointer_launch for p in picked):
        return frozenset()
    return frozenset(picked)


@dataclass
class ConfigView:
    """A config's knobs as the rules use them: ``hints`` (the traced sizes) and ``sizes``
    (block and chunk symbols) size a block; ``num_stages`` and the per-loop dicts keyed by
    block symbol (``range_*``, as ``loop_knobs.range_options`` gives them) pipeline and unroll
    loops; ``picked``: the positions that take a tensor descriptor (``descriptor_sites``);
    ``persistent``: the launch is a persistent kernel (``pid_type``); ``num_warps``: None when
    the caller leaves scratch uncounted. ``pads`` collects what ``aligned`` adds to each
    buffer, for ``placement.buffers_peak`` to take back the padding of the buffer placed
    last."""

    hints: dict[str, int]
    sizes: dict[str, int]
    num_stages: int
    stages_of: Mapping[str, int]
    unroll_of: Mapping[str, int]
    multi_of: Mapping[str, bool | None]
    flat_of: Mapping[str, bool | None]
    num_warps: int | None
    persistent: bool
    picked: frozenset[int]
    pads: list[int] = field(default_factory=list)

    def elements(self, dims: tuple[str, ...]) -> int:
        """Elements of a block of ``dims`` at this config (``blocks.block_elements``)."""
        return block_elements(dims, self.hints, self.sizes)

    def stages(self, loop: str | None) -> int:
        """The stages of a loop's pipeline: its ``range_num_stages``, else ``num_stages``
        (at least 1); 1 outside loops."""
        return max(1, self.stages_of.get(loop) or self.num_stages) if loop is not None else 1

    def unroll(self, loop: str | None) -> int:
        """A loop's ``range_unroll_factors`` entry (at least 1); 1 outside loops."""
        return max(1, self.unroll_of.get(loop) or 1) if loop is not None else 1

    def aligned(self, nbytes: int) -> int:
        """A buffer's bytes as placed: with tensor descriptors, buffers start at TMA's
        128-byte alignment, so each is padded to it (the padding is recorded in ``pads``)."""
        if not self.picked:
            return nbytes
        padded = round_up(nbytes, TMA_MIN_SHARED)
        self.pads.append(padded - nbytes)
        return padded
