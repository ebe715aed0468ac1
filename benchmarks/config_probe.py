"""Time given kcompiler configs of one kernel at one shape next to a peer, with no tuning.

``python -m benchmarks.config_probe cross_entropy --shape m=4096,n=128256 --dtype bf16 \
--peer liger --config '{"block_sizes": [8], "num_warps": 4, "reduction_loops": [1024]}' ...``

For checking what a codegen change does to a known config without paying for a search. Each
row: median ms (``timing.bench_ms``), % of the copy bandwidth, correctness vs torch eager.
"""

from __future__ import annotations

import argparse
import json

import torch

import kcompiler as kc
from benchmarks import impls, kernels, tensor_core, timing


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("kernel")
    p.add_argument("--shape", required=True, help="e.g. m=4096,n=128256 (the spec's params)")
    p.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"])
    p.add_argument("--peer", action="append", default=[], help="impl names from benchmarks.impls")
    p.add_argument("--config", action="append", default=[], help="a kc.Config as JSON")
    p.add_argument("--starts", action="store_true", help="also every start of the kernel's space")
    args = p.parse_args()
    device = torch.device("cuda")
    dtype = kernels.BF16 if args.dtype == "bf16" else torch.float32
    params = {k: int(v) for k, v in (kv.split("=") for kv in args.shape.split(","))}
    kernels.KERNELS.update(tensor_core.KERNELS)  # as benchmarks.run --tensor-core does
    spec = kernels.KERNELS[args.kernel]
    inputs = spec.make_inputs(params, dtype, device)
    ref = spec.reference(*inputs)
    copy = timing.copy_gbps(device, 1.0)
    moved = spec.min_bytes(inputs, ref)
    print(f"{args.kernel} {params} {args.dtype}: copy {copy:.0f} GB/s, {moved / 1e9:.3f} GB moved")
    fn = impls.make("kcompiler", args.kernel, impls.Options())
    rows = [(name, impls.make(name, args.kernel, impls.Options())) for name in args.peer]
    configs = [kc.Config(json.loads(c)) for c in args.config]
    if args.starts:
        configs += fn.config_space(*inputs).starts()
    rows += [(str(c), kc.kernel(fn.fn, config=c)) for c in configs]
    flops = tensor_core.flops(args.kernel, inputs) if args.kernel in tensor_core.KERNELS else 0
    for name, f in rows:
        try:
            out = f(*inputs)
            err, ok, _ = kernels.compare(out, ref, dtype)
            ms = timing.bench_ms(lambda f=f: f(*inputs), device)
            bw = moved / ms / 1e6 / copy * 100
            tf = f"{flops / ms / 1e9:6.0f} TFLOP/s  " if flops else ""
            print(f"  {ms:8.4f} ms  {bw:5.1f} % BW  {tf}correct={ok} err={err:.2e}  {name}")
        except Exception as e:  # a failing row is reported, the others still run
            print(f"  error {type(e).__name__}: {str(e)[:300]}  {name}")


if __name__ == "__main__":
    main()
