"""Compile and run the nine bundled kernels, printing max error vs torch for each.

``python -m kcompiler.demo`` runs on the CPU through Triton's interpreter when no GPU is
present, and on the GPU unchanged (``--size large`` uses realistic sizes there).
"""

from __future__ import annotations

import argparse
import time
import warnings

import torch

import kcompiler  # noqa: F401  (chooses the interpreter on a CPU-only machine)
from kcompiler.kernels import (
    cross_entropy,
    embedding,
    jagged_mean,
    layer_norm,
    rms_norm,
    softmax,
    vector_add,
    vector_exp,
)
from kcompiler.kernels import (
    sum as row_sum,
)


def cases(device: str, large: bool, dtype: torch.dtype):
    g = torch.Generator().manual_seed(0)

    def rnd(*shape: int, dt: torch.dtype = dtype) -> torch.Tensor:
        return torch.randn(*shape, generator=g).to(dt).to(device)

    m, n = (4096, 8192) if large else (37, 1000)
    numel = 2**27 if large else 4097
    v, d = (131072, 4096) if large else (1000, 96)
    a, b = rnd(numel), rnd(numel)
    yield "vector_add", lambda: vector_add.vector_add(a, b), lambda: a + b
    yield "vector_exp", lambda: vector_exp.vector_exp(a), lambda: torch.exp(a)
    idx = torch.randint(0, v, (8, 2048) if large else (3, 17), generator=g).to(device)
    w = rnd(v, d)
    yield "embedding", lambda: embedding.embedding(idx, w), lambda: w[idx]
    x = rnd(m, n)
    yield "sum", lambda: row_sum.sum(x), lambda: x.sum(-1)
    wn, bn = rnd(n), rnd(n)

    def rms_ref() -> torch.Tensor:
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + 1e-6) * wn.float()).to(x.dtype)

    yield "rms_norm", lambda: rms_norm.rms_norm(x, wn, 1e-6), rms_ref
    yield (
        "layer_norm",
        lambda: layer_norm.layer_norm(x, [n], wn, bn),
        lambda: torch.nn.functional.layer_norm(x.float(), [n], wn.float(), bn.float()).to(x.dtype),
    )
    yield "softmax", lambda: softmax.softmax(x), lambda: torch.softmax(x.float(), -1).to(x.dtype)
    nv, vv = (4096, 128256) if large else (33, 1003)
    logits = rnd(nv, vv)
    tgt = torch.randint(0, vv, (nv,), generator=g).to(device)
    yield (
        "cross_entropy",
        lambda: cross_entropy.cross_entropy(logits, tgt),
        lambda: torch.nn.functional.cross_entropy(logits.float(), tgt).to(logits.dtype),
    )
    bsz, maxlen, dd = (1024, 2048, 256) if large else (9, 13, 24)
    lengths = torch.randint(0, maxlen + 1, (bsz,), generator=g)
    offsets = torch.cat([torch.zeros(1, dtype=torch.int64), lengths.cumsum(0)]).to(device)
    values = rnd(int(lengths.sum()), dd)

    def jagged_ref() -> torch.Tensor:
        out = torch.zeros(bsz, dd, dtype=values.dtype, device=device)
        for i in range(bsz):
            s, e = int(offsets[i]), int(offsets[i + 1])
            if e > s:
                out[i] = values[s:e].float().mean(0).to(values.dtype)
        return out

    yield "jagged_mean", lambda: jagged_mean.jagged_mean(values, offsets), jagged_ref


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", choices=["small", "large"], default="small")
    parser.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default="float32")
    args = parser.parse_args()
    # The interpreter computes masked-off lanes too (log of 0, 0/0); their results are never
    # stored, so numpy's warnings about them are noise here.
    warnings.filterwarnings("ignore", category=RuntimeWarning, module="triton.runtime.interpreter")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = getattr(torch, args.dtype)
    print(f"device={device} dtype={args.dtype} size={args.size}")
    print(f"{'kernel':<14} {'max |err|':>12} {'first call s':>13}")
    failed = 0
    for name, run, ref in cases(device, args.size == "large", dtype):
        t0 = time.perf_counter()
        try:
            got = run()
        except Exception as e:  # report and continue: one broken kernel must not hide others
            print(f"{name:<14} FAILED: {type(e).__name__}: {e}")
            failed += 1
            continue
        elapsed = time.perf_counter() - t0
        err = (got.float() - ref().float()).abs().max().item()
        print(f"{name:<14} {err:>12.3e} {elapsed:>13.2f}")
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
