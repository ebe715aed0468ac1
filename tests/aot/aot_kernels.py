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


def _rows_calls() -> list[tuple[torch.Tensor, float]]:
    return [(torch.zeros(8, 64), 2.0), (torch.zeros(8, 256), 2.0)]


def _rows_measure() -> list[tuple[torch.Tensor, float]]:
    return [(torch.zeros(8, 1024), 2.0)]


# Helion's decorator with its AOT options: batch dim 0 of x, tuning calls given in Python.
@kc.aot_kernel(batched=[[0, None], None], collect_fn=_rows_calls, measure_fn=_rows_measure)
def scale_batched(x: torch.Tensor, alpha: float) -> torch.Tensor:
    m, n = x.size()
    out = torch.empty_like(x)
    for tile_m, tile_n in kl.tile([m, n]):
        out[tile_m, tile_n] = x[tile_m, tile_n] * alpha
    return out


def make_rowsum() -> kc.Kernel:
    """A fresh row-sum kernel (no traces or table of an earlier test): a reduction long rows
    may loop over in chunks (``reduction_loops``)."""

    def rowsum(x: torch.Tensor) -> torch.Tensor:
        (m, n) = x.size()
        out = torch.empty([m], dtype=x.dtype, device=x.device)
        for tile_m in kl.tile(m):
            out[tile_m] = x[tile_m, :].sum(-1)
        return out

    return kc.kernel(rowsum)
