"""sum 4096x8192 fp32 on a GPU: kcompiler's generated code and torch.compile's, side by side.

The benchmark rows put every hand-picked kcompiler config at 0.0416-0.0430 ms against
torch.compile's 0.0378 on the H200 (benchmarks/results/nvidia-h200/SUMMARY.md). This probe
prints what to compare before changing code: Inductor's Triton source for the same reduction
and its launch heuristics, kcompiler's source for a few configs, and each one's time
(do_bench, which clears L2 between runs).

    python -m benchmarks.probes.sum_codegen
"""

from __future__ import annotations

import torch
import triton
from torch._inductor.utils import run_and_get_code

import kcompiler as kc
from kcompiler.config import Config
from kcompiler.kernels.sum import sum as kc_sum

M, N = 4096, 8192
CONFIGS = [
    Config(block_sizes=[1], num_warps=8),
    Config(block_sizes=[2], num_warps=8),
    Config(block_sizes=[4], num_warps=16),
    Config(block_sizes=[1], num_warps=4, reduction_loops=[2048]),
    Config(block_sizes=[8], num_warps=8, reduction_loops=[1024]),
]


def main() -> None:
    x = torch.randn(M, N, device="cuda")
    ref = x.sum(-1)
    compiled = torch.compile(lambda t: t.sum(-1))
    out, sources = run_and_get_code(compiled, x)
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-3)
    print(f"== torch.compile: {triton.testing.do_bench(lambda: compiled(x)):.4f} ms")
    for src in sources:
        start = src.find("@triton")
        print(src[max(0, start - 1500) : start + 3500])
    for config in CONFIGS:
        kernel = kc.kernel(kc_sum.fn, config=config)
        torch.testing.assert_close(kernel(x), ref, rtol=1e-4, atol=1e-3)
        ms = triton.testing.do_bench(lambda k=kernel: k(x))
        print(f"== kcompiler {config}: {ms:.4f} ms")
        print(kc_sum.generated_launches((x,), {}, config, interpret=False)[0][0])


if __name__ == "__main__":
    main()
