"""Device facts the compiler plans with: shared memory, SMs, registers, thread limits.

One record per target. :func:`current` describes the CUDA device in use, read from torch's
device properties; without one (the CPU interpreter, a CPU-only compile worker) it is
:data:`DEFAULT`, the Hopper GPU the generated configs are meant for, so a config judged on a
CPU machine is judged by the limits of the GPU it will run on. Only the SM count has an
interpreter value of its own (:func:`sm_count`): the interpreter runs a persistent kernel's
programs one after another, and a few programs are enough to exercise its tile loop.

Nothing here imports torch until a device is asked about.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

from kcompiler import settings


@dataclass(frozen=True)
class Target:
    """Limits of one GPU, per program (thread block) unless named per SM."""

    name: str
    shared_memory_per_block: int  # bytes, with the opt-in carve-out
    sm_count: int
    registers_per_sm: int  # 32-bit registers
    max_registers_per_thread: int
    max_threads_per_block: int = 1024
    warp_size: int = 32


# sm_90 (H100 SXM): 227 KiB of shared memory per block with opt-in, 64K registers per SM, at
# most 255 per thread. The H200 is the same chip with more memory: the same limits.
H100 = Target(
    name="H100",
    shared_memory_per_block=232448,
    sm_count=132,
    registers_per_sm=65536,
    max_registers_per_thread=255,
)
H200 = dataclasses.replace(H100, name="H200")
DEFAULT = H100

# Shared memory one block may opt in to, by CUDA compute capability (the devices'
# ``shared_memory_per_block_optin``): what a compile for a named target is checked against
# where no such device is here to ask. A100; GA10x; AD10x; H100/H200; B200.
SHARED_MEMORY_BY_CAPABILITY = {
    80: 166912,
    86: 101376,
    89: 101376,
    90: H100.shared_memory_per_block,
    100: 232448,
}


def shared_memory_of_capability(capability: int) -> int | None:
    """Bytes of shared memory a block of compute capability ``capability`` (90 for sm_90)
    may use; None for a capability not listed."""
    return SHARED_MEMORY_BY_CAPABILITY.get(capability)


# Triton's limit on the elements of one block value (TRITON_MAX_TENSOR_NUMEL), whatever the device.
TRITON_MAX_NUMEL = 1 << 20


@functools.cache
def _device(index: int) -> Target:
    import torch

    props = torch.cuda.get_device_properties(index)
    return Target(
        name=props.name,
        shared_memory_per_block=int(props.shared_memory_per_block_optin),
        sm_count=int(props.multi_processor_count),
        registers_per_sm=int(getattr(props, "regs_per_multiprocessor", DEFAULT.registers_per_sm)),
        max_registers_per_thread=DEFAULT.max_registers_per_thread,
        warp_size=int(getattr(props, "warp_size", DEFAULT.warp_size)),
    )


def cuda_device() -> Target | None:
    """The CUDA device in use, or None when there is none (or it cannot be queried)."""
    try:
        import torch

        if torch.cuda.is_available():
            return _device(torch.cuda.current_device())
    except Exception:  # noqa: BLE001 - a device that cannot be queried counts as none
        pass
    return None


def current() -> Target:
    """The CUDA device in use, else :data:`DEFAULT`: the limits configs are planned against."""
    return cuda_device() or DEFAULT


def sm_count(interpret: bool) -> int:
    """SMs a persistent kernel's grid is sized for: on the interpreter, and when there is no
    device to size for, the ``KCOMPILER_INTERPRETER_SMS`` setting (its default when not
    interpreting); else the device's."""
    if interpret:
        return settings.current().interpreter_sms
    device = cuda_device()
    return device.sm_count if device is not None else settings.Settings.interpreter_sms
