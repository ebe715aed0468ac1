"""Registers a thread needs for the block values a program holds at once (liveness).

A block value of ``E`` elements spread over ``T`` threads takes ``max(1, E / T)`` registers of
32 bits a thread (a value smaller than the program is replicated), times its element width
(``max(2, bytes) / 4``: 16-bit values pack two to a register, 64-bit ones take two). Only the
values alive at one program point compete for registers, so the estimate is the largest sum
over program points of the values defined before the point and used at or after it:

* in a block of ops, a value lives from its definition to its last use (a ``tile.reshape`` is a
  view: its uses are its operand's, and it takes no registers of its own); a use by an op that
  holds regions (a ``tile.for``) counts at that op, so values a loop reads from outside stay
  alive through the loop;
* at an op with regions, the values alive around it add to the largest point inside each of
  its regions (its block arguments, a loop's carried values, are alive from the region's start;
  the initial values handed to them and the loop's results share their registers);
* a loop body that unrolling (``range_unroll_factors``) or software pipelining
  (``range_num_stages``) keeps several iterations of in flight counts that many times.

Values that are not blocks of rank >= 1 (scalars, tiles, tensors) take a register or two and
are left out.

``LiveRegisters`` applies this to a config space's drawn points; the rule that compares it
with ``thread_registers`` lives with the space (``runtime/tuning.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

from xdsl.ir import Block, Operation, SSAValue

from kcompiler import target
from kcompiler.backends.triton.blocks import block_elements
from kcompiler.backends.triton.loop_knobs import sequential_loops
from kcompiler.dialects import tile as t
from kcompiler.passes.indexing import element_bytes
from kcompiler.passes.split_reductions import apply_reduction_loops

__all__ = ["LiveRegisters", "gather_registers", "peak_registers", "thread_registers"]


def _width(value: SSAValue) -> float:
    """32-bit registers one element of ``value`` takes (i1 and 16-bit: half of one)."""
    size = element_bytes(value.type.element_type) or 1  # type: ignore[union-attr]
    return max(2, size) / 4


def peak_registers(
    module: Operation,
    block_sizes: Mapping[str, int],
    threads: int,
    copies: Mapping[str, int] | None = None,
    staged_dot_operands: bool = True,
) -> float:
    """The largest number of 32-bit registers a thread of ``threads`` needs for the block
    values alive at one point of any kernel of ``module`` (the module docstring), at these
    block sizes. ``copies`` maps a loop's block symbol to the iterations kept in flight."""
    copies = copies or {}
    staged = staged_dot_operands
    peak = 0.0
    for kernel in module.walk():
        if isinstance(kernel, t.KernelOp):
            hints = kernel.size_hints
            for region in kernel.regions:
                for block in region.blocks:
                    peak = max(
                        peak, _block_peak(block, hints, block_sizes, threads, copies, staged)
                    )
    return peak


def _registers(
    value: SSAValue, hints: Mapping[str, int], sizes: Mapping[str, int], threads: int
) -> float:
    ty = value.type
    if not isinstance(ty, t.BlockType) or not ty.known or ty.rank == 0:
        return 0.0  # scalars: a register or two, often uniform ones
    elements = block_elements(tuple(ty.dims), dict(hints), dict(sizes))
    return max(1.0, elements / threads) * _width(value)


def _is_view(value: SSAValue) -> bool:
    """A ``tile.reshape`` result: the same registers as its operand, under other dims."""
    return isinstance(value.owner, t.ReshapeOp)


def _uses(value: SSAValue) -> list[Operation]:
    """The ops that read ``value`` directly or through reshapes of it."""
    out: list[Operation] = []
    for u in value.uses:
        op = u.operation
        out += _uses(op.results[0]) if isinstance(op, t.ReshapeOp) else [op]
    return out


def _feeds_dot_only(value: SSAValue) -> bool:
    """Whether every use of ``value`` is as a ``tile.dot`` operand (not its accumulator):
    such tiles are staged through shared memory for the tensor cores, not held a thread."""
    uses = list(value.uses)
    return bool(uses) and all(isinstance(u.operation, t.DotOp) and u.index < 2 for u in uses)


def _block_peak(
    block: Block,
    hints: Mapping[str, int],
    sizes: Mapping[str, int],
    threads: int,
    copies: Mapping[str, int],
    staged: bool,
) -> float:
    """Largest live registers at any point of ``block`` and the regions nested in it."""
    ops = list(block.ops)
    index = {op: i for i, op in enumerate(ops)}

    def position(user: Operation, value: SSAValue) -> int | None:
        # The op of this block that holds ``user`` (itself, or an op whose region has it). A
        # loop's initial carried value is handed to the loop (its block argument, counted
        # inside): it dies just before the loop.
        if user in index and isinstance(user, t.ForOp) and value in user.iter_args:
            return index[user] - 1
        while user is not None and user not in index:
            user = user.parent_op()  # type: ignore[assignment]
        return index.get(user) if user is not None else None

    # (first point, last point, registers) per value defined in this block.
    ranges: list[tuple[int, int, float]] = []
    defined = [(-1, arg) for arg in block.args]
    defined += [(i, r) for i, op in enumerate(ops) for r in op.results]
    for start, value in defined:
        regs = _registers(value, hints, sizes, threads)
        if not regs or _is_view(value) or (staged and _feeds_dot_only(value)):
            continue
        first = max(start, 0)
        if start >= 0 and isinstance(ops[start], t.ForOp):
            first = start + 1  # a loop's results are its carried values, counted inside
        uses = [p for u in _uses(value) if (p := position(u, value)) is not None]
        ranges.append((first, max(uses, default=first), regs))
    peak = 0.0
    for i, op in enumerate(ops):
        alive = sum(r for first, last, r in ranges if first <= i <= last)
        inner = 0.0
        for region in op.regions:
            for sub in region.blocks:
                inner = max(inner, _block_peak(sub, hints, sizes, threads, copies, staged))
        if isinstance(op, t.ForOp):
            inner *= copies.get(op.block.data, 1)
        peak = max(peak, alive + inner)
    return peak


def gather_registers(module: Operation, block_sizes: Mapping[str, int], threads: int) -> float:
    """The registers a thread of ``threads`` holds at the largest gather of ``module`` (a
    ``tile.load`` through a block of computed indices), at these block sizes: the gathered
    values, and for each index element its 64-bit index and the 64-bit address made from it,
    all alive at the load. Unlike an affine load's, a gather's addresses share no base the
    load instruction could offset, so each element of the index block has its own; a
    pipelined loop's gathers land in shared memory, but their addresses are still made in
    registers. ``peak_registers`` leaves the addresses out: affine loads make theirs from
    one base per vector."""
    peak = 0.0
    for kernel in module.walk():
        if not isinstance(kernel, t.KernelOp):
            continue
        hints = kernel.size_hints
        for op in kernel.walk():
            if not isinstance(op, t.LoadOp):
                continue
            kinds = [k.data for k in op.index_kinds]
            if "gather" not in kinds:
                continue
            held = _registers(op.result, hints, block_sizes, threads)
            for index, kind in zip(op.indices, kinds, strict=False):
                if kind == "gather":  # the index and its address: two 64-bit values
                    held += 2 * _registers(index, hints, block_sizes, threads)
            peak = max(peak, held)
    return peak


def thread_registers(num_warps: int) -> int:
    """32-bit registers one thread of a ``num_warps`` program can have: the per-thread maximum
    (counted as 256 where it is 255) or the register file split over the program's threads,
    whichever is fewer (ptxas caps a 1024-thread program at 64)."""
    device = target.current()
    threads = device.warp_size * num_warps
    return min(device.max_registers_per_thread + 1, device.registers_per_sm // threads)


class LiveRegisters:
    """Registers a thread needs for the block values alive at once
    (``backends/triton/live_registers.peak_registers``) at a drawn point, on the IR the point
    generates: its ``reduction_loops`` chunks rewrite the IR first (a chunk the rewrite cannot
    apply leaves the whole dim in registers, as the generated code does), and each sequential
    loop keeps ``range_unroll_factors`` copies of its body in flight plus one iteration's
    values for each software-pipeline stage (``range_num_stages``) beyond the first."""

    def __init__(self, modules: list[Any], count: int, knobs: list[Any]) -> None:
        names = {k.name for k in knobs}
        self.choices = {
            k.name: list(k.values) for k in knobs if k.name.startswith("reduction_loops[")
        }
        self.modules = modules
        self.count = count
        self.loops = sequential_loops(modules[0]) if len(modules) == 1 else []
        self.reduction = sorted(
            (n for n in names if n.startswith("reduction_loops[")),
            key=lambda n: int(n[len("reduction_loops[") : -1]),
        )
        self.rewritten: dict[tuple[Any, ...], list[tuple[Any, dict[str, int]]]] = {}
        self.seen: dict[tuple[Any, ...], float] = {}  # per_thread's answers

    def _modules(self, chunks: tuple[Any, ...]) -> list[tuple[Any, dict[str, int]]]:
        if chunks not in self.rewritten:
            if not any(chunks):
                self.rewritten[chunks] = [(m, {}) for m in self.modules]
            else:
                clone = self.modules[0].clone()
                extra = apply_reduction_loops(clone, list(chunks))
                self.rewritten[chunks] = [(clone, extra)]
        return self.rewritten[chunks]

    @cached_property
    def chunkable(self) -> bool:
        """Whether some ``reduction_loops`` value turns a whole dim into a chunk loop."""
        knobs = [n for n in self.reduction if n in self.choices]
        smallest = tuple(min(v for v in self.choices[n] if v) for n in knobs)
        return bool(smallest) and any(extra for _, extra in self._modules(smallest))

    def chunked(self, flat: Mapping[str, Any]) -> bool:
        """Whether the point's ``reduction_loops`` turn some whole dim into a chunk loop."""
        return any(extra for _, extra in self._modules(tuple(flat[n] for n in self.reduction)))

    def per_thread(self, flat: Mapping[str, Any]) -> float:
        """Registers a thread needs at the drawn point ``flat`` (a space's flat knob dict)."""
        chunks = tuple(flat[n] for n in self.reduction)
        bs = {f"block_{i}": flat[f"block_sizes[{i}]"] for i in range(self.count)}
        copies = {}
        for i, sym in enumerate(self.loops):
            unroll = flat.get(f"range_unroll_factors[{i}]") or 0
            stages = flat.get(f"range_num_stages[{i}]") or 0
            copies[sym] = max(1, unroll) + max(0, stages - 1)
        threads = 32 * flat["num_warps"]
        key = (chunks, tuple(bs.values()), tuple(copies.values()), threads)
        if key not in self.seen:
            self.seen[key] = max(
                peak_registers(m, {**bs, **extra}, threads, copies)
                for m, extra in self._modules(chunks)
            )
        return self.seen[key]
