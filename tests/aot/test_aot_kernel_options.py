"""``kc.aot_kernel`` with Helion's signature: no table needed (a plain kernel that never
tunes), ``batched`` dims left out of the nearest-entry rule, ``key`` deciding what a table's
choice depends on, ``collect_fn``/``measure_fn`` giving ``python -m kcompiler.aot tune`` its
calls."""

from __future__ import annotations

from pathlib import Path

import aot_kernels
import pytest
import torch

import kcompiler as kc
from kcompiler.aot import Entry, Key, Table, calls_of
from kcompiler.aot.__main__ import main
from kcompiler.aot.specs import describe_call
from kcompiler.autotune import Tuner


def _table(kernel, entries) -> Table:
    table = Table.new(f"{kernel.fn.__module__}:{kernel.fn.__qualname__}", {"effort": "test"})
    for args, config in entries:
        table.add(Entry(Key.of_call(kernel, args, {}), config, 1.0, [describe_call(list(args))]))
    return table


def _cfg(b0: int, b1: int) -> kc.Config:
    return kc.Config(block_sizes=[b0, b1], num_warps=4, num_stages=1)


def test_without_a_table_it_is_a_kernel_that_never_tunes(monkeypatch) -> None:
    def no_tuning(*a, **k):
        raise AssertionError("a call tuned")

    monkeypatch.setattr(Tuner, "tune", no_tuning)

    @kc.aot_kernel()
    def double(x: torch.Tensor) -> torch.Tensor:
        out = torch.empty_like(x)
        for tile in kc.language.tile(x.size(0)):
            out[tile] = x[tile] * 2
        return out

    x = torch.randn(37)
    torch.testing.assert_close(double(x), x * 2)
    assert double.table is None
    bare = kc.aot_kernel(aot_kernels.add.fn)  # also without parentheses
    torch.testing.assert_close(bare(x, x), x + x)


def test_batched_dims_do_not_count_in_the_nearest_rule() -> None:
    fn = aot_kernels.scale_batched.fn
    plain = kc.kernel(fn)
    batched = kc.aot_kernel(fn, batched=[[0, None], None])
    entries = [
        ((torch.zeros(4096, 64), 2.0), _cfg(1, 64)),  # same batch, other width (6 steps)
        ((torch.zeros(4, 128), 2.0), _cfg(4, 128)),  # other batch (10 steps), same width
    ]
    x = torch.randn(4096, 128)
    plain.use_table(_table(plain, entries))
    batched.use_table(_table(batched, entries))
    # The nearest entry's config is fitted to the call's space (indexing etc. filled in).
    assert plain.table.config_for(plain, (x, 2.0), {}).block_sizes == [1, 64]
    assert batched.table.config_for(batched, (x, 2.0), {}).block_sizes == [4, 128]


def test_batched_must_fit_the_signature() -> None:
    with pytest.raises(kc.exc.InvalidArgument, match="one entry per parameter"):
        kc.aot_kernel(aot_kernels.add.fn, batched=[[0]])
    with pytest.raises(kc.exc.InvalidArgument, match="batched entry of 'y'"):
        kc.aot_kernel(aot_kernels.add.fn, batched=[None, 3])


def test_key_decides_what_the_choice_depends_on() -> None:
    calls = []

    def by_dtype(x: torch.Tensor, y: torch.Tensor) -> object:
        calls.append(x.shape)
        return x.dtype

    pointers = ["pointer"] * 3
    small = kc.Config(block_sizes=[64], num_warps=4, num_stages=1, indexing=pointers)
    large = kc.Config(block_sizes=[512], num_warps=4, num_stages=1, indexing=pointers)
    entries = [
        ((torch.zeros(1024), torch.zeros(1024)), small),
        ((torch.zeros(65536), torch.zeros(65536)), large),
    ]
    a, c = torch.randn(1024), torch.randn(70000)
    plain = kc.kernel(aot_kernels.add.fn)
    plain.use_table(_table(plain, entries))
    assert plain.table.config_for(plain, (c, c), {}).block_sizes == [512]
    k = kc.aot_kernel(aot_kernels.add.fn, key=by_dtype)
    k.use_table(_table(k, entries))
    assert k.table.config_for(k, (a, a), {}) == small
    # Another size, the same key: the choice made for that key.
    assert k.table.config_for(k, (c, c), {}).block_sizes == [64]
    torch.testing.assert_close(k(c, c), c + c)
    assert len(calls) >= 2
    with pytest.raises(kc.exc.InvalidArgument, match="key must be a callable"):
        kc.aot_kernel(aot_kernels.add.fn, key=3)


def test_collect_and_measure_calls_feed_the_tune_command(tmp_path: Path) -> None:
    assert len(calls_of(aot_kernels.scale_batched)) == 3
    assert calls_of(aot_kernels.add) == []
    out = tmp_path / "t.json"
    assert main(["tune", "aot_kernels:scale_batched", "--out", str(out), "--effort", "none"]) == 0
    assert len(Table.load(out).entries) == 3
    with pytest.raises(SystemExit, match="no calls to tune"):
        main(["tune", "aot_kernels:add", "--out", str(out)])
