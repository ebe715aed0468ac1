"""jagged_mean at explicit configs: the bundled wrapper's kernel rebuilt with each config.

``benchmarks.config_probe`` passes configs to a bundled kernel, but jagged_mean is a wrapper
(it derives the feature counts) around ``jagged_mean_kernel``; this probe does the same
around a copy of that kernel per config. Prints median ms and % of the copy bandwidth.
Usage (GPU): python -m benchmarks.probes.jagged_configs B=1024,L=2048,D=256 '{"block_sizes": ...}'
"""

from __future__ import annotations

import json
import sys

import torch

import kcompiler as kc
from benchmarks import kernels, timing
from kcompiler.kernels.jagged_mean import jagged_mean_kernel


def main() -> None:
    device = torch.device("cuda")
    params = {k: int(v) for k, v in (kv.split("=") for kv in sys.argv[1].split(","))}
    spec = kernels.KERNELS["jagged_mean"]
    inputs = spec.make_inputs(params, torch.float32, device)
    ref = spec.reference(*inputs)
    copy = timing.copy_gbps(device, 1.0)
    moved = spec.min_bytes(inputs, ref)
    values, offsets = inputs[0], inputs[1]
    d = values.size(1)
    counts = torch.full((offsets.numel() - 1,), d, dtype=torch.int32, device=device)
    print(f"jagged_mean {params}: copy {copy:.0f} GB/s, {moved / 1e9:.3f} GB moved")
    for text in sys.argv[2:]:
        config = kc.Config(json.loads(text))
        k = kc.kernel(jagged_mean_kernel.fn, config=config)
        try:
            out = k(values, offsets, counts, d)
            err, ok, _ = kernels.compare(out, ref, torch.float32)
            ms = timing.bench_ms(lambda k=k: k(values, offsets, counts, d), device)
            bw = moved / ms / 1e6 / copy * 100
            print(f"  {ms:8.4f} ms  {bw:5.1f} % BW  correct={ok} err={err:.2e}  {config}")
        except Exception as e:  # a failing config is reported, the others still run
            print(f"  error {type(e).__name__}: {str(e)[:300]}  {config}")


if __name__ == "__main__":
    main()
