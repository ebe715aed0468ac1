"""Benchmark specs of the tensor-core kernels (matmul, attention, fp8_gemm), same `KernelSpec`
form as `benchmarks/kernels.py`; merge with `KERNELS.update(tensor_core.KERNELS)` to run them.

Shapes follow tritonbench's `gemm`, `flash_attention` and `fp8_gemm` defaults (thinned). These
kernels are compute-bound: `min_bytes` is the memory floor the runner reports, and
`flops(args)` the work for a TFLOP/s column.
"""

from __future__ import annotations

import torch

from benchmarks.kernels import BF16, Args, Case, KernelSpec, nbytes

FP8 = torch.float8_e4m3fn


def _randn(shape: list[int], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    return torch.randn(shape, device=device, dtype=torch.float32).to(dtype)


def matmul(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return x @ y


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.scaled_dot_product_attention(q, k, v)


def fp8_gemm(x: torch.Tensor, y: torch.Tensor, sa: torch.Tensor, sb: torch.Tensor) -> torch.Tensor:
    if x.is_cuda:  # cuBLASLt wants y column-major
        return torch._scaled_mm(x, y.T.contiguous().T, sa, sb, out_dtype=BF16)
    return ((x.float() @ y.float()) * (sa * sb)).to(BF16)


def _mkn(p: dict[str, int], dt: torch.dtype, dev: torch.device) -> Args:
    return _randn([p["m"], p["k"]], dt, dev), _randn([p["k"], p["n"]], dt, dev)


def _bhsd(p: dict[str, int], dt: torch.dtype, dev: torch.device) -> Args:
    shape = [p["b"], p["h"], p["s"], p["d"]]
    return tuple(_randn(shape, dt, dev) for _ in range(3))


def _fp8(p: dict[str, int], dt: torch.dtype, dev: torch.device) -> Args:
    x, y = _mkn(p, torch.float32, dev)
    one = torch.tensor(1.0, device=dev)
    return x.to(FP8), y.to(FP8), one, one.clone()


def flops(name: str, args: Args) -> int:
    """Multiply-adds x 2 of one call (attention: QK^T and PV, non-causal)."""
    if name == "attention":
        b, h, s, d = args[0].shape
        return 4 * b * h * s * s * d
    (m, k), n = args[0].shape, args[1].shape[1]
    return 2 * m * n * k


def _gemm(m: int, n: int, k: int, dtype: torch.dtype = BF16) -> Case:
    return Case({"m": m, "n": n, "k": k}, dtype)


def _attn(b: int, h: int, s: int, d: int) -> Case:
    return Case({"b": b, "h": h, "s": s, "d": d}, BF16)


KERNELS: dict[str, KernelSpec] = {
    s.name: s
    for s in [
        KernelSpec(
            "matmul",
            _mkn,
            matmul,
            lambda a, out: nbytes(a[0]) + nbytes(a[1]) + nbytes(out),
            anchors=[_gemm(4096, 4096, 4096)],
            sweep=[_gemm(n, n, n) for n in (1024, 2048, 4096, 8192)],
            cpu=[_gemm(33, 17, 65, torch.float32)],
        ),
        KernelSpec(
            "attention",
            _bhsd,
            attention,
            lambda a, out: sum(nbytes(t) for t in a) + nbytes(out),
            anchors=[_attn(4, 48, 4096, 64)],
            sweep=[_attn(4, 48, s, 64) for s in (1024, 2048, 4096, 8192)],
            cpu=[_attn(1, 2, 33, 16)],
        ),
        KernelSpec(
            "fp8_gemm",
            _fp8,
            fp8_gemm,
            lambda a, out: nbytes(a[0]) + nbytes(a[1]) + nbytes(out),
            anchors=[_gemm(4096, 4096, 4096)],
            sweep=[_gemm(n, n, n) for n in (1024, 2048, 4096, 8192)],
            cpu=[_gemm(32, 32, 64)],
        ),
    ]
}
