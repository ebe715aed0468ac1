"""Layer normalization over the last dim, with optional bias; fp32 math (fp64 for fp64 inputs).
Its backward is wired in kcompiler/kernels/backward.py."""

from __future__ import annotations

import torch

import kcompiler as kc
import kcompiler.language as kl


@kc.kernel(float_inputs=["x"])
def layer_norm_fwd(
    x: torch.Tensor,
    normalized_shape: list[int],
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    eps: float = 1e-5,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    m, n = x.size()
    assert weight.size(0) == n, f"weight size mismatch {weight.size(0)} != {n}"
    if bias is not None:
        assert bias.size(0) == n, f"bias size mismatch {bias.size(0)} != {n}"
    assert len(normalized_shape) == 1, "only 1-D layer norm is supported"
    assert normalized_shape[0] == n, f"normalized shape mismatch {normalized_shape[0]} != {n}"
    out = torch.empty([m, n], dtype=x.dtype, device=x.device)
    # float64 math for float64 inputs, else float32 (cheaper per call than torch.promote_types)
    acc_dtype = torch.float64 if x.dtype is torch.float64 else torch.float32
    mean = torch.empty([m], dtype=acc_dtype, device=x.device)
    rstd = torch.empty([m], dtype=acc_dtype, device=x.device)

    for tile_m in kl.tile(m):
        acc = x[tile_m, :].to(mean.dtype)  # acc_dtype: a tensor's dtype costs the key nothing
        mean_val = torch.sum(acc, dim=-1) / n
        centered = acc - mean_val[:, None]
        var_val = torch.sum(centered * centered, dim=-1) / n
        rstd_val = torch.rsqrt(var_val + eps)
        normalized = centered * rstd_val[:, None]
        if bias is not None:
            acc = normalized * (weight[:].to(mean.dtype)) + (bias[:].to(mean.dtype))
        else:
            acc = normalized * (weight[:].to(mean.dtype))
        out[tile_m, :] = acc.to(x.dtype)
        mean[tile_m] = mean_val
        rstd[tile_m] = rstd_val
    return out, mean, rstd


def layer_norm(
    x: torch.Tensor,
    normalized_shape: list[int],
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    eps: float = 1e-5,
) -> torch.Tensor:
    """Layer normalization with forward + backward support (kernels/backward.py wires
    ``layer_norm_fwd``'s backward)."""
    return layer_norm_fwd(x, normalized_shape, weight, bias, eps)[0]


layer_norm.autotune = lambda args, **options: layer_norm_fwd.autotune(tuple(args), **options)  # type: ignore[attr-defined]
