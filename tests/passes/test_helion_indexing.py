"""``Config.indexing`` lists numbered Helion's way ("Helion's numbering" in
``passes/indexing.py``): which lists are accepted, which entry each generated load/store takes,
and that every mode computes the torch result."""

from __future__ import annotations

import inspect
import warnings

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser

import kcompiler as kc
import kcompiler.language as hl
from kcompiler.backends.triton.indexing import supported_modes
from kcompiler.dialects import tile as t
from kcompiler.exc import InvalidConfig, MergedIndexing
from kcompiler.passes.indexing import (
    check_count,
    generated_order,
    helion_length,
    memory_ops,
    mode_of,
    per_access_modes,
    rolled_forms,
)
from kcompiler.passes.pass_manager import PassManager, pipeline_for_config
from kcompiler.passes.pipeline import make_context
from kcompiler.passes.split_reductions import CHUNK_MODES
from kcompiler.testing import assert_matches_torch, call_with_config, dtypes

P, TD = "pointer", "tensor_descriptor"
ACF = [P, P, TD, TD, P, P]  # acfs/softmax_acf.py's list


@kc.kernel(static_shapes=True)
def softmax(x: torch.Tensor) -> torch.Tensor:
    n, _m = x.size()
    out = torch.empty_like(x)
    for tile_n in hl.tile(n):
        out[tile_n, :] = torch.nn.functional.softmax(x[tile_n, :], dim=1)
    return out


@kc.kernel(static_shapes=True)
def rms_norm(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    m, n = x.size()
    out = torch.empty_like(x)
    for tile_m in hl.tile(m):
        xt = x[tile_m, :].to(torch.float32)
        var = torch.mean(xt * xt, dim=-1)
        inv = torch.rsqrt(var + 1e-5)
        out[tile_m, :] = (xt * inv[:, None] * w[None, :].to(torch.float32)).to(out.dtype)
    return out


@kc.kernel(static_shapes=True)
def layer_norm(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    m, n = x.size()
    out = torch.empty_like(x)
    for tile_m in hl.tile(m):
        acc = x[tile_m, :].to(torch.float32)
        mean = torch.mean(acc, dim=-1, keepdim=True)
        centered = acc - mean
        var = torch.mean(centered * centered, dim=-1, keepdim=True)
        normalized = centered * torch.rsqrt(var + 1e-5)
        out[tile_m, :] = (normalized * w[None, :] + b[None, :]).to(out.dtype)
    return out


@kc.kernel(static_shapes=True)
def row_sum(x: torch.Tensor) -> torch.Tensor:
    m, n = x.size()
    out = torch.empty([m], dtype=x.dtype, device=x.device)
    for tile_m in hl.tile(m):
        out[tile_m] = x[tile_m, :].sum(-1)
    return out


@kc.kernel(static_shapes=True)
def sum_and_max(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    m, n = x.size()
    s = torch.empty([m], dtype=x.dtype, device=x.device)
    mx = torch.empty([m], dtype=x.dtype, device=x.device)
    for tile_m in hl.tile(m):
        v = x[tile_m, :]
        s[tile_m] = v.sum(-1)
        mx[tile_m] = torch.amax(v, -1)
    return s, mx


@kc.kernel(static_shapes=True)
def normalize_by_sum(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    m, n = x.size()
    out = torch.empty_like(x)
    for tile_m in hl.tile(m):
        a = x[tile_m, :]
        b = y[tile_m, :]
        tot = (a * b).sum(-1, keepdim=True)
        out[tile_m, :] = a / tot + b
    return out


@kc.kernel(static_shapes=True)
def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    n, v = logits.shape
    losses = torch.zeros([n], dtype=logits.dtype, device=logits.device)
    logits_flat = logits.view(-1)
    for tile_n in hl.tile(n):
        labels_tile = labels[tile_n]
        flat_indices = tile_n.index * v + labels_tile
        logits_at_target = hl.load(logits_flat, [flat_indices])
        logits_rows = logits[tile_n, :]
        max_logits = torch.amax(logits_rows, dim=-1, keepdim=True)
        sum_exp = torch.sum(torch.exp(logits_rows - max_logits), dim=-1, keepdim=True)
        log_sum_exp = max_logits.squeeze(-1) + torch.log(sum_exp.squeeze(-1))
        losses[tile_n] = log_sum_exp - logits_at_target
    return losses.mean()


@kc.kernel(static_shapes=True)
def scale_rows(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    m, n = x.size()
    out = torch.empty_like(x)
    for tile_m in hl.tile(m):
        scale = w[tile_m]
        row = x[tile_m, :]
        mx = torch.amax(row, dim=-1, keepdim=True)
        out[tile_m, :] = row / mx * scale[:, None]
    return out


def _args(kernel: kc.Kernel, m: int = 7, n: int = 300) -> tuple[torch.Tensor, ...]:
    """Rows of ``x``, then what else the kernel takes: a second ``[m, n]`` tensor, per-row
    labels or scales, or ``[n]`` weights."""
    if kernel is normalize_by_sum:
        return torch.randn(m, n), torch.randn(m, n) + 3
    if kernel is cross_entropy:
        return torch.randn(m, n), torch.randint(0, n, (m,))
    if kernel is scale_rows:
        return torch.randn(m, n), torch.randn(m)
    count = len(inspect.signature(kernel.fn).parameters)
    return (torch.randn(m, n), *(torch.randn(n) for _ in range(count - 1)))


def _ir(kernel: kc.Kernel, m: int = 7, n: int = 300) -> ModuleOp:
    return Parser(make_context(), kernel.to_ir(*_args(kernel, m, n))).parse_module()


def _kernel_op(module: ModuleOp) -> t.KernelOp:
    return next(op for op in module.walk() if isinstance(op, t.KernelOp))


# Helion at ef091f4 on the same kernel sources: len(config_spec.indexing), and the loads and
# stores of the kernel it generates with every reduction rolled (reduction_loops set), in
# order: the tensor, and ``@k`` for the k-th rolled pass (none for an access left in place).
HELION = {
    softmax: (6, "x@0 x@1 x@2 out@2"),
    rms_norm: (7, "x@0 x@1 w@1 out@1"),
    layer_norm: (10, "x@0 x@1 x@2 w@2 b@2 out@2"),
    row_sum: (3, "x@0 out"),
    sum_and_max: (5, "x@0 s x@1 mx"),
    normalize_by_sum: (8, "x@0 y@0 x@1 y@1 out@1"),
    cross_entropy: (6, "labels logits_flat logits@0 logits@1 losses"),
    scale_rows: (6, "w x@0 x@1 out@1"),
}


@pytest.mark.parametrize("kernel", list(HELION), ids=lambda k: k.fn.__name__)
def test_the_model_numbers_as_helion_does(kernel: kc.Kernel) -> None:
    length, rolled = HELION[kernel]
    k = _kernel_op(_ir(kernel))
    assert helion_length(k) == length
    forms = rolled_forms(k)
    assert forms is not None
    order = generated_order(k, {block: form for _, block, form in forms})
    passes: list[object] = []
    for _, p in order:
        if p is not None and p not in passes:
            passes.append(p)
    names = dict(zip(k.body.block.args, k.names))
    got = [names[a.tensor] + (f"@{passes.index(p)}" if p is not None else "") for a, p in order]
    assert " ".join(got) == rolled
    # Without rolling, the generated kernel's accesses are the source's, in program order.
    assert [a for a, _ in generated_order(k, {})] == memory_ops(k)


def test_which_numbering_a_list_uses() -> None:
    k = _kernel_op(_ir(softmax))
    ops = memory_ops(k)
    assert check_count(k, ops, [TD, P]) == "source"
    assert check_count(k, ops, [TD]) == "uniform"
    assert check_count(k, ops, [TD] * 6) == "uniform"
    assert check_count(k, ops, ACF) == "helion"
    lines, first = inspect.getsourcelines(softmax.fn)
    line = first + next(i for i, text in enumerate(lines) if "out[tile_n, :] =" in text)
    for wrong in (ACF[:5], [*ACF, P]):
        with pytest.raises(InvalidConfig) as info:
            check_count(k, ops, wrong)
        message = str(info.value)
        assert f"indexing has {len(wrong)} entries but kernel @softmax_kernel has 2 " in message
        assert f"load x (test_helion_indexing.py:{line})" in message
        assert f"store out (test_helion_indexing.py:{line})" in message
        assert "Helion's numbering, which adds the loads/stores of its rolled reduction" in message
        assert "has 6" in message


def _modes_after(module: ModuleOp, config: kc.Config) -> list[tuple[str, str, str]]:
    """(loop's block, load/store, mode) of each access after the config's pipeline."""
    module = module.clone()
    PassManager(pipeline_for_config(module, config), done=["shape-inference"]).run(module)
    out = []
    for op in memory_ops(module):
        assert CHUNK_MODES not in op.attributes
        loop = op.parent_op()
        block = loop.block.data if isinstance(loop, t.ForOp) else ""
        out.append((block, "load" if isinstance(op, t.LoadOp) else "store", mode_of(op)))
    return out


def test_each_generated_access_takes_its_entry() -> None:
    module = _ir(softmax, 8, 256)
    # Chunked: the online max/sum loop stands for Helion's max and sum passes (entries 0, 1),
    # the store loop for its normalize pass (entries 2, 3).
    chunked = _modes_after(module, kc.Config(indexing=ACF, reduction_loops=[64]))
    assert chunked == [
        ("rblock_256", "load", P),
        ("rblock_256", "load", TD),
        ("rblock_256", "store", TD),
    ]
    swapped = [TD, TD, P, P, P, P]
    assert [
        m for *_, m in _modes_after(module, kc.Config(indexing=swapped, reduction_loops=[64]))
    ] == [
        TD,
        P,
        P,
    ]
    # Whole rows: the source's load and store, entries 0 and 1.
    whole = _modes_after(module, kc.Config(indexing=[TD, P, P, P, P, P]))
    assert whole == [("block_0", "load", TD), ("block_0", "store", P)]


def test_accesses_left_in_place_take_their_generated_entry() -> None:
    # Helion's rolled sum_and_max runs: sum pass (load: entry 0), store s (1), max pass
    # (load: 2), store mx (3); kcompiler splits it into the same two loops.
    module = _ir(sum_and_max, 8, 256)
    config = kc.Config(indexing=[P, TD, TD, P, P], reduction_loops=[64])
    assert _modes_after(module, config) == [
        ("rblock_256", "load", P),
        ("block_0", "store", TD),
        ("rblock_256", "load", TD),
        ("block_0", "store", P),
    ]
    whole = _modes_after(module, kc.Config(indexing=[P, TD, TD, P, P]))
    assert [m for *_, m in whole] == [P, TD, TD]


def test_merged_copies_take_the_first_entry_and_warn() -> None:
    module = _ir(softmax, 8, 256)
    config = kc.Config(indexing=[P, TD, P, TD, P, P], reduction_loops=[64])
    with pytest.warns(
        MergedIndexing, match=r"load x .*entries \[0, 1\].*takes entry 0 \(pointer\)"
    ):
        modes = _modes_after(module, config)
    assert [m for *_, m in modes] == [P, P, TD]
    with warnings.catch_warnings():
        warnings.simplefilter("error", MergedIndexing)  # equal entries merge silently
        _modes_after(module, kc.Config(indexing=[TD, TD, P, P, P, P], reduction_loops=[64]))


def test_estimates_count_an_access_by_its_widest_copy() -> None:
    module = _ir(softmax, 8, 256)
    assert per_access_modes(module, ACF, ["256"]) == (TD, TD)
    assert per_access_modes(module, ACF) == (P, P)  # whole rows: entries 0 and 1
    assert per_access_modes(module, [TD, P]) == (TD, P)  # kcompiler's own numbering


ROW_KERNELS = {
    "softmax": (softmax, lambda x: torch.softmax(x.float(), 1).to(x.dtype)),
    "rms_norm": (
        rms_norm,
        lambda x, w: (
            x.float() * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + 1e-5) * w.float()
        ).to(x.dtype),
    ),
}


@given(
    name=st.sampled_from(sorted(ROW_KERNELS)),
    m=st.sampled_from([1, 5, 17]),
    n=st.sampled_from([40, 136, 300]),
    dtype=dtypes(),
    chunk=st.sampled_from([None, 32, 64]),
    data=st.data(),
)
def test_every_helion_list_matches_torch(
    name: str, m: int, n: int, dtype: torch.dtype, chunk: int | None, data: st.DataObject
) -> None:
    kernel, ref = ROW_KERNELS[name]
    args = tuple(a.to(dtype) for a in _args(kernel, m, n))
    length = helion_length(_kernel_op(_ir(kernel, m, n)))
    assert length is not None
    modes = data.draw(
        st.lists(st.sampled_from(supported_modes()), min_size=length, max_size=length)
    )
    config = kc.Config(block_sizes=[4], indexing=modes, reduction_loops=[chunk])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MergedIndexing)
        assert_matches_torch(lambda *a: call_with_config(kernel, config, *a), ref, *args)


def test_the_acf_example_config_runs_its_descriptors(descriptor_checks: list[bool]) -> None:
    config = kc.Config(
        block_sizes=[4], indexing=ACF, num_stages=2, num_warps=8, reduction_loops=[512]
    )
    x = torch.randn(37, 1000, dtype=torch.float16)
    assert_matches_torch(
        lambda x: call_with_config(softmax, config, x),
        lambda x: torch.softmax(x.float(), 1).to(x.dtype),
        x,
    )
    assert descriptor_checks and all(descriptor_checks)
    code = softmax.to_triton_code(x, config=config)
    kernel = code.split("# The same kernel with pointers")[0]
    # Pointers in the online max/sum loop (entries 0, 1), descriptors in the store loop's.
    assert 0 < kernel.index("tl.load(") < kernel.index(".load([") < kernel.index(".store([")
