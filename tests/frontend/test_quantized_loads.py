"""Helion's quantized load helpers: ``kl.load_float4_e2m1fn_x16_to_float16`` (8 packed FP4
bytes per group -> 16 fp16 lanes, low nibble first) and ``kl.load_bfloat16_x16_to_float16``,
checked against a torch decode of the same storage."""

from __future__ import annotations

import pytest
import torch

import kcompiler as kc
import kcompiler.language as kl

E2M1 = torch.tensor([0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6])


@kc.kernel
def unpack_fp4(w: torch.Tensor) -> torch.Tensor:
    m, k_bytes = w.size()
    groups = k_bytes // 8
    out = torch.empty([m, groups, 16], dtype=torch.float16)
    for tm, tg in kl.tile([m, groups]):
        offsets = tm.index[:, None] * groups + tg.index[None, :]
        valid = (tm.index[:, None] < m) & (tg.index[None, :] < groups)
        lanes = kl.load_float4_e2m1fn_x16_to_float16(w, offsets, extra_mask=valid)
        for i in kl.static_range(16):
            out[tm, tg, i] = lanes[i]
    return out


@kc.kernel
def widen_bf16(x: torch.Tensor) -> torch.Tensor:
    groups = x.size(0) // 16
    out = torch.empty([groups, 16], dtype=torch.float16)
    for tg in kl.tile(groups):
        lanes = kl.load_bfloat16_x16_to_float16(x, tg.index)
        for i in kl.static_range(16):
            out[tg, i] = lanes[i]
    return out


@pytest.mark.parametrize("shape", [(1, 8), (5, 24), (17, 40)])
def test_fp4_groups_decode_like_torch(shape) -> None:
    w = torch.randint(0, 256, shape, dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    lo, hi = E2M1[(w & 15).long()], E2M1[(w >> 4).long()]
    want = torch.stack([lo, hi], -1).reshape(shape[0], shape[1] // 8, 16).half()
    torch.testing.assert_close(unpack_fp4(w), want, rtol=0, atol=0)


def test_bf16_groups_widen_like_torch() -> None:
    x = torch.randn(16 * 7).bfloat16()
    torch.testing.assert_close(widen_bf16(x), x.half().reshape(7, 16), rtol=0, atol=0)


@kc.kernel
def fp4_from_floats(w: torch.Tensor) -> torch.Tensor:
    out = torch.empty([w.size(0)], dtype=torch.float16)
    for tile in kl.tile(w.size(0)):
        lanes = kl.load_float4_e2m1fn_x16_to_float16(w, tile.index)  # <- wrong-storage
        out[tile] = lanes[0]
    return out


def test_wrong_storage_dtype_names_the_line() -> None:
    import inspect

    lines, start = inspect.getsourcelines(fp4_from_floats.fn)
    line = start + next(i for i, s in enumerate(lines) if "# <- wrong-storage" in s)
    with pytest.raises(kc.exc.UnsupportedConstruct, match="reads torch.uint8 storage") as e:
        fp4_from_floats(torch.randn(16))
    assert f"test_quantized_loads.py:{line}" in str(e.value)
