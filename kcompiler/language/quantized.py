"""Helion's quantized load helpers, written in the kernel language itself.

Each helper gathers the bytes (or values) of one group per element of ``group_offsets`` with
``load`` and decodes them with ordinary tile arithmetic, so it needs no op of its own: the
traced IR shows the loads, shifts and selects it is made of.
"""

from __future__ import annotations

from typing import Any


def _load_flat(load: Any, storage: Any, flat: Any, extra_mask: Any) -> Any:
    """``storage.reshape(-1)[flat]`` of a contiguous tensor, as a gather over its dims."""
    index = []
    rest = flat
    sizes = [storage.size(d) for d in range(storage.dim())]
    for d in range(len(sizes) - 1, 0, -1):
        index.append(rest % sizes[d])
        rest = rest // sizes[d]
    index.append(rest)
    return load(storage, index[::-1], extra_mask=extra_mask)


def _e2m1_to_float16(code: Any) -> Any:
    """The fp16 value of a 4-bit E2M1 code (sign, 2 exponent bits, 1 mantissa bit):
    0, 0.5, 1, 1.5, 2, 3, 4, 6 and their negatives."""
    import torch

    mag = code & 7
    exp = (mag >> 1).to(torch.float32)
    half = (mag & 1).to(torch.float32) * 0.5
    scale = torch.where(exp == 3.0, 4.0, exp)  # 2 ** (exp - 1) for exp in 1..3
    value = torch.where(exp == 0.0, half, (1.0 + half) * scale)
    return torch.where((code >> 3) == 1, -value, value).to(torch.float16)


def load_float4_e2m1fn_x16(load: Any, storage: Any, group_offsets: Any, extra_mask: Any) -> Any:
    """16 fp16 blocks: the FP4 E2M1 values of the 8 bytes at ``8 * group_offsets`` of
    ``storage`` (uint8, contiguous), each byte's low nibble first."""
    import torch

    lanes = []
    for k in range(8):
        byte = _load_flat(load, storage, group_offsets * 8 + k, extra_mask).to(torch.int32)
        lanes.append(_e2m1_to_float16(byte & 15))
        lanes.append(_e2m1_to_float16((byte >> 4) & 15))
    return tuple(lanes)


def load_bfloat16_x16(load: Any, storage: Any, group_offsets: Any, extra_mask: Any) -> Any:
    """16 fp16 blocks: the bf16 values at ``16 * group_offsets + i`` of ``storage``."""
    import torch

    return tuple(
        _load_flat(load, storage, group_offsets * 16 + i, extra_mask).to(torch.float16)
        for i in range(16)
    )
