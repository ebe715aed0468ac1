"""Small kernels for the AOT table tests (module:name targets of the CLI)."""

from __future__ import annotations

import torch

import kcompiler as kc
import kcompiler.language as kl


@kc.kernel()
def add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(out.size()):
        out[tile] = x[tile] + y[tile]
    return out


@kc.kernel()
def scale_rows(x: torch.Tensor, alpha: float, flip: bool) -> torch.Tensor:
    m, n = x.size()
    out = torch.empty_like(x)
    for tile_m, tile_n in kl.tile([m, n]):
        v = x[tile_m, tile_n] * alpha
        out[tile_m, tile_n] = -v if flip else v
    return out


# A shapes list in Python form (``--shapes aot_kernels:CALLS``): specs or real tensors.
CALLS = [
    [{"shape": [512]}, {"shape": [512]}],
    [torch.zeros(2048), torch.zeros(2048)],
]


def vec_of(n: int) -> torch.Tensor:
    """Not a kernel."""
    return torch.zeros(n)
