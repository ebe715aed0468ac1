"""Settings the compile driver reads from torch and the environment, and the device's
shared-memory limit (kcompiler/compiler/ is the driver that uses them)."""

from __future__ import annotations

import functools
import os


@functools.cache
def shared_memory_limit() -> int:
    """Bytes of shared memory one program may use: the CUDA device's opt-in maximum, else the
    H100's (232,448; the interpreter has none, but configs are meant for the GPU)."""
    from kcompiler.passes.config_space import SHARED_MEMORY_H100

    try:
        import torch

        if torch.cuda.is_available():
            props = torch.cuda.get_device_properties(torch.cuda.current_device())
            return int(props.shared_memory_per_block_optin)
    except Exception:  # noqa: BLE001 - no usable device: the H100's number
        pass
    return SHARED_MEMORY_H100


def fp32_dot_precision() -> str:
    """float32 dots follow torch's matmul precision setting (read when a variant compiles)."""
    import torch

    return "ieee" if torch.get_float32_matmul_precision() == "highest" else "tf32"


FP8_ACCUMULATE_MODES = ("imprecise_acc", "block", "fast")


def fp8_accumulate() -> str:
    """How fp8 dots accumulate (CodegenOptions.fp8_accumulate): $KCOMPILER_FP8_ACCUMULATE."""
    import os

    mode = os.environ.get("KCOMPILER_FP8_ACCUMULATE", FP8_ACCUMULATE_MODES[0])
    if mode not in FP8_ACCUMULATE_MODES:
        raise ValueError(
            f"KCOMPILER_FP8_ACCUMULATE={mode!r}: expected one of {', '.join(FP8_ACCUMULATE_MODES)}"
        )
    return mode


def peel_tail() -> bool:
    """Whether sequential loops peel their ragged last tile (CodegenOptions.peel_tail):
    $KCOMPILER_PEEL_TAIL, 1 (default) or 0."""
    import os

    value = os.environ.get("KCOMPILER_PEEL_TAIL", "1")
    if value not in ("0", "1"):
        raise ValueError(f"KCOMPILER_PEEL_TAIL={value!r}: expected 0 or 1")
    return value == "1"


@functools.lru_cache(maxsize=1)
def interpreting() -> bool:
    """Triton reads TRITON_INTERPRET once, when it is imported; so do we."""
    return os.environ.get("TRITON_INTERPRET", "0") == "1"
