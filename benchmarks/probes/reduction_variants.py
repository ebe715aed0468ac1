"""Hand-written Triton variants of the chunked row reductions, timed next to kcompiler's code.

A probe for deciding codegen changes before making them: each variant changes one thing in the
loop that kcompiler emits (the ragged last chunk peeled off so the main loop has no masks; an
elementwise accumulator reduced once after the loop; exp2 with log2(e) folded in). It prints
median ms, % of the copy bandwidth and the SASS instruction count of each compiled variant.
"""

from __future__ import annotations

import sys

import torch
import triton
import triton.language as tl

from benchmarks import timing

LOG2E = 1.4426950408889634


@triton.jit
def ce_masked(x_ptr, lab_ptr, out_ptr, stride, n_cols, BLOCK: tl.constexpr):
    """kcompiler's loop as emitted: masked chunks, cross-warp max and sum per chunk."""
    row = tl.program_id(0)
    m = tl.full((1,), float("-inf"), tl.float32)
    s = tl.zeros((1,), tl.float32)
    for start in tl.range(0, n_cols, BLOCK):
        offs = start + tl.arange(0, BLOCK)
        mask = offs < n_cols
        x = tl.load(x_ptr + row * stride + offs, mask=mask, other=0.0).to(tl.float32)
        cm = tl.max(tl.where(mask, x, float("-inf")), 0)
        m_new = tl.maximum(m, cm)
        e = tl.where(mask, tl.exp(x - m_new), 0.0)
        s = s * tl.exp(m - m_new) + tl.sum(e, 0)
        m = m_new
    lab = tl.load(lab_ptr + row)
    tgt = tl.load(x_ptr + row * stride + lab).to(tl.float32)
    tl.store(out_ptr + row + tl.arange(0, 1), m + tl.log(s) - tgt)


@triton.jit
def ce_peeled(
    x_ptr,
    lab_ptr,
    out_ptr,
    stride,
    n_cols,
    BLOCK: tl.constexpr,
    ELEMWISE: tl.constexpr,
    EXP2: tl.constexpr,
):
    """Whole chunks without masks, then one masked tail chunk."""
    row = tl.program_id(0)
    m = tl.full((1,), float("-inf"), tl.float32)
    if ELEMWISE:
        acc = tl.zeros((BLOCK,), tl.float32)
    else:
        acc = tl.zeros((1,), tl.float32)
    n_full = (n_cols // BLOCK) * BLOCK
    for start in tl.range(0, n_full, BLOCK):
        offs = start + tl.arange(0, BLOCK)
        x = tl.load(x_ptr + row * stride + offs).to(tl.float32)
        m_new = tl.maximum(m, tl.max(x, 0))
        if EXP2:
            e = tl.math.exp2(x * 1.4426950408889634 - m_new * 1.4426950408889634)
            scale = tl.math.exp2((m - m_new) * 1.4426950408889634)
        else:
            e = tl.exp(x - m_new)
            scale = tl.exp(m - m_new)
        if ELEMWISE:
            acc = acc * scale + e
        else:
            acc = acc * scale + tl.sum(e, 0)
        m = m_new
    offs = n_full + tl.arange(0, BLOCK)
    mask = offs < n_cols
    x = tl.load(x_ptr + row * stride + offs, mask=mask, other=0.0).to(tl.float32)
    m_new = tl.maximum(m, tl.max(tl.where(mask, x, float("-inf")), 0))
    e = tl.where(mask, tl.exp(x - m_new), 0.0)
    if ELEMWISE:
        acc = acc * tl.exp(m - m_new) + e
        s = tl.sum(acc, 0)
    else:
        s = tl.sum(acc * tl.exp(m - m_new) + tl.sum(e, 0), 0)
    lab = tl.load(lab_ptr + row)
    tgt = tl.load(x_ptr + row * stride + lab).to(tl.float32)
    tl.store(out_ptr + row + tl.arange(0, 1), m_new + tl.log(s) - tgt)


@triton.jit
def sum_whole(x_ptr, out_ptr, stride, N: tl.constexpr):
    row = tl.program_id(0)
    x = tl.load(x_ptr + row * stride + tl.arange(0, N))
    tl.store(out_ptr + row, tl.sum(x, 0))


@triton.jit
def sum_chunks(
    x_ptr, out_ptr, stride, n_cols, ROWS: tl.constexpr, BLOCK: tl.constexpr, ELEMWISE: tl.constexpr
):
    rows = tl.program_id(0) * ROWS + tl.arange(0, ROWS)
    if ELEMWISE:
        acc = tl.zeros((ROWS, BLOCK), tl.float32)
    else:
        acc = tl.zeros((ROWS,), tl.float32)
    for start in tl.range(0, n_cols, BLOCK):
        offs = start + tl.arange(0, BLOCK)
        x = tl.load(x_ptr + rows[:, None] * stride + offs[None, :], eviction_policy="evict_first")
        if ELEMWISE:
            acc += x
        else:
            acc += tl.sum(x, 1)
    if ELEMWISE:
        tl.store(out_ptr + rows, tl.sum(acc, 1))
    else:
        tl.store(out_ptr + rows, acc)


def sass_count(compiled) -> int:
    try:
        sass = compiled.asm.get("sass") or ""
        return sum(
            1
            for line in sass.splitlines()
            if line.strip().startswith("/*") and "*/" in line and ";" in line
        )
    except Exception:
        return -1


def bench(name, fn, moved, copy, ref=None, out=None, **kwargs) -> None:
    """Times fn(**kwargs); kwargs are bound here so each variant keeps its own."""
    device = torch.device("cuda")

    def launch():
        return fn(**kwargs)

    try:
        compiled = launch()
        torch.cuda.synchronize()
        ok = ""
        if ref is not None:
            err = (out.float() - ref.float()).abs().max().item()
            ok = f"err={err:.2e}"
        ms = timing.bench_ms(launch, device)
        print(
            f"  {ms:8.4f} ms {moved / ms / 1e6 / copy * 100:6.1f} % BW  sass={sass_count(compiled):5d}  {ok}  {name}",
            flush=True,
        )
    except Exception as e:
        print(f"  error {type(e).__name__}: {str(e)[:300]}  {name}", flush=True)


def dump_inductor(out_dir: str) -> None:
    """Writes the Triton code torch.compile generates for the reductions we trail it on."""
    import os

    from torch._inductor.utils import run_and_get_code

    device = torch.device("cuda")
    cases = {
        "sum_4096x8192": (lambda t: t.sum(-1), torch.randn(4096, 8192, device=device)),
        "rms_norm_bf16_4096x8192": (
            lambda t: torch.nn.functional.rms_norm(t, (t.shape[-1],), eps=1e-6),
            torch.randn(4096, 8192, device=device, dtype=torch.bfloat16),
        ),
        "layer_norm_4096x4096": (
            lambda t: torch.nn.functional.layer_norm(t, (t.shape[-1],)),
            torch.randn(4096, 4096, device=device),
        ),
    }
    os.makedirs(out_dir, exist_ok=True)
    for name, (fn, x) in cases.items():
        torch._dynamo.reset()
        _, codes = run_and_get_code(torch.compile(fn), x)
        with open(os.path.join(out_dir, f"inductor_{name}.py"), "w") as f:
            f.write("\n\n".join(codes))


def main() -> None:
    device = torch.device("cuda")
    if sys.argv[1:2] == ["dump"]:
        dump_inductor(sys.argv[2])
        return
    copy = timing.copy_gbps(device, 1.0)
    print(f"copy {copy:.0f} GB/s")
    which = sys.argv[1:] or ["ce", "sum"]
    if "ce" in which:
        n, v = 4096, 128256
        x = torch.randn(n, v, device=device, dtype=torch.bfloat16)
        lab = torch.randint(0, v, (n,), device=device)
        ref = torch.nn.functional.cross_entropy(x.float(), lab, reduction="none")
        out = torch.empty(n, device=device, dtype=torch.float32)
        moved = x.numel() * 2
        print(f"cross_entropy bf16 {n}x{v}")
        for warps in (4, 8):
            for block in (2048, 4096, 8192):
                g = (n,)
                bench(
                    f"masked w{warps} b{block}",
                    ce_masked[g],
                    moved,
                    copy,
                    ref,
                    out,
                    x_ptr=x,
                    lab_ptr=lab,
                    out_ptr=out,
                    stride=v,
                    n_cols=v,
                    BLOCK=block,
                    num_warps=warps,
                )
                for ew in (0, 1):
                    for e2 in (0, 1):
                        bench(
                            f"peeled elemwise={ew} exp2={e2} w{warps} b{block}",
                            ce_peeled[g],
                            moved,
                            copy,
                            ref,
                            out,
                            x_ptr=x,
                            lab_ptr=lab,
                            out_ptr=out,
                            stride=v,
                            n_cols=v,
                            BLOCK=block,
                            ELEMWISE=ew,
                            EXP2=e2,
                            num_warps=warps,
                        )
    if "sum" in which:
        for m, n in ((4096, 8192), (10240, 10240)):
            x = torch.randn(m, n, device=device)
            ref = x.sum(-1)
            out = torch.empty(m, device=device)
            moved = x.numel() * 4
            print(f"sum fp32 {m}x{n}")
            comp = torch.compile(lambda t: t.sum(-1))
            comp(x)
            bench("torch.compile", comp, moved, copy, t=x)
            if n & (n - 1) == 0:
                for warps in (4, 8, 16):
                    bench(
                        f"whole w{warps}",
                        sum_whole[(m,)],
                        moved,
                        copy,
                        ref,
                        out,
                        x_ptr=x,
                        out_ptr=out,
                        stride=n,
                        N=n,
                        num_warps=warps,
                    )
            for rows in (1, 2):
                for block in (1024, 2048, 4096):
                    if n % block:
                        continue
                    for warps in (4, 8, 16):
                        for ew in (0, 1):
                            bench(
                                f"chunks rows{rows} b{block} w{warps} elemwise={ew}",
                                sum_chunks[(m // rows,)],
                                moved,
                                copy,
                                ref,
                                out,
                                x_ptr=x,
                                out_ptr=out,
                                stride=n,
                                n_cols=n,
                                ROWS=rows,
                                BLOCK=block,
                                ELEMWISE=ew,
                                num_warps=warps,
                            )


if __name__ == "__main__":
    main()
