"""The estimate of one config: the IR's facts (gathered once per module and ``reduction_loops``
value) sized at the config's knobs, phase by phase, and placed. The phases, in order:

1. ``config_view``: the knobs as the rules read them, and which accesses take a descriptor;
2. ``operands``: the dot operands' buffers, then a dot kernel's epilogue;
3. ``loop_buffers``: each top-level loop's buffers other than dot operands;
4. ``placement.buffers_peak``: the peak of the explicit buffers;
5. ``scratch`` and ``placement.place_scratch``: each operation's scratch beside what stays
   allocated (only when ``num_warps`` is given).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from xdsl.ir import Operation

from kcompiler.backends.triton.loop_knobs import range_options
from kcompiler.backends.triton.shared_memory.config_view import ConfigView, descriptor_sites
from kcompiler.backends.triton.shared_memory.facts import KernelFacts, kernel_facts
from kcompiler.backends.triton.shared_memory.loop_buffers import loop_buffers
from kcompiler.backends.triton.shared_memory.operands import operand_buffers, place_epilogue
from kcompiler.backends.triton.shared_memory.placement import buffers_peak, place_scratch
from kcompiler.backends.triton.shared_memory.scratch import scratch_needs
from kcompiler.dialects import tile as t
from kcompiler.passes.indexing import memory_ops, normalize_indexing, per_access_modes
from kcompiler.passes.split_reductions import chunk_symbol, chunks_from_reduction_loops


def estimate_bytes(facts: KernelFacts, view: ConfigView) -> int:
    """Estimated shared memory of one program at the config ``view``, from ``facts``."""

    operands = operand_buffers(facts, view)
    total = operands.resident + operands.pipelined
    kept_store = 0  # a persistent kernel's descriptor store buffer, through the program
    if facts.buffers:
        total, kept_store = place_epilogue(facts, view, operands, total)
    loops = loop_buffers(facts, view)
    base = total
    beside_epilogue = operands.resident + kept_store
    total = buffers_peak(base, loops, view, beside_epilogue)
    if not view.num_warps:
        return total  # the scratch depends on the warps (counted when given)
    needs = scratch_needs(facts, view, loops, view.num_warps)
    return place_scratch(total, needs, base, loops, beside_epilogue)


class SharedMemoryEstimator:
    """The estimate of one traced module as a function of a config's knobs (see
    ``shared_memory_estimator``), keeping the module's facts per ``reduction_loops`` value:
    a space's constraint calls it for every drawn config."""

    def __init__(self, module: Operation) -> None:
        self.module = module
        self.hints: dict[str, int] = {}
        for k in module.walk():
            if isinstance(k, t.KernelOp):
                self.hints.update(k.size_hints)
        self.accesses = len(memory_ops(module))
        self._facts: dict[tuple[tuple[str, int], ...], KernelFacts] = {}

    def facts(self, chunks: dict[str, int]) -> KernelFacts:
        """The module's facts as ``split-reductions`` rewrites it for ``chunks``."""
        key = tuple(sorted(chunks.items()))
        if key not in self._facts:
            self._facts[key] = kernel_facts(self.module, chunks)
        return self._facts[key]

    def __call__(
        self,
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
        """Estimated shared memory of one program at these knobs (``shared_memory_bytes``)."""
        chunks = chunks_from_reduction_loops(self.module, reduction_loops)
        facts = self.facts(chunks)
        sizes = dict(block_sizes)
        sizes.update({chunk_symbol(d): c for d, c in chunks.items()})
        modes = normalize_indexing(indexing)
        if len(modes) > self.accesses:  # numbered Helion's way: one mode per source access
            modes = per_access_modes(self.module, modes, tuple(chunks))
        view = ConfigView(
            hints=self.hints,
            sizes=sizes,
            num_stages=num_stages,
            stages_of=range_num_stages or {},
            unroll_of=range_unroll_factors or {},
            multi_of=range_multi_buffers or {},
            flat_of=range_flattens or {},
            num_warps=num_warps,
            persistent=(pid_type or "flat").startswith("persistent"),
            picked=descriptor_sites(facts.accesses, modes, self.hints, sizes),
        )
        return estimate_bytes(facts, view)


def shared_memory_estimator(module: Operation) -> Callable[..., int]:
    """``estimate(block_sizes, num_stages, range_num_stages=None, range_unroll_factors=None,
    range_multi_buffers=None, range_flattens=None, *, indexing=None, reduction_loops=None,
    num_warps=None, pid_type=None)`` for ``module`` (the traced IR; per-loop dicts keyed by
    block symbol, as ``loop_knobs.range_options`` gives them; ``indexing``,
    ``reduction_loops`` and ``pid_type`` as in a Config), with the IR walked once per
    ``reduction_loops`` value (a space's constraint calls it for every drawn config). See
    ``shared_memory_bytes``."""

    return SharedMemoryEstimator(module)


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

    The rules are the package docstring's (``backends/triton/shared_memory``). ``stages`` of
    a loop is its ``range_num_stages`` entry when set, else ``num_stages``; ``unroll`` its
    ``range_unroll_factors`` entry (matmul with wgmma: ``num_stages * (BLOCK_M * BLOCK_K +
    BLOCK_K * BLOCK_N) * element size``). ``indexing`` (a Config's field) picks the tensor-descriptor accesses,
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
