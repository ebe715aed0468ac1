"""Autotuning a kernel call: builds the config space from the traced IR and a tuning target
that times whole calls (host code + every launch) and checks them against the default config.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from kcompiler import settings
from kcompiler.autotune import (
    ChoiceKnob,
    ConfigSpace,
    IntKnob,
    MaxProduct,
    PowerOfTwoKnob,
    Predicate,
    Tuner,
    TuneResult,
    WrongResult,
    library_versions,
    make_key,
)
from kcompiler.autotune.compile_backends import compile_backend
from kcompiler.backends.triton.block_defaults import default_num_warps, largest_block
from kcompiler.backends.triton.config_space import derive_space
from kcompiler.backends.triton.indexing import (
    DESCRIPTOR_SCRATCH_BYTES,
    SCRATCH_LIMIT,
    supported_modes,
)
from kcompiler.backends.triton.live_registers import (
    LiveRegisters,
    gather_registers,
    thread_registers,
)
from kcompiler.backends.triton.loop_knobs import sequential_loops
from kcompiler.backends.triton.precompile import job_for_launches, launch_figures
from kcompiler.backends.triton.registers import dot_registers_checker
from kcompiler.backends.triton.shared_memory import may_take_shared_memory, shared_memory_estimator
from kcompiler.backends.triton.target_compile import (
    TargetBinary,
    cache_entry_name,
    compile_launches,
    install,
    over_shared_memory,
    parse_target,
    worker_environment,
)
from kcompiler.compiler.checks import shared_memory_limit
from kcompiler.compiler.driver import interpreting
from kcompiler.config import Config
from kcompiler.dialects import tile as t
from kcompiler.passes.indexing import TMA_MIN_BYTES, element_bytes, refused_args, sites
from kcompiler.passes.persistent import PID_TYPES
from kcompiler.passes.split_reductions import default_reduction_chunk, reduction_dims
from kcompiler.runtime.target_precompile import launch_specs
from kcompiler.target import TRITON_MAX_NUMEL

if TYPE_CHECKING:
    from kcompiler.runtime.kernel import Kernel


def build_space(kernel: Kernel, modules: list[Any]) -> ConfigSpace:
    blocks = kernel.blocks
    derived = derive_space(modules, blocks.fixed, blocks.defaults, blocks.minimums)
    knobs: list[Any] = []
    by_index = {b.index: b for b in derived.blocks}
    count = max([b.index + 1 for b in derived.blocks] + [0])
    for i in range(count):
        b = by_index.get(i)
        if b is None:  # a literal block size (or a symbol of another specialization)
            sym = f"block_{i}"
            v = kernel.blocks.fixed.get(sym, 1)
            knobs.append(PowerOfTwoKnob(f"block_sizes[{i}]", v, v, v))
        else:
            knobs.append(PowerOfTwoKnob(f"block_sizes[{i}]", b.low, b.high, b.default))
    sizes = {f"block_{i}": k.default for i, k in enumerate(knobs)}
    warps_default = default_num_warps(modules[0], sizes) if modules else 4
    knobs.append(PowerOfTwoKnob("num_warps", 1, MAX_WARPS, warps_default))
    knobs.extend(_reduction_knobs(modules))
    if any(_parallel_depth(m) >= 2 for m in modules):
        knobs.append(ChoiceKnob("l2_groupings[0]", [1, 2, 4, 8, 16, 32, 64], 1))
        if _first_dot(modules) is not None:
            # A tensor-core tile grid: a persistent schedule (a program per SM looping over
            # tiles) hides each tile's prologue behind the previous tile's work.
            knobs.append(ChoiceKnob("pid_type", list(PID_TYPES), "flat"))
    knobs.append(IntKnob("num_stages", 1, 4, 1))
    knobs.extend(frag.knob(name) for name, frag in kernel.tunables.items())
    constraints: list[Any] = []
    for syms, factor in derived.products:
        names = [f"block_sizes[{int(s.split('_')[1])}]" for s in syms]
        limit = max(1, TRITON_MAX_NUMEL // factor)
        constraints.append(
            MaxProduct(
                names, limit, f"a value of {factor} x blocks elements must fit Triton's 2**20"
            )
        )

    constraints.extend(_dot_register_constraint(modules, count, knobs))
    for more in (_range_knobs(modules), _indexing_knobs(kernel, modules, knobs)):
        knobs.extend(more[0])
        constraints.extend(more[1])
    constraints.insert(len(derived.products), _register_constraint(modules, count, knobs))
    constraints.extend(_dot_unroll_constraint(modules, knobs))
    constraints.extend(_outer_loop_unroll_constraint(modules, knobs))
    constraints.extend(_gather_loop_unroll_constraint(modules, knobs))
    constraints.extend(_gather_register_constraint(modules, count))
    constraints.extend(_dot_rows_constraint(modules))
    constraints.extend(_shared_memory_constraint(modules, count, knobs))
    return ConfigSpace(knobs, constraints, starts=_dot_starts(modules, knobs))


# Tensor-core tiles that run well on Hopper for 2-byte operands (M, N, K, num_warps,
# num_stages); the kind of table Triton's matmul tutorial and Inductor's mm templates keep. K
# scales with 1 / operand bytes (fp8 K=128, fp32 K=32) so a stage moves the same bytes.
_MATMUL_TILES = [
    (128, 256, 64, 8, 3),
    (128, 256, 64, 8, 4),
    (256, 128, 64, 8, 3),
    (128, 128, 64, 8, 3),
    (128, 128, 64, 4, 4),
    (128, 128, 32, 4, 4),
    (64, 256, 64, 4, 4),
    (128, 64, 64, 4, 4),
    (64, 128, 64, 4, 4),
    (64, 64, 64, 4, 4),
]
# Attention's first dot (queries x keys; its K is the head dim, not a block).
_ATTENTION_TILES = [
    (128, 64, 4, 3),
    (128, 64, 8, 3),
    (128, 128, 8, 3),
    (128, 64, 4, 2),
    (64, 64, 4, 4),
    (64, 128, 4, 3),
    (128, 32, 4, 3),
]


def _dot_starts(modules: list[Any], knobs: list[Any]) -> list[dict[str, Any]]:
    """Known-good starting points for a kernel with ``tile.dot`` (``ConfigSpace.starts``): the
    tiles above on the first dot's block dims, each with pointer loads and with tensor
    descriptors (TMA) where the space has them, L2 grouping 8 for a 2-d grid."""

    dot = _first_dot(modules)
    if dot is None:
        return []
    names = {k.name for k in knobs}

    def knob(dim: str) -> str | None:
        if not dim.startswith("block_"):
            return None
        name = f"block_sizes[{int(dim.split('_')[1])}]"
        return name if name in names else None

    (m, k), (_, n) = t.block_of(dot.lhs).dims, t.block_of(dot.rhs).dims
    m_knob, n_knob, k_knob = knob(m), knob(n), knob(k)
    if m_knob is None or n_knob is None:
        return []
    common: dict[str, Any] = {}
    if "l2_groupings[0]" in names and k_knob is not None:
        common["l2_groupings[0]"] = 8
    tma = {n: "tensor_descriptor" for n in names if n.startswith("indexing[")}
    tiles: list[dict[str, Any]] = []
    if k_knob is not None:
        scale = 2 / (element_bytes(t.block_of(dot.lhs).element_type) or 2)
        for bm, bn, bk, warps, stages in _MATMUL_TILES:
            tiles.append(
                {
                    m_knob: bm,
                    n_knob: bn,
                    k_knob: int(bk * scale),
                    "num_warps": warps,
                    "num_stages": stages,
                }
            )
    else:
        for bm, bn, warps, stages in _ATTENTION_TILES:
            tiles.append({m_knob: bm, n_knob: bn, "num_warps": warps, "num_stages": stages})
    out = [{**common, **tile} for tile in tiles]
    if tma:
        out += [{**common, **tile, **tma} for tile in tiles[:4]]
    if "pid_type" in names:
        out += [{**common, **tile, "pid_type": "persistent_blocked"} for tile in tiles[:3]]
    return out


def _first_dot(modules: list[Any]) -> Any:
    """The kernels' first ``tile.dot`` in program order, or None."""

    return next((op for m in modules for op in m.walk() if isinstance(op, t.DotOp)), None)


# Block elements one thread may hold in a kernel with tile.dot, whose largest block is its
# accumulator (the dot rules below and ``dot_registers`` bound the rest).
ELEMENTS_PER_THREAD = 128
MAX_WARPS = 32  # the num_warps knob's upper end
# A tile that holds whole rows where a chunk loop could hold them in pieces may overflow the
# register file by this factor: ptxas keeps the excess in local memory, which stays in L1, and
# that costs less than the second pass over the row in global memory a chunk loop makes.
WHOLE_ROW_SLACK = 1.3


def _register_constraint(modules: list[Any], count: int, knobs: list[Any]) -> Any:
    """Registers a thread holds must fit the register file.

    Without ``tile.dot``: the block values alive at once (``LiveRegisters``) must fit the
    registers a thread has at this ``num_warps`` (``thread_registers``): beyond that ptxas
    spills. With ``tile.dot``: the largest block (the accumulator) must give at most
    ``ELEMENTS_PER_THREAD`` elements a thread; its operand tiles are staged through shared
    memory and ``dot_registers`` bounds the results. Either way, fewer than one element per
    thread only for small blocks on at most 4 warps."""
    names = {k.name for k in knobs}
    with_dot = _first_dot(modules) is not None
    live = LiveRegisters(modules, count, knobs)
    smallest = {k.name: k.low for k in knobs if k.name.startswith("block_sizes[")}
    smallest.update({n: 0 for n in names if n.startswith(("range_unroll_", "range_num_stages"))})

    def registers_fit(flat: Any) -> bool:
        warps = flat["num_warps"]
        bs = _block_values(flat, count)
        largest = max(largest_block(m, bs) for m in modules)
        if not (largest >= 32 * warps or warps <= 4):
            return False
        if with_dot:
            return largest <= ELEMENTS_PER_THREAD * 32 * warps
        need, have = live.per_thread(flat), thread_registers(warps)
        if need <= have:  # fits with or without the slack (above 1): no need to ask more
            return True
        whole_rows = live.chunkable and not live.chunked(flat)
        if whole_rows and need <= WHOLE_ROW_SLACK * have:
            return True
        # Rows too wide to hold whole: when even the smallest tile (every block at its
        # lowest, no unrolled or pipelined copies) overflows at the most warps, no tile without
        # a chunk loop fits. Such tiles keep the largest-block rule instead, at the warp counts
        # where they overflow no more than that smallest tile does at the most warps (a
        # thread's share and its registers both halve with each doubling above 8 warps; more
        # rows, or copies of a loop body, multiply what spills), so whole rows stay reachable
        # and the tuner's ptxas check sees what they really spill.
        if live.chunked(flat):
            return False
        most = thread_registers(MAX_WARPS)
        least = live.per_thread({**flat, **smallest, "num_warps": MAX_WARPS})
        if least <= most:
            return False
        if need / have > least / most:
            return False
        return largest <= ELEMENTS_PER_THREAD * 32 * warps

    return Predicate(
        "register_budget",
        registers_fit,
        "without tile.dot, the block values alive at once (chunked by reduction_loops, times "
        "the iterations an unrolled or pipelined loop keeps in flight) must fit the registers "
        f"a thread has at num_warps; with tile.dot the largest block must give at most "
        f"{ELEMENTS_PER_THREAD} elements per thread",
        # num_warps is read, not listed: halving it is no repair (a thread's share doubles).
        [k.name for k in knobs if k.name not in ("num_stages", "num_warps")],
    )


def _dot_register_constraint(modules: list[Any], count: int, knobs: list[Any]) -> list[Any]:
    """Kernels with ``tile.dot``: the dot results (accumulators, attention's scores) must fit
    half the registers a thread has, an fp8 dot's widening accumulator included (three
    quarters from two warpgroups on); a quarter in a persistent schedule on one warpgroup or
    32 warps; below 4 warps, with the operand tiles, a quarter (ptxas "Insufficient
    registers" at 16 warps and more, spills below;
    ``backends/triton/registers.dot_registers_fit``)."""

    checkers = [c for c in map(dot_registers_checker, modules) if c.results]
    if not checkers:
        return []

    def fits(flat: Any) -> bool:
        bs = _block_values(flat, count)
        persistent = flat.get("pid_type", "flat") != "flat"
        return all(c.fits(bs, flat["num_warps"], persistent) for c in checkers)

    return [
        Predicate(
            "dot_registers",
            fits,
            "the tl.dot results (fp32 accumulators and scores) must take at most half of a "
            "thread's min(256, 65536 / (32 * num_warps)) registers (an fp8 dot's widening "
            "accumulator with them: three quarters from 8 warps on; a persistent pid_type on 4 "
            "or 32 warps: a quarter; below 4 warps, with the operand tiles mma.sync holds, a "
            "quarter)",
            [f"block_sizes[{i}]" for i in range(count)]
            + ["num_warps"]
            + [k.name for k in knobs if k.name == "pid_type"],
        )
    ]


def _unroll_knobs(module: Any, knobs: list[Any], holds: Callable[[Any], bool]) -> list[str]:
    """``range_unroll_factors[i]`` of each sequential loop of ``module`` with an op nested in
    its body for which ``holds(op)`` is true (knobs the space has)."""
    names = {k.name for k in knobs}
    chosen = {
        op.block.data
        for op in module.walk()
        if isinstance(op, t.ForOp) and any(holds(o) for o in op.walk() if o is not op)
    }
    return [
        f"range_unroll_factors[{i}]"
        for i, sym in enumerate(sequential_loops(module))
        if sym in chosen and f"range_unroll_factors[{i}]" in names
    ]


def _dot_unroll_constraint(modules: list[Any], knobs: list[Any]) -> list[Any]:
    """A sequential loop that holds a ``tile.dot`` is not unrolled (``range_unroll_factors``
    at most 1): ``num_stages`` already pipelines its operand loads, and each unrolled copy
    keeps its own operand fragments, addresses and wait tokens alive in registers next to the
    accumulator, which ptxas then spills."""
    if len(modules) != 1:
        return []
    unroll = _unroll_knobs(modules[0], knobs, lambda op: isinstance(op, t.DotOp))
    if not unroll:
        return []
    return [
        Predicate(
            "dot_loop_unroll",
            lambda flat: all((flat[n] or 0) <= 1 for n in unroll),
            "a loop with tl.dot is pipelined by num_stages, not unrolled "
            "(range_unroll_factors at most 1)",
            unroll,
        )
    ]


def _outer_loop_unroll_constraint(modules: list[Any], knobs: list[Any]) -> list[Any]:
    """A sequential loop whose body holds another sequential loop is not unrolled
    (``range_unroll_factors`` at most 1).

    Unrolling copies the body whole: each copy gets its own inner loop, with that loop's
    software-pipeline prologue and epilogue, and the copies' inner loops run one after
    another, so no copy's loads overlap another's. What the copies share does grow: the code
    (two to four times the instructions) and the outer tile's values (row offsets, masks,
    bounds) computed ahead of the copies and alive through every inner loop, so ptxas spills
    a few of them where the same loop without unrolling fits. An innermost loop's copies
    give the scheduler independent loads to overlap; an outer loop's copies only give it
    inner loops in sequence."""
    if len(modules) != 1:
        return []
    unroll = _unroll_knobs(
        modules[0], knobs, lambda op: isinstance(op, t.ForOp) and op.parallel is None
    )
    if not unroll:
        return []
    return [
        Predicate(
            "outer_loop_unroll",
            lambda flat: all((flat[n] or 0) <= 1 for n in unroll),
            "a loop that holds another loop is not unrolled (range_unroll_factors at most 1): "
            "each copy runs its inner loop after the previous copy's",
            unroll,
        )
    ]


def _gather_register_constraint(modules: list[Any], count: int) -> list[Any]:
    """A gather's values, indices and addresses (``live_registers.gather_registers``) must
    fit the registers a thread has at ``num_warps``: each gathered element of a float32 value
    takes five (the value, a 64-bit index, a 64-bit address), all alive at the load."""
    gathering = [
        m
        for m in modules
        if any(
            isinstance(op, t.LoadOp) and "gather" in [k.data for k in op.index_kinds]
            for op in m.walk()
        )
    ]
    if not gathering:
        return []

    def fits(flat: Any) -> bool:
        bs = _block_values(flat, count)
        warps = flat["num_warps"]
        return all(
            gather_registers(m, bs, 32 * warps) <= thread_registers(warps) for m in gathering
        )

    return [
        Predicate(
            "gather_registers",
            fits,
            "a gathered tile's values with a 64-bit index and a 64-bit address for each element "
            "(five registers an fp32 element) must fit the registers a thread has at num_warps",
            # num_warps is read, not listed: halving it is no repair (a thread's share doubles).
            [f"block_sizes[{i}]" for i in range(count)],
        )
    ]


def _gather_loop_unroll_constraint(modules: list[Any], knobs: list[Any]) -> list[Any]:
    """A sequential loop that gathers (a ``tile.load`` through a block of computed indices)
    is not unrolled (``range_unroll_factors`` at most 1).

    Each element of a gather has an address of its own: a 64-bit index read from registers,
    turned into a 64-bit pointer, two registers an element that no copy can share with
    another (an affine load's copies are one base address plus a per-copy offset). So every unrolled copy adds a whole gathered tile of indices, addresses and masks
    to what a thread holds, and a gathering loop unrolled three times needs about twice the
    registers of the same loop run once. Pipelining (``range_num_stages``) hides the
    gather's latency instead: its loads become asynchronous copies into shared memory."""
    if len(modules) != 1:
        return []
    unroll = _unroll_knobs(
        modules[0],
        knobs,
        lambda op: isinstance(op, t.LoadOp) and "gather" in [k.data for k in op.index_kinds],
    )
    if not unroll:
        return []
    return [
        Predicate(
            "gather_loop_unroll",
            lambda flat: all((flat[n] or 0) <= 1 for n in unroll),
            "a loop that gathers through computed indices is not unrolled (range_unroll_factors "
            "at most 1): each copy holds its own address for every element",
            unroll,
        )
    ]


# Rows of a tile.dot one warp computes at least: an mma instruction's M (16). A program whose
# dot has fewer rows than 16 x num_warps spreads its warps along N too, and each warp then keeps
# an operand fragment of its rows x K of its own (the operand is replicated across the warps of
# a row), besides its share of the results. From 16 warps on, where a thread has at most 128
# registers (64 at 32 warps), that spills; below, a thread has room for it.
DOT_ROWS_PER_WARP = 16
DOT_ROWS_FROM_WARPS = 16


def _dot_rows_constraint(modules: list[Any]) -> list[Any]:
    """From ``DOT_ROWS_FROM_WARPS`` warps on, every ``tile.dot`` has at least
    ``DOT_ROWS_PER_WARP`` rows (M) a warp."""
    rows = sorted(
        {
            t.block_of(op.lhs).dims[-2]
            for m in modules
            for op in m.walk()
            if isinstance(op, t.DotOp) and t.block_of(op.lhs).dims[-2].startswith("block_")
        }
    )
    if not rows:
        return []
    names = [f"block_sizes[{int(d.split('_')[1])}]" for d in rows]

    def enough_rows(flat: Any) -> bool:
        warps = flat["num_warps"]
        return warps < DOT_ROWS_FROM_WARPS or all(
            flat[n] >= DOT_ROWS_PER_WARP * warps for n in names
        )

    return [
        Predicate(
            "dot_rows_per_warp",
            enough_rows,
            f"from {DOT_ROWS_FROM_WARPS} warps on, each tl.dot needs at least "
            f"{DOT_ROWS_PER_WARP} rows (M) a warp: M >= {DOT_ROWS_PER_WARP} x num_warps",
            # Listed so that a violation names them; num_warps is not a repair (it is read).
            names,
        )
    ]


def _block_values(flat: Any, count: int) -> dict[str, int]:
    """A drawn point's ``block_sizes[i]`` knobs as the IR's block symbols."""
    return {f"block_{i}": flat[f"block_sizes[{i}]"] for i in range(count)}


def _shared_memory_constraint(modules: list[Any], count: int, knobs: list[Any]) -> list[Any]:
    """Shared memory (``backends/triton/shared_memory/``) must fit the device's limit: the
    pipelined ``tile.dot`` operand tiles (num_stages, or a loop's range_num_stages, copies, times its
    range_unroll_factors), the tiles of tensor-descriptor loads and stores (the ``indexing``
    knobs; a chunk loop's tile is rows x its ``reduction_loops`` chunk), loads of loops with
    range_num_stages, and the scratch of row reductions (``num_warps``)."""
    made = _shared_memory_estimate(modules, count, knobs)
    if made is None:
        return []
    estimate, deps = made
    limit = shared_memory_limit()
    return [
        Predicate(
            "shared_memory",
            lambda flat: estimate(flat) <= limit,
            f"the tiles each loop loads for tl.dot (times its pipeline stages and unroll "
            f"factor), tensor-descriptor tiles and reduction scratch must fit {limit:,} bytes "
            f"of shared memory",
            deps,
        )
    ]


def _shared_memory_estimate(
    modules: list[Any], count: int, knobs: list[Any]
) -> tuple[Callable[[Any], int], list[str]] | None:
    """(bytes of shared memory a drawn point takes, the knobs that repair it); None when the
    kernels take none."""

    if not any(may_take_shared_memory(m) for m in modules):
        return None
    estimators = [shared_memory_estimator(m) for m in modules]
    names = {k.name for k in knobs}
    loops = sequential_loops(modules[0]) if len(modules) == 1 else []
    fields = ("range_num_stages", "range_unroll_factors", "range_multi_buffers", "range_flattens")
    per_loop = {
        f: [(f"{f}[{i}]", sym) for i, sym in enumerate(loops) if f"{f}[{i}]" in names]
        for f in fields
    }

    def listed(field: str) -> list[str]:
        found = sorted(int(n[len(field) + 1 : -1]) for n in names if n.startswith(f"{field}["))
        return [f"{field}[{i}]" for i in found]

    indexing, reduction = listed("indexing"), listed("reduction_loops")

    def estimate(flat: Any) -> int:
        bs = _block_values(flat, count)
        loop_knobs = [
            {sym: flat[n] for n, sym in per_loop[f] if flat[n] is not None} for f in fields
        ]
        extra = {
            # As ConfigSpace.to_config builds the Config: no knobs, no field (the defaults).
            "indexing": [flat[n] for n in indexing] if indexing else None,
            "reduction_loops": [flat[n] for n in reduction] if reduction else None,
            "num_warps": flat["num_warps"],
            "pid_type": flat["pid_type"] if "pid_type" in names else None,
        }
        return max(est(bs, flat["num_stages"], *loop_knobs, **extra) for est in estimators)

    # num_warps only sizes the small reduction scratch: shrinking it is no repair (it is read,
    # not listed, so the repair halves block sizes instead).
    deps = [f"block_sizes[{i}]" for i in range(count)] + ["num_stages"]
    deps += [n for f in fields for n, _ in per_loop[f]] + indexing + reduction
    return estimate, deps


def shared_memory_estimate(
    kernel: Kernel, args: Sequence[Any], kwargs: dict[str, Any] | None = None
) -> Callable[[Config], int]:
    """The config space's shared-memory estimate (bytes) for these arguments, as a function
    of a config (0 for kernels that take none): what the ``shared_memory`` constraint compares
    with the device's limit, and benchmarks compare with Triton's figure. The kernel is traced
    once, here."""
    modules = kernel.traced_modules(args, kwargs or {})
    space = build_space(kernel, modules)
    blocks = [k for k in space.names if k.startswith("block_sizes[")]
    made = _shared_memory_estimate(modules, len(blocks), list(space.knobs))
    if made is None:
        return lambda config: 0
    return lambda config: made[0](space.to_flat(config))


def _range_knobs(modules: list[Any]) -> tuple[list[Any], list[Any]]:
    """Helion's loop knobs, one entry per sequential tile.for (``backends/triton/loop_knobs.py``), for
    the ``tl.range`` keyword arguments the installed Triton has."""
    import inspect

    import triton.language as tl

    if len(modules) != 1:
        return [], []  # one list per kernel launch would be ambiguous
    loops = sequential_loops(modules[0])
    if not loops:
        return [], []
    params = inspect.signature(tl.range).parameters
    fields: list[tuple[str, Any]] = []
    if "loop_unroll_factor" in params:
        fields.append(("range_unroll_factors", lambda n: IntKnob(n, 0, 4, 0)))
    if "num_stages" in params:
        fields.append(("range_num_stages", lambda n: IntKnob(n, 0, 4, 0)))
    bools = lambda n: ChoiceKnob(n, [None, False, True], None)  # noqa: E731
    if "disallow_acc_multi_buffer" in params:
        fields.append(("range_multi_buffers", bools))
    if "flatten" in params:
        fields.append(("range_flattens", bools))
    if "warp_specialize" in params and _warp_specialize_device():
        fields.append(("range_warp_specializes", bools))
    knobs = [make(f"{field}[{i}]") for field, make in fields for i in range(len(loops))]
    constraints: list[Any] = []
    if any(field == "range_warp_specializes" for field, _ in fields):
        names = [f"range_warp_specializes[{i}]" for i in range(len(loops))]
        unroll = [f"range_unroll_factors[{i}]" for i in range(len(loops))]
        has_unroll = any(field == "range_unroll_factors" for field, _ in fields)

        def one_warp_specialized(flat: Any) -> bool:
            on = [i for i, n in enumerate(names) if flat[n] is True]
            if len(on) > 1:
                return False
            return not (on and has_unroll and flat[unroll[on[0]]] > 1)

        constraints.append(
            Predicate(
                "one_warp_specialized_loop",
                one_warp_specialized,
                "at most one loop is warp-specialized, and it is not unrolled",
                names,
            )
        )
    return knobs, constraints


def _warp_specialize_device() -> bool:
    """Warp specialization of loops: Blackwell (sm_100) and later, as Helion offers it."""

    if interpreting() or not torch.cuda.is_available():
        return False
    return torch.cuda.get_device_capability() >= (10, 0)


def _indexing_knobs(
    kernel: Kernel, modules: list[Any], knobs: list[Any]
) -> tuple[list[Any], list[Any]]:
    """``indexing[i]`` per load/store in program order: the modes both the IR
    (``passes/indexing.py``) and the installed Triton allow; a tensor descriptor whose last dim
    is tiled needs a block of >= 16 bytes (a constraint on that block size). No descriptor on
    a tensor the launcher's guard refuses (``indexing.refused_args``: a stride-0 dim, a last
    stride other than 1): that launch runs the pointer kernel, a config already in the space."""

    if len(modules) != 1:
        return [], []
    supported = supported_modes()
    names = {k.name for k in knobs}
    found = sites(modules[0])
    refused = refused_args(modules[0])
    out: list[Any] = []
    constraints: list[Any] = []
    for s in found:
        modes = [m for m in s.modes if m in supported]
        if s.tensor in refused and "tensor_descriptor" in modes:
            # The launch would run the pointer kernel: the all-pointer config again.
            modes.remove("tensor_descriptor")
        knob = f"indexing[{s.index}]"
        if "tensor_descriptor" in modes and s.last_block is not None and s.elem_bytes:
            blk = s.last_block
            fixed = kernel.blocks.fixed.get(blk)
            bs = f"block_sizes[{blk.split('_')[1]}]" if blk.startswith("block_") else ""
            if fixed is not None or bs not in names:
                if fixed is None or fixed * s.elem_bytes < TMA_MIN_BYTES:
                    modes.remove("tensor_descriptor")
            else:
                need = -(-TMA_MIN_BYTES // s.elem_bytes)

                def wide_enough(
                    flat: Any, knob: str = knob, bs: str = bs, need: int = need
                ) -> bool:
                    return flat[knob] != "tensor_descriptor" or flat[bs] >= need

                constraints.append(
                    Predicate(
                        f"tma_last_dim[{s.index}]",
                        wide_enough,
                        f"a tensor descriptor's last dim needs >= {TMA_MIN_BYTES} bytes "
                        f"({bs} >= {need})",
                        [knob, bs],
                    )
                )
        out.append(ChoiceKnob(knob, modes, "pointer"))
    if all(len(k.values) == 1 for k in out):
        return [], []  # pointers only: no knob
    constraints.append(_descriptor_scratch_constraint(modules[0], [k.name for k in out], knobs))
    return out, constraints


def _descriptor_scratch_constraint(module: Any, indexing: list[str], knobs: list[Any]) -> Any:
    """In-kernel tensor descriptors' scratch (programs x descriptors x 128 B) must stay
    addressable at the tuned shape; at other shapes the launcher's guard
    (backends/triton/indexing.py) falls back to pointers."""

    kernel = next(op for op in module.ops if isinstance(op, t.KernelOp))
    hints = kernel.size_hints
    extents: list[tuple[str, int]] = []
    for loop in kernel.parallel_nest():
        ub = t.static_bound(loop.ub)
        if isinstance(ub, str):
            extents.append((loop.block.data, hints.get(ub, 1)))
        elif isinstance(ub, int):
            extents.append((loop.block.data, ub))
    blocks = [k.name for k in knobs if k.name.startswith("block_sizes[")]

    def fits(flat: Any) -> bool:
        descriptors = sum(1 for k in indexing if flat[k] == "tensor_descriptor")
        if not descriptors:
            return True
        bs = _block_values(flat, len(blocks))
        programs = 1
        for block, extent in extents:
            step = int(block) if block.isdigit() else bs.get(block, 1)
            programs *= -(-extent // max(1, step))
        return programs * descriptors * DESCRIPTOR_SCRATCH_BYTES < SCRATCH_LIMIT

    return Predicate(
        "tma_scratch",
        fits,
        f"in-kernel tensor descriptors take {DESCRIPTOR_SCRATCH_BYTES} B of scratch per program "
        f"each; the launch's scratch must stay under {SCRATCH_LIMIT:,} B (32-bit offsets)",
        [*indexing, *blocks],
    )


def _parallel_depth(module: Any) -> int:
    """How many nested parallel loops the kernel's launch grid has."""

    return max((len(k.parallel_nest()) for k in module.ops if isinstance(k, t.KernelOp)), default=0)


def _reduction_knobs(modules: list[Any]) -> list[Any]:
    """``reduction_loops[i]``: keep whole dim i in registers (None) or loop over chunks."""

    if len(modules) != 1:
        return []  # one list per kernel launch would be ambiguous; keep registers
    module = modules[0]
    hints: dict[str, int] = {}
    for k in module.ops:
        if isinstance(k, t.KernelOp):
            hints = k.size_hints
    knobs = []
    for i, d in enumerate(reduction_dims(module)):
        n = hints.get(d, int(d) if d.isdigit() else 0)
        if n <= 256:
            break  # later entries would have no index; small dims stay in registers
        chunks = [None] + [1 << k for k in range(8, 16) if (1 << k) < n]
        knobs.append(ChoiceKnob(f"reduction_loops[{i}]", chunks, default_reduction_chunk(n)))
    return knobs


def tuning_spec(args: Sequence[Any], kwargs: dict[str, Any], space: Any) -> str:
    """What a tuned config depends on besides the kernel's source, device and versions: each
    argument (a tensor by shape, dtype, strides and device type; anything else by repr; keyword
    arguments by name), the config space searched (its knobs, domains, constraints and
    default, so a space that changed shape never serves a config drawn from the old one), and
    the settings that change the generated code (index checks, dot precisions, tail peeling:
    a config tuned for the checked code is not the unchecked code's best)."""

    def one(a: Any) -> Any:
        if isinstance(a, torch.Tensor):
            return (tuple(a.shape), str(a.dtype), tuple(a.stride()), a.device.type)
        return repr(a)

    spec = (
        tuple(one(a) for a in args),
        tuple(sorted((k, one(v)) for k, v in kwargs.items())),
        repr(space),
        repr(space.default()),
        settings.current().codegen_key(),
    )
    return repr(spec)


def output_scale(t: torch.Tensor) -> float:
    """The size of an output's values: the mean magnitude of its finite elements (1.0 for
    integer, empty or all-non-finite outputs, which are compared exactly or by their pattern).

    Absolute tolerances are multiplied by it. A sum of K terms of size ~s carries errors
    ~eps * s whatever its own size, so near-zero elements of a large output fail any purely
    relative check; and an output whose values are all small (a softmax row of N columns is
    ~1/N) passes any fixed absolute floor with any content, zeros included."""
    if not t.is_floating_point() or t.numel() == 0:
        return 1.0
    finite = t.float()
    finite = finite[torch.isfinite(finite)]
    return float(finite.abs().mean()) if finite.numel() else 1.0


def outputs_match(got: torch.Tensor, want: torch.Tensor) -> bool:
    """The tuner's correctness gate: a candidate's output against the default config's.

    Half-precision outputs are rounded once per element, so they may differ by about one
    rounding (1e-2 relative); others by float32 summation-order noise (1e-4). The absolute
    part of the tolerance scales with ``output_scale(want)``."""
    if got.shape != want.shape or got.dtype != want.dtype:
        return False
    if not got.is_floating_point():
        return torch.equal(got, want)
    tol = 1e-2 if got.dtype in (torch.float16, torch.bfloat16) else 1e-4
    return torch.allclose(
        got.float(), want.float(), atol=tol * output_scale(want), rtol=tol, equal_nan=True
    )


def _outputs(result: Any) -> list[torch.Tensor]:
    if isinstance(result, torch.Tensor):
        return [result]
    if isinstance(result, (tuple, list)):
        return [r for r in result if isinstance(r, torch.Tensor)]
    return []


def _timer(fn: Callable[[], Any]) -> float:
    if torch.cuda.is_available():
        import triton.testing

        return float(triton.testing.do_bench(fn, warmup=5, rep=20, return_mode="median"))
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e3


_LOC = re.compile(r'loc = "[^"]*"')


def kernel_hash(source: str, modules: Sequence[Any]) -> str:
    """Digest of a kernel's Python source and its traced IR, the cache key's kernel part.

    The IR adds what the source text does not show (module constants, helper functions,
    frontend changes within one kcompiler version). Source locations are blanked, so moving
    a kernel within or between files keeps its tuning results.
    """
    h = hashlib.sha256(source.encode())
    for module in modules:
        h.update(b"\0" + _LOC.sub('loc = ""', str(module)).encode())
    return h.hexdigest()


# Spill allowance (bytes a thread) of kernels with tile.dot: a tensor-core tile's ptxas
# schedule may park a few registers of its epilogue or address arithmetic in local memory at no
# measurable cost, while a spilled accumulator costs far more than this. Kernels without a dot
# get none: their registers hold the tile and nothing else.
DOT_SPILL_ALLOWANCE = 256


def device_target() -> str | None:
    """The compile target of this process's GPU (``"sm_90"`` on an H100/H200), or None when
    kernels run on Triton's interpreter or no CUDA device is visible."""

    if interpreting() or not torch.cuda.is_available():
        return None
    major, minor = torch.cuda.get_device_capability()
    return f"sm_{major}{minor}"


class KernelTarget:
    """A TuningTarget for one kernel and one set of arguments.

    Spill-aware wherever a config is compiled for a GPU before its benchmark: ptxas's figures
    come back with the precompile job, ``review_compile`` reads them, and a config spilling
    more than ``spill_allowance`` bytes a thread (default: none without ``tile.dot``,
    ``DOT_SPILL_ALLOWANCE`` with it) is rejected, and cached as rejected, before any
    benchmark. The compile is one the tuner makes anyway: on a CUDA device the local workers
    compile each config for the device (``backends/triton/precompile.py``, whose figures come
    from the ptxas log of that compile); with an explicit ``compile_target``, or a compile
    backend on other machines (``ship_binaries``), the job is a target compile
    (``backends/triton/target_compile.py``). ``KCOMPILER_SPILL_CHECK=0`` turns the check off
    on the device (an explicit ``compile_target`` keeps it). On the interpreter nothing is
    compiled and nothing is checked: the job only checks the generated module."""

    def __init__(
        self,
        kernel: Kernel,
        args: Sequence[Any],
        kwargs: dict[str, Any],
        compile_target: str | None = None,
        spill_allowance: int | None = None,
        ship_binaries: bool = False,
    ):
        """``ship_binaries``: the compile jobs return the binaries' files with the figures,
        for a compile backend on other machines (Ray); ``receive_compile`` installs them in
        this process's Triton cache. Local workers share that cache, so only figures return."""
        self.kernel = kernel
        self.ship_binaries = ship_binaries
        self.args = args
        self.kwargs = kwargs
        self.name = kernel.fn.__name__
        self.bound = kernel.bind(*args, **kwargs)
        modules = self.bound.traced_modules()
        self.space = build_space(kernel, modules)
        own = device_target() if settings.current().spill_check else None
        # Workers on other machines have no GPU: they compile for the device's target.
        self.compile_target = compile_target or (own if ship_binaries else None)
        # The target whose spills are checked: the compile target, else the device the local
        # workers compile for.
        self.spill_target = self.compile_target or own
        if spill_allowance is None:
            spill_allowance = DOT_SPILL_ALLOWANCE if _first_dot(modules) is not None else 0
        self.spill_allowance = spill_allowance
        self.compile_env: dict[str, str] | None = None
        if self.compile_target is not None:
            parse_target(self.compile_target)
            self.compile_env = worker_environment()
        default = self.space.default()
        self.reference = [o.clone() for o in _outputs(self.bound.run(default))]
        device = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu-interpreter"
        spec = tuning_spec(args, kwargs, self.space)
        if self.spill_target is not None:  # rejections depend on the target and allowance
            spec += f"|spills<={self.spill_allowance}@{self.spill_target}"
        self.cache_key = make_key(
            kernel_hash(kernel.program.source, modules), spec, device, library_versions()
        )

    def precompile_job(self, config: Config) -> tuple[Callable[..., object], tuple] | None:
        """The config's Triton compiles as a worker job: the host code runs with a launch hook
        that generates each loop's code and records the kernel call its launcher would make,
        launching nothing. With a compile target, the job compiles GPU code for it
        (backends/triton/target_compile.py); otherwise it compiles for this process's device,
        or only builds the module on the interpreter (backends/triton/precompile.py). Either
        compile returns ptxas's figures."""
        if self.compile_target is not None:
            specs = launch_specs(self.kernel, self.args, self.kwargs, config)
            # Local workers leave the binaries in this machine's Triton cache: only the
            # figures come back. Workers elsewhere send the files too (ship_binaries).
            job = (specs, self.compile_target, self.ship_binaries)
            return (compile_launches, job) if specs else None

        launches = self.bound.generated_launches(config)
        return job_for_launches(launches, interpret=interpreting())

    def review_compile(self, config: Config, result: Any) -> str | None:
        """Why ``config`` must not be benchmarked after its compile: a launch that did not
        compile for the target or takes more shared memory than it has (Triton's figure), or
        one spilling more than the allowance. None when the spill check is off."""
        if self.spill_target is None:
            return None
        for binary in self.binaries(result):
            if binary.error is not None:
                return f"{binary.kernel_name} does not compile for {binary.target}: {binary.error}"
            if binary.spill_bytes is not None and binary.spill_bytes > self.spill_allowance:
                return (
                    f"{binary.kernel_name} spills {binary.spill_bytes} bytes a thread on "
                    f"{binary.target} ({binary.registers} registers; allowance "
                    f"{self.spill_allowance})"
                )
        return None

    def binaries(self, result: Any) -> list[TargetBinary]:
        """A precompile job's result as one ``TargetBinary`` a launch: a target compile's
        records as they are, a device compile's figures (``precompile.launch_figures``)."""
        if isinstance(result, list):
            return result
        target = str(self.spill_target)
        # Triton's shared memory over the device's limit: the first launch would raise
        # OutOfResources, so the config is rejected before its benchmark.
        return [
            TargetBinary(
                f["kernel_name"],
                target,
                None,
                f["registers"],
                f["spill_bytes"],
                f["shared_bytes"],
                0.0,
                over_shared_memory(f["shared_bytes"], target),
            )
            for f in launch_figures(result)
        ]

    def receive_compile(self, config: Config, result: Any) -> None:
        """Install the config's binaries in this process's Triton cache unless they are
        there already: a compile worker on another machine (the Ray backend) filled its own
        cache, and without them the benchmark's first launch would compile again here."""
        if self.compile_target is None or not result:
            return
        from triton import knobs

        for binary in result:
            if binary.ok and binary.cache_hash is not None and binary.files:
                entry = Path(knobs.cache.dir) / cache_entry_name(binary.cache_hash)
                if not any(entry.glob("__grp__*.json")):
                    install(binary)

    def benchmark(self, config: Config) -> float:
        run = self.bound.run
        out = _outputs(run(config))
        for got, want in zip(out, self.reference, strict=True):
            if not outputs_match(got, want):
                raise WrongResult(f"{self.name}: output differs from the default config's")
        return _timer(lambda: run(config))


def autotune(
    kernel: Kernel,
    args: Sequence[Any],
    kwargs: dict[str, Any] | None = None,
    *,
    effort: str | None = None,
    strategy: str | None = None,
    budget_s: float | None = None,
    compile_target: str | None = None,
    spill_allowance: int | None = None,
    **tuner_options: Any,
) -> TuneResult:
    """Tune ``kernel`` at these arguments. ``compile_target`` (e.g. ``"sm_90"``; default: the
    CUDA device's) makes the search spill-aware: see ``KernelTarget``."""
    remote = compile_backend(tuner_options.get("compile_backend")) != "local"
    target = KernelTarget(kernel, args, kwargs or {}, compile_target, spill_allowance, remote)
    tuner = Tuner(target, **tuner_options)
    return tuner.tune(strategy=strategy, effort=effort, budget_s=budget_s)


__all__ = [
    "DOT_SPILL_ALLOWANCE",
    "ELEMENTS_PER_THREAD",
    "KernelTarget",
    "autotune",
    "build_space",
    "device_target",
    "kernel_hash",
    "output_scale",
    "shared_memory_estimate",
    "outputs_match",
    "tuning_spec",
]
