"""Estimated shared memory of one program: the buffers Triton allocates in shared memory.

A config whose total exceeds the device's per-block limit
(``target.current().shared_memory_per_block``) fails to compile ("out of resource: shared
memory"), so the derived space excludes it and the backend rejects it naming the knobs. The
estimate is meant to be an upper bound of Triton's figure (``metadata.shared``) that is as
tight as the IR and the config allow: too low lets failing configs through, too high excludes
good ones.

Triton's allocation is the peak, over the program, of the buffers live at once: explicit ones
(``ttg.local_alloc``: dot operands, pipelined loads, tensor-descriptor buffers), which live
from their allocation to their last use, and the scratch of one operation at a time
(reductions and layout conversions). The rules below were read off the TTGIR of Triton 3.9's
sm_90 compiles of the bundled kernels' drawn configs (benchmarks/spill_report.py,
benchmarks/results/cpu/spills-sm90*.md); those marked 3.6 come from Triton 3.6 on an H100
(benchmarks/results/h100/shared_memory_calibration.md and the refusals of
tests/backends/test_shared_memory_tma.py) and apply to Triton before 3.9
(``TRANSIENT_TMA_BUFFERS``).

Dot operands (``tl.dot``), in the dtype they are loaded in:

* a dot of M rows, M a multiple of 64, at whole warp groups runs as wgmma: a loop keeps
  ``stages`` copies of each operand it loads (``range_num_stages``, else ``num_stages``),
  and reads a computed left operand (attention's ``p``) from registers;
* otherwise mma v2 reads both operands into registers, which hold one stage: ``stages - 1``
  copies (at least one), and a computed operand is staged once;
* an unrolled pipelined loop keeps its copies per unrolled body and one more (its
  remainder's); operands loaded outside loops take one buffer each, for the whole program;
* in a one-stage loop the operands of different dots are not live together (attention's K
  and V), and (3.9) mma v2 reads a tensor-descriptor left operand, and an fp8 operand it
  widens to fp16, into registers right after staging it, before the other operand is
  staged (the larger of the two);
* ``range_multi_buffers`` adds nothing on Hopper (the accumulator stays in registers); 3.6
  could add the accumulator's tile, and kept ``stages`` copies for mma v2 too;
* the epilogue runs after the loop and reuses its memory: (3.9) a tensor-descriptor load
  there (a bias row) with its barrier, beside only the resident operands and a persistent
  kernel's kept store; the result's tile, staged for a tensor-descriptor store, or
  converted from the mma layout for a pointer store through a swizzled tile that may take
  several rounds (``mma_conversion.py``); a persistent
  kernel (``pid_type``) at ``num_stages`` >= 2 keeps its descriptor store's buffer allocated
  next to the loop's: Triton places buffers largest first (ties in program order, where the
  kept store, allocated before the loop, comes first), so a store at least as large as each
  operand buffer lies below them and a smaller one above them all, at its NVMMA layout's
  alignment (8 rows of its swizzle width: 512 bytes for 64-byte rows).

Other loads and stores:

* a tensor-descriptor load or store lands in shared memory (a load with an 8-byte mbarrier),
  only where the launch takes a descriptor: no element-wise mask, a last dim of at least 16
  bytes, and a block no larger than the tensor at the traced sizes (otherwise the launcher
  runs the pointer kernel for all of them, ``indexing.descriptor_check``); buffers are then
  padded to TMA's 128-byte alignment, and a config with a descriptor takes at least 128 bytes;
* outside loops, and (3.9) in an unpipelined loop, one descriptor buffer is live at a time
  (a load's is read into registers, a store's drained before the next), though each load's
  barrier may stay beside it: Triton places buffers largest first, so the 8-byte barriers
  follow the last tile's own bytes (inside its padding to TMA's alignment), except where a
  store's buffer allocated before the loop lives through it: first-fit placement puts that
  small long-lived buffer above the loop's barriers, at TMA's alignment, so each barrier
  then takes 128 bytes; 3.6 kept a loop's buffers together;
* (3.9) at ``num_stages`` >= 2 a descriptor store in a loop is hoisted out of it, so one
  iteration's store drains while the next computes: its buffer lives through the program;
* (3.9) a descriptor store outside loops gets its buffer where its value is defined
  (Triton's instruction reordering moves the allocation up to it) unless an operation with
  known memory writes lies between: a descriptor load, another store, a loop whose stores
  all use pointers (a loop with a descriptor store does not stop it). The buffer then lives
  through the loops between and beside their scratch; otherwise it is allocated at the
  store, after them;
* a loop with ``range_num_stages`` >= 2 pipelines every load (pointer ones through cp.async):
  (3.9) ``stages - 1`` copies per unrolled body (one stage is in registers), a pointer
  load's copies in one buffer (aligned as a whole, not per copy); an unrolled outer loop
  runs its copies of the inner loop one after another; 3.6: ``stages x unroll`` copies (+ 1
  when unrolled); (3.9) a descriptor load of a tile under 128 bytes is not pipelined (one
  buffer at a time, as in an unpipelined loop);
* (3.9) in a kernel without dot operands, the buffers a loop keeps live through it (its
  pipelined copies, its largest unpipelined descriptor tile, its barriers) are placed
  largest first, each at its own alignment above the last: 16 bytes for a pointer load's
  copies (cp.async), TMA's 128 for a descriptor tile, 8 for a barrier; a loop with a store's
  buffer hoisted out of it or allocated before it is counted as a sum of 128-byte units;
* buffers of different top-level loops are never live together; pointer loads elsewhere stay
  in registers.

Scratch (an operation's temporary buffer, live only while it runs; the largest is counted):

* a reduction whose rows spread over several warps moves its warps' partial results into
  lanes through shared memory (kernels without ``tl.dot``: the mma layout keeps a dot
  result's row in one warp). Triton 3.9 does it as a swizzled layout conversion that may
  take several rounds through the same tile; ``blocked_layout.py`` models the operand's
  blocked layout (coalesced along the dim its loads read contiguously: 16-byte vectors, at
  most elements / threads; a gather whose index steps by one along its last dim reads that
  dim contiguously) as bases of bits and counts the tile's elements over its rounds;
* a load or store of fewer dims than the block it is combined with (each block of more
  dims holding its dims in its region may be one: the largest such conversion counts), and
  a reduction's result, move between a blocked layout of their own and the slice of the
  block's layout,
  when the two differ in what a lane or warp holds (the same swizzled tile; none where
  every warp keeps its elements and the lanes trade one bit with the registers: warp
  shuffles, ``blocked_layout.warp_shuffle``); a load of fewer elements than the program's
  threads is instead repeated in its users' layouts (Triton's rematerialization), unless
  it has several users and bounds a jagged loop (when every jagged loop's block is one
  element, such a load moves at most 4 bytes an element, at more than one warp); a load
  whose own layout every warp holds whole moves into a slice within each warp when its lane
  and register bits pass the warp-shuffle test; a value accessed at its
  full width (64-bit indices) keeps that access's vector, a narrower index widened to 64
  bits may keep its load's; in a dot kernel, one
  after the loops holding its dots (a bias row added to the result) reuses their freed
  buffers; a reduction's result is converted only where it is used with a block of another
  shape at the config's sizes (a second loop's tile of the same size has the same layout)
  that a pointer access lays out (a block read and written only through tensor descriptors
  is loaded into whatever layout its users have: the reduced row's);
  and a gather's index tile, whose bounds check reduces it; (3.9) in a jagged loop nest
  flattened into one pipelined loop whose jagged block is one element wide, the load's
  rows x 1 mask, converted to the load's layout beside its copies; a value stored after an
  inner loop whose tile has fewer elements than the program's threads (such a load anchors
  no layout, so the accumulator takes the store's), converted in that loop, beside its
  copies;
* scratch starts at a 128-byte boundary after the buffers live beside it: dot operands,
  hoisted buffers, the pipelined copies of the loops it runs in (a pipelined loop's buffers
  are allocated before it and freed after it: a conversion after an inner loop reuses
  them), and a store's buffer allocated before the loop or reduction; an unpipelined
  descriptor load's buffer is read into registers and its barrier invalidated before its
  value is used, and an unpipelined loop's store buffer is allocated once its value is
  computed and drained within the iteration; a reduced row used in a later loop is
  invariant there, so its conversion runs before that loop, ahead of the store buffer
  hoisted out of it.

Loads and stores are counted on the IR as ``split-reductions`` rewrites it for the config's
``reduction_loops`` (a chunk loop's tile is rows x chunk), with the config's ``indexing``;
a descriptor on a tensor with a stride-0 dim or a last stride other than 1 (``tile.kernel``'s
``broadcast_args`` and ``strided_args``) makes the launcher take the pointer kernel. A loop
nest flattened from an outer loop (``range_flattens``) is one loop, pipelined at the most
stages its loops ask for.

What stays loose (an upper bound only; benchmarks/results/cpu/spills-sm90-notes.md has the
figures): the operand buffers of some one-stage
mma v2 loops, which Triton does not keep together; pipelined copies of unrolled loops; a
few bytes of conversions at one warp; descriptor stores that a pipelined loop does not
hoist; and launches that take the pointer kernel for a reason the IR does not show (a
misaligned base or stride: the estimate counts the descriptor kernel's buffers).

The package, by job (each module's docstring says which rules it keeps):

* ``ir_walk``, ``access_facts``, ``scratch_facts``, ``facts``: what the traced IR says, once
  per module and ``reduction_loops`` value (``KernelFacts``): dot operands, other loads and
  stores as tiles, descriptor facts, reductions, layout conversions, gathers' bounds checks,
  jagged row masks;
* ``config_view``: a config's knobs as the rules read them, and which accesses take a
  descriptor;
* ``operands``, ``loop_buffers``, ``scratch``: the bytes each kind of buffer takes at a
  config;
* ``alignment``, ``placement``: where buffers lie (stacking, alignment, reuse of freed
  memory), hence the peak;
* ``estimate``: the phases in order, and the public entry points; ``constants``: the sizes,
  alignments and Triton version the rules share.
"""

from __future__ import annotations

from kcompiler.backends.triton.shared_memory.access_facts import (
    Access,
    MemoryTile,
    SharedBuffer,
    StoreSpan,
    memory_tiles,
    shared_buffers,
)
from kcompiler.backends.triton.shared_memory.alignment import round_up
from kcompiler.backends.triton.shared_memory.constants import (
    CP_ASYNC_ALIGN,
    SCRATCH_ALIGN,
    TMA_BARRIER_BYTES,
    TMA_MIN_SHARED,
    TRANSIENT_TMA_BUFFERS,
    WARP_GROUP,
    WGMMA_ROWS,
)
from kcompiler.backends.triton.shared_memory.estimate import (
    SharedMemoryEstimator,
    shared_memory_bytes,
    shared_memory_estimator,
    shared_memory_of_config,
)
from kcompiler.backends.triton.shared_memory.facts import KernelFacts, may_take_shared_memory
from kcompiler.backends.triton.shared_memory.scratch_facts import Conversion, Reduction

__all__ = [
    "CP_ASYNC_ALIGN",
    "SCRATCH_ALIGN",
    "TMA_BARRIER_BYTES",
    "TMA_MIN_SHARED",
    "TRANSIENT_TMA_BUFFERS",
    "WARP_GROUP",
    "WGMMA_ROWS",
    "Access",
    "Conversion",
    "KernelFacts",
    "MemoryTile",
    "Reduction",
    "SharedBuffer",
    "SharedMemoryEstimator",
    "StoreSpan",
    "may_take_shared_memory",
    "memory_tiles",
    "round_up",
    "shared_buffers",
    "shared_memory_bytes",
    "shared_memory_estimator",
    "shared_memory_of_config",
]
