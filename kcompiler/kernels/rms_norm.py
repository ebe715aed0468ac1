"""RMS normalization (forward), fp32 math (fp64 for fp64 inputs), output in the input dtype;
its backward is wired in kcompiler/kernels/backward.py."""

from __future__ import annotations

import torch

import kcompiler as kc
import kcompiler.language as kl


@kc.kernel(float_inputs=["x"])
def rms_norm_fwd(
    x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-5
) -> tuple[torch.Tensor, torch.Tensor]:
    m, n = x.size()
    assert weight.size(0) == n, f"weight size mismatch {weight.size(0)} != {n}"
    out = torch.empty_like(x)
    # float64 math for float64 inputs, else float32 (cheaper per call than torch.promote_types)
    acc = torch.float64 if x.dtype is torch.float64 else torch.float32
    inv_rms = torch.empty([m], dtype=acc, device=x.device)
    for tile_m in kl.tile(m):
        x_tile = x[tile_m, :].to(inv_rms.dtype)  # acc: a tensor's dtype costs the key nothing
        x_squared = x_tile * x_tile
        mean_x_squared = torch.mean(x_squared, dim=-1)
        inv_rms_tile = torch.rsqrt(mean_x_squared + eps)
        normalized = x_tile * inv_rms_tile[:, None]
        out[tile_m, :] = (normalized * weight[:].to(inv_rms.dtype)).to(out.dtype)
        inv_rms[tile_m] = inv_rms_tile
    return out, inv_rms.reshape(-1, 1)


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    return rms_norm_fwd(x, weight, eps)[0]


rms_norm.autotune = lambda args, **options: rms_norm_fwd.autotune(tuple(args), **options)  # type: ignore[attr-defined]
