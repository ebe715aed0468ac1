"""Check ``backends/triton/shared_memory.shared_memory_bytes`` against Triton's allocation on a GPU.

Two sets of configs of matmul (fp16, fp32), fp8_gemm and attention (fp16, D=64/128) (and, in
``draws``, of softmax, rms_norm, layer_norm and cross_entropy at the tune_compare shapes, whose
tensor-descriptor tiles of chunked rows take shared memory), each compiled and launched once, recording the estimate and Triton's number (the compiled kernel's
``metadata.shared``, or ``Required:`` of its OutOfResources error):

* ``grid``: block sizes 64-256 x num_stages 1-5 (the calibration of the estimate);
* ``draws``: configs drawn from each kernel's derived space (``kernel.config_space``, what the
  autotuner searches), and configs drawn from the same space without its ``shared_memory``
  constraint whose estimate is over the limit (what the constraint takes out; the backend
  refuses nothing by the estimate on a GPU, so Triton gives its verdict).

On the device machine (wheels: benchmarks/README.md):
``python3 benchmarks/shared_memory_calibration.py grid|draws [workers]`` writes
``$OUT/smem_<mode>.json`` and prints a summary; results/h100/shared_memory_calibration.md
holds one run.
"""

from __future__ import annotations

import collections
import itertools
import json
import multiprocessing as mp
import os
import random
import re
import sys

CASES = {
    "matmul-float16": ("matmul", "float16", None),
    "matmul-float32": ("matmul", "float32", None),
    "fp8_gemm": ("fp8_gemm", "float8_e4m3fn", None),
    "attention-d64": ("attention", "float16", 64),
    "attention-d128": ("attention", "float16", 128),
    # Memory-bound kernels (draws only): tensor-descriptor tiles of chunked rows.
    "softmax-float32": ("softmax", "float32", (4096, 12544)),
    "rms_norm-float32": ("rms_norm", "float32", (2048, 32768)),
    "layer_norm-bfloat16": ("layer_norm", "bfloat16", (4096, 15872)),
    "cross_entropy-bfloat16": ("cross_entropy", "bfloat16", (4096, 128256)),
}


def _case(key: str, device: str):
    import torch

    from kcompiler.kernels.attention import attention
    from kcompiler.kernels.fp8_gemm import fp8_gemm
    from kcompiler.kernels.matmul import matmul

    name, dt, d = CASES[key]
    dtype = getattr(torch, dt)
    g = torch.Generator().manual_seed(0)
    if isinstance(d, tuple):
        return _rows_case(name, dtype, d, device, g)
    if name == "matmul":
        a = torch.randn(2048, 2048, generator=g).to(device=device, dtype=dtype)
        return matmul, (a, a.clone())
    if name == "fp8_gemm":
        a = torch.randn(2048, 2048, generator=g).to(device=device, dtype=dtype)
        b = a.clone().t().contiguous().t()
        sc = torch.ones(1, device=device)
        return fp8_gemm, (a, b, sc, sc)
    q = torch.randn(2, 4, 2048, d, generator=g).to(device=device, dtype=dtype)
    return attention, (q, q.clone(), q.clone())


def _rows_case(name: str, dtype, shape: tuple[int, int], device: str, g):
    import torch

    from kcompiler.kernels.cross_entropy import cross_entropy
    from kcompiler.kernels.layer_norm import layer_norm_fwd
    from kcompiler.kernels.rms_norm import rms_norm_fwd
    from kcompiler.kernels.softmax import softmax

    m, n = shape
    x = torch.randn(m, n, generator=g).to(device=device, dtype=dtype)
    w = torch.randn(n, generator=g).to(device=device, dtype=dtype)
    if name == "softmax":
        return softmax, (x,)
    if name == "rms_norm":
        return rms_norm_fwd, (x, w, 1e-5)
    if name == "layer_norm":
        return layer_norm_fwd, (x, [n], w, w.clone(), 1e-5)
    labels = torch.randint(0, n, (m,), generator=g).to(device)
    return cross_entropy, (x, labels)


def grid_items() -> list[tuple[str, str, dict]]:
    out = []
    for bm, bn, bk, s in itertools.product(
        [64, 128, 256], [64, 128, 256], [32, 64, 128], [1, 2, 3, 4, 5]
    ):
        w = 8 if bm * bn >= 128 * 128 else 4
        out.append(
            ("grid", "matmul-float16", dict(block_sizes=[bm, bn, bk], num_stages=s, num_warps=w))
        )
    for bm, bn, bk, s in itertools.product([64, 128, 256], [64, 128, 256], [32, 64], [2, 3, 4]):
        w = 8 if bm * bn >= 128 * 128 else 4
        out.append(
            ("grid", "matmul-float32", dict(block_sizes=[bm, bn, bk], num_stages=s, num_warps=w))
        )
    for bm, bn, bk, s in itertools.product([128, 256], [128, 256], [64, 128], [3, 4, 5]):
        out.append(("grid", "fp8_gemm", dict(block_sizes=[bm, bn, bk], num_stages=s, num_warps=8)))
    for key, bm, bn, s in itertools.product(
        ["attention-d64", "attention-d128"], [64, 128], [64, 128], [2, 3, 4]
    ):
        out.append(("grid", key, dict(block_sizes=[1, 1, bm, bn], num_stages=s, num_warps=8)))
    return out


def draw_items(n: int) -> list[tuple[str, str, dict]]:
    from kcompiler.autotune import ConfigSpace
    from kcompiler.backends.triton.shared_memory import shared_memory_of_config
    from kcompiler.compiler.checks import shared_memory_limit

    limit = shared_memory_limit()
    out = []
    for key in CASES:
        # Wide rows compile and run for seconds: fewer of them.
        n_key = min(n, 12) if isinstance(CASES[key][2], tuple) else n
        kernel, args = _case(key, "cpu")
        space = kernel.config_space(*args)
        module = kernel.traced_modules(args, {})[0]
        rng = random.Random(1)
        out += [("drawn", key, dict(space.sample(rng))) for _ in range(n_key)]
        free = ConfigSpace(space.knobs, [c for c in space.constraints if c.name != "shared_memory"])
        over = []
        for _ in range(50 * n_key):
            c = dict(free.sample(rng))
            if shared_memory_of_config(module, c) > limit:
                over.append(("excluded", key, c))
            if len(over) >= n_key // 2:
                break
        out += over
    return out


def work(items):
    import torch
    from triton.runtime.jit import JITFunction

    import kcompiler as kc

    captured = []
    orig = JITFunction.run

    def run(self, *a, **k):
        r = orig(self, *a, **k)
        captured.append(r)
        return r

    JITFunction.run = run
    from kcompiler.backends.triton.shared_memory import shared_memory_of_config

    res = []
    for tag, key, cfg in items:
        # The backend refuses no config by the estimate on a GPU: the configs the constraint
        # takes out go to Triton, whose OutOfResources (an InvalidConfig's cause) is its verdict.
        kernel, args = _case(key, "cuda")
        est = shared_memory_of_config(kernel.traced_modules(args, {})[0], cfg)
        captured.clear()
        try:
            kernel.bind(*args).run(kc.Config(**cfg))
            torch.cuda.synchronize()
            sh = [c.metadata.shared for c in captured if hasattr(c, "metadata")]
            r = {"status": "ok", "shared": max(sh) if sh else None}
        except Exception as e:
            text, x = "", e
            while x is not None:
                text += f" | {type(x).__name__}: {x}"
                x = x.__cause__ or x.__context__
            m = re.search(r"Required: (\d+)", text)
            r = {"status": "fail", "required": int(m.group(1)) if m else None, "err": text[:300]}
        r.update(tag=tag, case=key, config=cfg, est=est)
        print(json.dumps(r), flush=True)
        res.append(r)
    return res


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "grid"
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    items = grid_items() if mode == "grid" else draw_items(int(os.environ.get("DRAWS", "24")))
    chunks = [items[i::workers] for i in range(workers)]
    with mp.get_context("spawn").Pool(workers) as p:
        flat = [r for part in p.map(work, chunks) for r in part]
    with open(os.path.join(os.environ.get("OUT", "."), f"smem_{mode}.json"), "w") as f:
        json.dump(flat, f)
    from kcompiler.compiler.checks import shared_memory_limit

    limit = shared_memory_limit()
    tally = collections.Counter()
    for r in flat:
        real = r["shared"] if r["status"] == "ok" else r["required"]
        tally[(r["tag"], r["case"], r["status"])] += 1
        if real is not None:
            tally[
                (
                    r["tag"],
                    "estimate " + ("==" if r["est"] == real else "<" if r["est"] < real else ">"),
                )
            ] += 1
        if r["status"] == "fail" and r["est"] <= limit:
            tally[(r["tag"], "FAILED BUT ESTIMATE FITS")] += 1
        if r["status"] == "ok" and r["est"] > limit:
            tally[(r["tag"], "COMPILED BUT ESTIMATE OVER")] += 1
    for k, v in sorted(tally.items()):
        print(k, v)


if __name__ == "__main__":
    main()
