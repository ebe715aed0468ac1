"""The kernel table: shapes, input makers, minimal-bytes formulas and torch references.

Everything the runner knows about a kernel lives in one `KernelSpec`, so adding a kernel is one
entry here. Shapes follow PERF-ANCHORS.md (the peers' H100 numbers); `sweep` shapes follow
tritonbench's operator defaults, thinned so a run fits a 10-minute device call; `cpu` shapes are
tiny, for a dry run of the harness.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

Args = tuple[Any, ...]

FP32, BF16 = torch.float32, torch.bfloat16


@dataclass(frozen=True)
class Case:
    """One benchmark point: the shape parameters and the dtype of the floating inputs."""

    params: dict[str, int]
    dtype: torch.dtype = FP32

    @property
    def label(self) -> str:
        """Short human label, e.g. `4096x8192` or `B8 T2048 D4096 V131072`."""
        p = self.params
        if set(p) == {"n"}:
            n = p["n"]
            return f"2^{int(math.log2(n))}" if n & (n - 1) == 0 else str(n)
        if set(p) == {"m", "n"}:
            return f"{p['m']}x{p['n']}"
        return " ".join(f"{k}{v}" for k, v in p.items())


@dataclass(frozen=True)
class KernelSpec:
    """A kernel: how to build its inputs, what it computes, and the fewest bytes it must move."""

    name: str
    make_inputs: Callable[[dict[str, int], torch.dtype, torch.device], Args]
    reference: Callable[..., torch.Tensor]
    # bytes(args, out): each input read once plus the output written once (the floor).
    min_bytes: Callable[[Args, torch.Tensor], int]
    anchors: list[Case] = field(default_factory=list)
    sweep: list[Case] = field(default_factory=list)
    cpu: list[Case] = field(default_factory=list)
    # Other formulations of `reference` (name -> function with its signature). The torch eager
    # and torch.compile columns time the reference and each of these and report the fastest
    # that matches the reference, so a peer is not held to one way of writing the op.
    forms: dict[str, Callable[..., torch.Tensor]] = field(default_factory=dict)


def nbytes(t: torch.Tensor) -> int:
    """Bytes of a tensor's elements."""
    return t.numel() * t.element_size()


def _randn(shape: list[int], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    return torch.randn(shape, device=device, dtype=FP32).to(dtype)


# ---------------------------------------------------------------- torch references (eager)


def vector_add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return x + y


def vector_exp(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(x)


def embedding(idx: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return F.embedding(idx, weight)


def sum(x: torch.Tensor) -> torch.Tensor:  # noqa: A001 - the kernel's name
    return x.sum(-1)


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    xf = x.float()
    y = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)
    return (y * weight.float()).to(x.dtype)


def layer_norm(
    x: torch.Tensor,
    normalized_shape: list[int],
    weight: torch.Tensor,
    bias: torch.Tensor,
    eps: float = 1e-5,
) -> torch.Tensor:
    return F.layer_norm(x, normalized_shape, weight, bias, eps)


def softmax(x: torch.Tensor) -> torch.Tensor:
    return torch.softmax(x, dim=-1)


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, targets)


def jagged_mean(values: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Mean over each row's slice values[offsets[b]:offsets[b+1]]; empty rows give 0.

    Written without a host sync (searchsorted for row ids) so torch.compile can take it whole.
    The sorted sequence is the whole `offsets` tensor, not the view `offsets[1:]`: Inductor's
    bucketize lowering in torch 2.11 reads a 1-D sorted sequence from its buffer's first element
    and ignores a view's storage offset, which shifts every row id by one and sends the last
    row's values to row B (a device-side assert in index_add_). Counting all B+1 offsets at or
    below i and subtracting one gives the same ids, in [0, B-1] for every i < offsets[B].
    """
    total, b = values.shape[0], offsets.numel() - 1
    ids = torch.arange(total, device=values.device)
    rows = torch.searchsorted(offsets, ids, right=True) - 1
    sums = torch.zeros(b, values.shape[1], device=values.device, dtype=torch.float32)
    sums.index_add_(0, rows, values.float())
    counts = (offsets[1:] - offsets[:-1]).clamp(min=1).to(torch.float32)
    return (sums / counts[:, None]).to(values.dtype)


JAGGED_BLOCK_ROWS = 64


def jagged_mean_blocked(
    values: torch.Tensor, offsets: torch.Tensor, block: int = JAGGED_BLOCK_ROWS
) -> torch.Tensor:
    """jagged_mean as differences of prefix sums: a peer formulation without atomics.

    The sum of rows [0, p) is the sum of the whole `block`-row blocks before p (one strided
    reduction over `values`, then a float64 cumsum over the block sums, `block` times fewer
    rows than `values`) plus the at most block-1 rows of p's own block (a masked gather of
    `block` rows per offset). Row b's sum is that prefix at offsets[b+1] minus the one at offsets[b]: values is
    read once in whole blocks, plus block rows per offset, and no row is added atomically. The
    prefix is float64 so the difference of two large prefixes keeps fp32 accuracy; an empty
    row's two prefixes are computed identically and cancel to exactly 0. Indices are clamped
    into range so no `offsets` can make Inductor's index assert fire; valid offsets
    (0 <= offsets <= values.shape[0]) are unchanged by the clamps. The cumsum runs along the
    last dimension (the block sums transposed): a scan along dim 0 of a [blocks, D] tensor
    gives eager CUDA one thread per column.
    """
    total, d = values.shape
    b = offsets.numel() - 1
    dev = values.device
    if total == 0:  # every row empty; a static shape, so no sync
        return torch.zeros(b, d, device=dev, dtype=values.dtype)
    nblk = total // block
    whole = values[: nblk * block].view(nblk, block, d).sum(1, dtype=torch.float32)
    prefix = F.pad(whole.t().double().cumsum(1), (1, 0))  # [d, nblk + 1], exclusive
    q = torch.div(offsets, block, rounding_mode="floor").clamp(0, nblk)
    rows = q[:, None] * block + torch.arange(block, device=dev)  # [B+1, block]
    inside = rows < offsets[:, None]
    rows = rows.clamp(0, total - 1)
    part = torch.where(inside[..., None], values[rows].float(), 0.0).sum(1)  # [B+1, d]
    at = prefix[:, q].t() + part.double()
    counts = (offsets[1:] - offsets[:-1]).clamp(min=1)
    return ((at[1:] - at[:-1]) / counts[:, None]).to(values.dtype)


# ---------------------------------------------------------------- input makers


def _vec2(p: dict[str, int], dt: torch.dtype, dev: torch.device) -> Args:
    return (_randn([p["n"]], dt, dev), _randn([p["n"]], dt, dev))


def _vec1(p: dict[str, int], dt: torch.dtype, dev: torch.device) -> Args:
    return (_randn([p["n"]], dt, dev),)


def _mat(p: dict[str, int], dt: torch.dtype, dev: torch.device) -> Args:
    return (_randn([p["m"], p["n"]], dt, dev),)


def _embedding(p: dict[str, int], dt: torch.dtype, dev: torch.device) -> Args:
    idx = torch.randint(0, p["V"], (p["B"], p["T"]), device=dev, dtype=torch.int64)
    return (idx, _randn([p["V"], p["D"]], dt, dev))


def _rms(p: dict[str, int], dt: torch.dtype, dev: torch.device) -> Args:
    return (_randn([p["m"], p["n"]], dt, dev), _randn([p["n"]], dt, dev), 1e-6)


def _layer(p: dict[str, int], dt: torch.dtype, dev: torch.device) -> Args:
    n = p["n"]
    w, b = _randn([n], dt, dev), _randn([n], dt, dev)
    return (_randn([p["m"], n], dt, dev), [n], w, b, 1e-5)


def _ce(p: dict[str, int], dt: torch.dtype, dev: torch.device) -> Args:
    logits = _randn([p["m"], p["n"]], dt, dev)
    return (logits, torch.randint(0, p["n"], (p["m"],), device=dev, dtype=torch.int64))


def _jagged(p: dict[str, int], dt: torch.dtype, dev: torch.device) -> Args:
    """Row lengths uniform in [0, L], as PERF-ANCHORS measured (mean L/2)."""
    lengths = torch.randint(0, p["L"] + 1, (p["B"],), device=dev, dtype=torch.int64)
    offsets = torch.zeros(p["B"] + 1, device=dev, dtype=torch.int64)
    offsets[1:] = torch.cumsum(lengths, 0)
    total = int(offsets[-1])
    return (_randn([total, p["D"]], dt, dev), offsets)


# ---------------------------------------------------------------- the table


def _mn(m: int, n: int, dtype: torch.dtype = FP32) -> Case:
    return Case({"m": m, "n": n}, dtype)


def _n(n: int) -> Case:
    return Case({"n": n})


_VEC_SWEEP = [_n(2**i) for i in range(12, 28)]

KERNELS: dict[str, KernelSpec] = {
    s.name: s
    for s in [
        KernelSpec(
            "vector_add",
            _vec2,
            vector_add,
            lambda a, out: nbytes(a[0]) + nbytes(a[1]) + nbytes(out),
            anchors=[_n(2**27)],
            sweep=_VEC_SWEEP,
            cpu=[_n(4096)],
        ),
        KernelSpec(
            "vector_exp",
            _vec1,
            vector_exp,
            lambda a, out: nbytes(a[0]) + nbytes(out),
            anchors=[_n(2**27)],
            sweep=_VEC_SWEEP,
            cpu=[_n(4096)],
        ),
        KernelSpec(
            "embedding",
            _embedding,
            embedding,
            # the index, each gathered row once, the output
            lambda a, out: nbytes(a[0]) + 2 * nbytes(out),
            anchors=[Case({"B": 8, "T": 2048, "D": 4096, "V": 131072})],
            sweep=[
                Case({"B": b, "T": t, "D": d, "V": v})
                for b, t, d in [(32, 512, 768), (8, 2048, 4096)]
                for v in [2**10, 2**13, 2**17]
            ],
            cpu=[Case({"B": 2, "T": 16, "D": 64, "V": 1000})],
        ),
        KernelSpec(
            "sum",
            _mat,
            sum,
            lambda a, out: nbytes(a[0]) + nbytes(out),
            anchors=[_mn(4096, 8192), _mn(10240, 10240)],
            sweep=[_mn(2**k, 2**k) for k in range(9, 14)]
            + [_mn(4096, 2**k) for k in (10, 12, 14)]
            + [_mn(10240, 10240)],
            cpu=[_mn(64, 1000)],
        ),
        KernelSpec(
            "rms_norm",
            _rms,
            rms_norm,
            lambda a, out: nbytes(a[0]) + nbytes(a[1]) + nbytes(out),
            anchors=[_mn(2048, 32768), _mn(4096, 8192, BF16)],
            sweep=[_mn(2048, 2**k) for k in range(10, 16)],
            cpu=[_mn(64, 256), _mn(64, 256, BF16)],
        ),
        KernelSpec(
            "layer_norm",
            _layer,
            layer_norm,
            lambda a, out: nbytes(a[0]) + nbytes(a[2]) + nbytes(a[3]) + nbytes(out),
            anchors=[_mn(4096, 4096), _mn(4096, 15872), _mn(4096, 8192, BF16)],
            sweep=[_mn(4096, 512 * i) for i in range(2, 32, 4)],
            cpu=[_mn(64, 256), _mn(64, 256, BF16)],
        ),
        KernelSpec(
            "softmax",
            _mat,
            softmax,
            lambda a, out: nbytes(a[0]) + nbytes(out),
            anchors=[_mn(4096, 12544), _mn(4096, 8192, BF16)],
            sweep=[_mn(4096, 128 * i) for i in (2, 4, 8, 16, 32, 64, 98)],
            cpu=[_mn(64, 300), _mn(64, 300, BF16)],
        ),
        KernelSpec(
            "cross_entropy",
            _ce,
            cross_entropy,
            # logits and targets read once; the scalar loss written
            lambda a, out: nbytes(a[0]) + nbytes(a[1]) + nbytes(out),
            anchors=[_mn(16384, 32768), _mn(4096, 128256, BF16)],
            sweep=[_mn(16384, 2**k) for k in range(10, 16)],
            cpu=[_mn(64, 1000), _mn(64, 1000, BF16)],
        ),
        KernelSpec(
            "jagged_mean",
            _jagged,
            jagged_mean,
            lambda a, out: nbytes(a[0]) + nbytes(a[1]) + nbytes(out),
            anchors=[Case({"B": 1024, "L": 2048, "D": 256})],
            sweep=[
                Case({"B": b, "L": seq, "D": d})
                for b, seq, d in [
                    (32, 512, 64),
                    (512, 256, 128),
                    (1024, 128, 256),
                    (1024, 512, 256),
                    (1024, 2048, 256),
                ]
            ],
            cpu=[Case({"B": 8, "L": 32, "D": 16})],
            forms={"block_prefix": jagged_mean_blocked},
        ),
    ]
}


def tolerance(dtype: torch.dtype) -> tuple[float, float]:
    """(rtol, atol) for comparing against torch eager; loose enough for a different reduction order."""
    if dtype in (torch.bfloat16, torch.float16):
        return 1.6e-2, 1e-2
    return 1e-4, 1e-4


def compare(out: Any, ref: torch.Tensor, dtype: torch.dtype) -> tuple[float, bool, str]:
    """Max abs error vs the eager output and pass/fail; NaN, shape mismatch or a non-tensor fail."""
    if not isinstance(out, torch.Tensor):
        return math.nan, False, f"returned {type(out).__name__}, not a tensor"
    if out.shape != ref.shape:
        return math.nan, False, f"shape {tuple(out.shape)} != {tuple(ref.shape)}"
    a, b = out.detach().double(), ref.detach().double()
    if a.numel() == 0:
        return 0.0, True, ""
    diff = (a - b).abs()
    err = float(diff.max())
    rtol, atol = tolerance(dtype)
    # Absolute errors grow with the values' size (a K-long dot's rounding is ~eps * its terms;
    # fp8 GEMMs on the H100 differ from torch._scaled_mm by 0.05 at mean size 51).
    finite = b[torch.isfinite(b)].abs()
    atol = max(atol, rtol * float(finite.mean())) if finite.numel() else atol
    ok = bool(torch.all(diff <= atol + rtol * b.abs())) and not math.isnan(err)
    note = "" if out.dtype == ref.dtype else f"dtype {out.dtype} != {ref.dtype}"
    return err, ok, note
