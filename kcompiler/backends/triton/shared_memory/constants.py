"""The sizes and alignments of Triton's shared-memory buffers on sm_90, and which Triton's rules
the estimate follows: the numbers every part of the estimate agrees on."""

from __future__ import annotations

import importlib.metadata
import re

TMA_BARRIER_BYTES = 8  # one mbarrier per tensor-descriptor load buffer
TMA_MIN_SHARED = 128  # bytes: TMA's alignment of a shared-memory buffer
SCRATCH_ALIGN = 128  # bytes: Triton's alignment of an operation's scratch buffer
CP_ASYNC_ALIGN = 16  # bytes: alignment of a pipelined pointer load's buffer (cp.async)
WGMMA_ROWS = 64  # Hopper's wgmma: M a multiple of 64 rows, a warp group of 4 warps
WARP_GROUP = 4


def _triton_version() -> tuple[int, ...]:
    try:
        text = importlib.metadata.version("triton")
    except importlib.metadata.PackageNotFoundError:
        return (0,)
    return tuple(int(p) for p in re.findall(r"\d+", text)[:2])


# Triton 3.9 frees a tensor-descriptor buffer of an unpipelined loop once its load is read
# into registers or its store is drained (sm_90 compiles: a chunk loop's load and store
# tiles share one buffer); Triton 3.6 kept them all (H100 refusals,
# tests/backends/test_shared_memory_tma.py). Versions between are counted as 3.6.
TRANSIENT_TMA_BUFFERS = _triton_version() >= (3, 9)
