"""Kernel calls during CUDA graph capture (``torch.cuda.graph``, ``torch.cuda.CUDAGraph``).

The rule: a call captured in a graph must be one the kernel has already made outside a
capture, i.e. every device loop of the call must hit the fast path (runtime/fastpath.py: the
same dtypes, shapes, strides, 16-byte alignment and scalar values as an earlier call). Such
a call is capture-safe as it stands:

* Its launch (a replay of the recorded direct launch, the direct launch, or Triton's JIT with
  the binary already in its cache) reads the current stream at the call, which during
  capture is the capture stream, so the launch is recorded into the graph; nothing on the
  path synchronizes or reads device memory.
* The host code's allocations (``torch.empty_like``) come from the graph's private memory
  pool, torch's rule for any op under capture: the graph's outputs are those tensors, and a
  replay rewrites them in place. So does the global scratch Triton's launcher allocates per
  launch for in-kernel tensor descriptors (through the torch allocator that
  backends/triton/indexing.py installs).
* The launch passes the kernel's error buffers (pinned host memory, backends/triton/bounds.py),
  so every replay records out-of-range indices as an eager launch does; they surface at the
  kernel's next call outside a capture or at ``kc.check_errors()`` after the replay.

A call that misses the fast path may trace and compile a variant, allocate its pinned error
buffers, and have Triton compile and load a binary (Triton keys its binaries on more than the
variant: a new pointer alignment or an int equal to 1 is a new binary). CUDA forbids such
calls while a stream captures, and a capture that hits one is left invalid. Whether a miss
would need any of it cannot be told without asking Triton's caches, so every miss during
capture raises ``CompileUnderCapture`` before anything launches, naming the kernel and the
arguments it has not seen, and the user warms the kernel up first, as the CUDA graph
documentation asks of every captured op. Compiling outside the capture instead is not
possible from Python: torch offers no way to leave a capture (or relax its mode) for a moment.

Two more rules keep a capture intact (bounds.py states them where they apply): a call during
capture does not raise for an error flag that earlier launches set (it stays set for the next
call outside the capture), and ``check_errors()`` during capture does not synchronize.

A graph holds raw pointers to the kernel's binary and error buffers: keep the kernel alive as
long as the graph may be replayed, as the graph's static input tensors must be.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch

from kcompiler.exc import CompileUnderCapture


def describe(name: str, value: Any) -> str:
    """One argument as the refusal names it: a tensor's dtype, shape, strides and alignment,
    a scalar's value."""
    if isinstance(value, torch.Tensor):
        dtype = str(value.dtype).removeprefix("torch.")
        shape = ", ".join(str(s) for s in value.shape)
        aligned = "" if value.data_ptr() % 16 == 0 else ", not 16-byte aligned"
        return f"{name}: {dtype}[{shape}] strides {tuple(value.stride())}{aligned}"
    return f"{name}={value!r}"


def compile_refused(
    kernel: str, where: str, names: Iterable[str], env: Mapping[str, Any]
) -> CompileUnderCapture:
    """The error of a fast-path miss during capture in ``kernel`` (defined at ``where``),
    whose device loop reads ``names`` of the host environment ``env``."""
    shown = [
        describe(n, env[n])
        for n in dict.fromkeys(names)
        if isinstance(env.get(n), (torch.Tensor, int, float, bool))
    ]
    args = f" ({'; '.join(shown)})" if shown else ""
    return CompileUnderCapture(
        f"{where}: kernel {kernel!r} was called during CUDA graph capture with arguments it "
        f"has not been launched with{args}: it would compile a variant, which CUDA forbids "
        "while a stream captures. Call it once before the capture with arguments of the same "
        "dtypes, shapes, strides and scalar values (the warm-up torch.cuda.graph asks for)."
    )
