"""Config tables (kcompiler/aot): keys, the lookup rule, loading into a kernel, the CLI."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import aot_kernels
import pytest
import torch

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.aot import AotTableWarning, Entry, Key, Table, TableError, aot_kernel
from kcompiler.aot.__main__ import main
from kcompiler.aot.specs import describe_call, load_calls, make_call
from kcompiler.autotune import Tuner
from kcompiler.runtime.config_table import current_card, describe_entry


def vec(n: int, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(n).to(dtype), torch.randn(n).to(dtype)


def key_of(kernel, *args) -> Key:
    return Key.of_call(kernel, args, {})


def table_for(kernel, entries: list[tuple[tuple, kc.Config]], **header) -> Table:
    table = Table.new(f"{kernel.fn.__module__}:{kernel.fn.__qualname__}", {"effort": "test"})
    for args, config in entries:
        shape = describe_call(list(args))
        table.add(Entry(key_of(kernel, *args), config, 1.0, [shape]))
    for name, value in header.items():
        setattr(table, name, value)
    return table


def add_config(block: int, warps: int = 4) -> kc.Config:
    """A valid config of aot_kernels.add's space."""
    return kc.Config(
        block_sizes=[block],
        num_warps=warps,
        num_stages=1,
        indexing=["pointer", "pointer", "pointer"],
    )


@pytest.fixture
def add():
    """A fresh copy of aot_kernels.add (tables attach to the kernel object)."""
    return kc.kernel(aot_kernels.add.fn)


# -- keys ---------------------------------------------------------------------------------


def test_key_is_the_specialization_in_readable_form() -> None:
    x = torch.randn(16, 300)
    key = key_of(aot_kernels.scale_rows, x, 0.5, True)
    assert key.to_json() == {
        "args": {"x": "float32[s0, s1]", "alpha": "float", "flip": "bool True"},
        "buckets": {"s0": 16, "s1": 512},
        "divisors": {"s0": 16, "s1": 4},
        "int64_indexing": False,
    }
    assert key.ident == "x: float32[s0, s1]; alpha: float; flip: bool True | s0 16/16, s1 512/4"
    # Equal sizes share a symbol; 1 is literal; the float's value does not matter.
    square = key_of(aot_kernels.scale_rows, torch.randn(64, 64), 2.0, True)
    assert dict(square.args)["x"] == "float32[s0, s0]"
    assert dict(key_of(aot_kernels.scale_rows, torch.randn(1, 8), 1.0, True).args)["x"] == (
        "float32[1, s0]"
    )
    # Same bucket and divisor: the same key.
    assert key_of(aot_kernels.scale_rows, torch.randn(16, 260), 9.0, True) == key
    assert Key.from_json(json.loads(json.dumps(key.to_json()))) == key


class Knobs:
    """An argument of no kind the key knows: held by identity, described by its type."""


@kc.kernel
def every_kind(
    x: torch.Tensor,
    n: int,
    bias: torch.Tensor | None,
    dims: tuple,
    scale: kl.constexpr,
    knobs: Knobs,
) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] * scale + n
    return out


def test_key_describes_every_kind_of_argument() -> None:
    # A table's keys are text (read back from JSON); each kind of argument has its own form.
    x, knobs = torch.randn(19), Knobs()
    key = key_of(every_kind, x, 7, None, (2, 3), 2.5, knobs)
    assert key.to_json()["args"] == {
        "x": "float32[s0]",
        "n": "int s1",
        "bias": "None",
        "dims": "const (2, 3)",
        "scale": "const 2.5",
        "knobs": "object Knobs",
    }
    # Kinds a device loop's key holds besides arguments (host constants, globals read).
    assert describe_entry(("bc", "K", 16)) == "constant 16"
    assert describe_entry(("<globals>", "G", (("SCALE", 2.0),))) == "globals 1"
    # An int equal to a size is that size's symbol.
    assert dict(key_of(every_kind, x, 19, None, (2, 3), 2.5, knobs).args)["n"] == "int s0"


def test_nearest_rule_buckets_then_not_below_then_divisors_then_order() -> None:
    k = aot_kernels.add
    table = table_for(
        k,
        [
            (vec(1024), add_config(64)),  # bucket 1024, divisor 1024
            (vec(4096), add_config(256)),  # bucket 4096
            (vec(2000), add_config(128)),  # bucket 2048, divisor 16
        ],
    )
    assert table.lookup(key_of(k, *vec(1024)))[0].config == add_config(64)
    assert table.lookup(key_of(k, *vec(1024)))[1] is True
    # 2047 (bucket 2048, divisor 1): the 2048-bucket entry, 0 steps away.
    entry, exact = table.lookup(key_of(k, *vec(2047)))
    assert (entry.config, exact) == (add_config(128), False)
    # 8192: one step from 4096, two from 2048.
    assert table.lookup(key_of(k, *vec(8192)))[0].config == add_config(256)
    # 600 (bucket 1024, divisor 8): the 1024 entry (0 steps) over 2000 (1 step).
    assert table.lookup(key_of(k, *vec(600)))[0].config == add_config(64)
    # A tie in buckets: 24576 (bucket 32768) is 1 step from 12288 (bucket 16384) and from
    # 65536; the entry not below the call's sizes wins, though 12288 was listed first.
    table.add(Entry(key_of(k, *vec(3 * 4096)), add_config(512), 1.0))
    table.add(Entry(key_of(k, *vec(65536)), add_config(1024), 1.0))
    assert table.lookup(key_of(k, *vec(3 * 8192)))[0].config == add_config(1024)
    # Both above by one step: divisors break it. 2047 (bucket 2048, divisor 1) is 10 divisor
    # steps from 3072 (bucket 4096, divisor 1024) and 12 from 4096.
    above = table_for(k, [(vec(4096), add_config(256)), (vec(3072), add_config(128))])
    assert above.lookup(key_of(k, *vec(2047)))[0].config == add_config(128)
    # A full tie (2 equal entries differing only in size equalities): same signature first.
    x1, y1 = torch.randn(4, 8), torch.randn(4, 8)
    square = table_for(k, [((torch.randn(8, 8),) * 2, add_config(8)), ((x1, y1), add_config(16))])
    assert square.lookup(key_of(k, torch.randn(4, 16), torch.randn(4, 16)))[0].config == (
        add_config(16)
    )
    # Another dtype or rank: no entry of the class.
    assert table.lookup(key_of(k, *vec(1024, torch.float16))) is None
    x2 = torch.randn(4, 256)
    assert table.lookup(key_of(k, x2, x2)) is None


def test_table_json_is_stable_and_round_trips(tmp_path: Path) -> None:
    k = aot_kernels.add
    table = table_for(k, [(vec(4096), add_config(256)), (vec(1024), add_config(64))])
    path = tmp_path / "t.json"
    table.save(path)
    again = Table.load(path)
    assert again.dumps() == table.dumps() == path.read_text()
    data = json.loads(path.read_text())
    assert data["format"] == "kcompiler-aot-table/1"
    assert data["card"] == current_card() and set(data["versions"]) >= {"kcompiler", "triton"}
    buckets = [e["key"]["buckets"]["s0"] for e in data["entries"]]
    assert buckets == [1024, 4096]  # ordered by size, whatever the order of tuning
    assert data["entries"][0]["shapes"] == [
        {"args": [{"shape": [1024], "dtype": "float32"}, {"shape": [1024], "dtype": "float32"}]}
    ]
    with pytest.raises(TableError, match="two entries"):
        table.add(Entry(key_of(k, *vec(4096)), add_config(128)))
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(TableError, match="cannot read"):
        Table.load(tmp_path / "bad.json")


# -- a kernel with a table ----------------------------------------------------------------


def test_calls_use_the_exact_then_nearest_entry_and_never_tune(add, monkeypatch) -> None:
    def no_tuning(*a, **k):
        raise AssertionError("a call tuned")

    monkeypatch.setattr(Tuner, "tune", no_tuning)
    table = table_for(add, [(vec(1024), add_config(64, 2)), (vec(65536), add_config(512, 8))])
    add.use_table(table)
    x, y = vec(1024)
    assert add.table.config_for(add, (x, y), {}) == add_config(64, 2)
    torch.testing.assert_close(add(x, y), x + y)
    assert add.to_triton_code(x, y) == add.to_triton_code(x, y, config=add_config(64, 2))
    x, y = vec(40000)  # bucket 65536
    assert add.table.config_for(add, (x, y), {}) == add_config(512, 8)
    torch.testing.assert_close(add(x, y), x + y)
    x, y = vec(3000)  # 2 steps from 1024, 5 from 65536
    assert add.table.config_for(add, (x, y), {}) == add_config(64, 2)
    torch.testing.assert_close(add(x, y), x + y)
    # No entry of the class: the kernel's default.
    h = vec(64, torch.float16)
    assert add.table.config_for(add, h, {}) is None
    torch.testing.assert_close(add(*h), h[0] + h[1])
    # An explicit config wins over the table.
    add.config = add_config(16)
    assert add.to_triton_code(*vec(1024)) == add.to_triton_code(*vec(1024), config=add_config(16))


def test_nearest_entry_is_fitted_to_the_calls_space() -> None:
    rowsum = aot_kernels.make_rowsum()
    big = torch.randn(4, 2048)
    space = rowsum.config_space(big)
    names = space.names
    assert "reduction_loops[0]" in names  # a long row may loop over chunks
    tuned = space.to_config({**space.to_flat(space.default()), "reduction_loops[0]": 256})
    table = Table.new("x:rowsum", {})
    table.add(Entry(key_of(rowsum, big), tuned, 1.0, [describe_call([big])]))
    rowsum.use_table(table)
    small = torch.randn(4, 64)  # its space has no reduction_loops knob
    chosen = rowsum.table.config_for(rowsum, (small,), {})
    assert "reduction_loops" not in chosen and rowsum.config_space(small).is_valid(chosen)
    torch.testing.assert_close(rowsum(small), small.sum(-1))


def test_invalid_entry_config_raises_naming_the_entry(add) -> None:
    bad = kc.Config(block_sizes=[64], num_warps=3, num_stages=1, indexing=["pointer"] * 3)
    add.use_table(table_for(add, [(vec(1024), bad)]))
    with pytest.raises(TableError, match=r"entry x: float32\[s0\]; y: float32\[s0\] \| s0 1024"):
        add(*vec(1024))


def test_table_for_other_parameters_is_refused(add) -> None:
    other = table_for(aot_kernels.scale_rows, [((torch.randn(4, 4), 1.0, True), kc.Config())])
    with pytest.raises(TableError, match="parameters"):
        add.use_table(other)


def test_other_card_warns_once_or_is_ignored_when_strict(add, monkeypatch) -> None:
    table = table_for(add, [(vec(1024), add_config(64, 2))], card="NVIDIA H200")
    add.use_table(table)
    with pytest.warns(AotTableWarning, match="NVIDIA H200.*used anyway"):
        assert add.table.config_for(add, vec(1024), {}) == add_config(64, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert add.table.config_for(add, vec(2048), {}) == add_config(64, 2)
    monkeypatch.setenv("KCOMPILER_AOT_STRICT", "1")
    table.versions = {**table.versions, "triton": "0.0.1"}
    add.use_table(table)
    with pytest.warns(AotTableWarning, match="triton 0.0.1.*ignored"):
        assert add.table.config_for(add, vec(1024), {}) is None
    x, y = vec(1024)
    torch.testing.assert_close(add(x, y), x + y)


def test_decorator_options_and_helions_name(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    table_for(aot_kernels.add, [(vec(1024), add_config(32))]).save(path)
    k1 = kc.kernel(configs_table=str(path))(aot_kernels.add.fn)
    k2 = kc.aot_kernel(table=path)(aot_kernels.add.fn)
    k3 = aot_kernel(aot_kernels.add.fn, table=path)
    for k in (k1, k2, k3):
        assert k.table.config_for(k, vec(1024), {}) == add_config(32)
    with pytest.raises(TableError, match="cannot read"):
        kc.kernel(configs_table=str(tmp_path / "missing.json"))(aot_kernels.add.fn)


# -- argument specs -----------------------------------------------------------------------


def test_argument_specs() -> None:
    call = {
        "args": [
            {"shape": [4, 3], "dtype": "bfloat16", "strides": [1, 4]},
            {"shape": [3], "dtype": "int64", "low": 5, "high": 7},
            {"shape": [3], "dtype": "int32", "values": [0, 2, 9]},
            {"shape": [2, 3], "strides": [0, 1]},
            [8],
            1e-5,
        ],
        "kwargs": {"flag": True},
    }
    args, kwargs = make_call(call, "cpu")
    a, idx, offs, bcast, lst, eps = args
    assert a.dtype == torch.bfloat16 and a.shape == (4, 3) and a.stride() == (1, 4)
    assert idx.dtype == torch.int64 and bool(((idx >= 5) & (idx < 7)).all())
    assert offs.tolist() == [0, 2, 9] and offs.dtype == torch.int32
    assert bcast.stride() == (0, 1) and torch.equal(bcast[0], bcast[1])
    assert (lst, eps, kwargs) == ([8], 1e-5, {"flag": True})
    assert torch.equal(make_call(call, "cpu")[0][0], a)  # a fixed seed
    described = describe_call([a, offs, 3])
    assert described == {
        "args": [
            {"shape": [4, 3], "dtype": "bfloat16", "strides": [1, 4]},
            {"shape": [3], "dtype": "int32", "values": [0, 2, 9]},
            3,
        ]
    }
    with pytest.raises(ValueError, match="unknown dtype"):
        make_call([{"shape": [2], "dtype": "float33"}], "cpu")


# -- the command line ---------------------------------------------------------------------


def test_cli_tune_compile_and_load(tmp_path: Path, capsys) -> None:
    shapes = tmp_path / "shapes.json"
    shapes.write_text(
        json.dumps(
            [
                [{"shape": [256]}, {"shape": [256]}],
                [{"shape": [1000]}, {"shape": [1000]}],
                [{"shape": [4096]}, {"shape": [4096]}],
            ]
        )
    )
    out = tmp_path / "table.json"
    args = ["tune", "aot_kernels:add", "--shapes", str(shapes), "--out", str(out)]
    assert main([*args, "--max-configs", "3", "--no-cache"]) == 0
    table = Table.load(out)
    assert table.kernel == "aot_kernels:add" and len(table.entries) == 3
    for entry in table.entries:
        assert entry.time_ms is not None and entry.time_ms > 0
        assert len(entry.shapes) == 1
    assert main(["compile", str(out)]) == 0
    assert "3 entries compiled" in capsys.readouterr().out
    assert main(["compile", str(out), "aot_kernels:add", "--workers", "2"]) == 0  # in the pool
    assert "3 entries compiled" in capsys.readouterr().out
    assert main(["show", str(out)]) == 0
    assert "x: float32[s0]; y: float32[s0] | s0 1024/8" in capsys.readouterr().out
    k = kc.kernel(configs_table=out)(aot_kernels.add.fn)
    x, y = vec(1000)
    assert k.table.config_for(k, (x, y), {}) == table.entries[1].config
    torch.testing.assert_close(k(x, y), x + y)
    # compile names an entry the kernel cannot take.
    data = json.loads(out.read_text())
    data["entries"][0]["config"]["num_warps"] = 3
    out.write_text(json.dumps(data))
    assert main(["compile", str(out)]) == 1
    assert "entry x: float32[s0]; y: float32[s0] | s0 256/256" in capsys.readouterr().err


@pytest.mark.parametrize("workers", [1, 2])
def test_compile_names_the_entry_whose_compile_job_fails(add, monkeypatch, workers) -> None:
    """In this process or in the compile pool, a failing job is a TableError naming its entry
    with the job's error."""
    import operator

    import kcompiler.aot.tune as aot_tune

    # A job that fails wherever it runs and unpickles with the standard library alone.
    monkeypatch.setattr(aot_tune, "job_for_launches", lambda *a, **k: (operator.truediv, (1, 0)))
    table = table_for(add, [(vec(1024), add_config(64, 2)), (vec(65536), add_config(512, 8))])
    with pytest.raises(TableError, match=r"entry x: float32\[s0\].* failed to compile: .*by zero"):
        aot_tune.compile_table(add, table, workers=workers)


def test_shapes_in_python_form_and_targets_that_are_not_kernels(tmp_path: Path) -> None:
    assert load_calls("aot_kernels:CALLS") == list(aot_kernels.CALLS)
    out = tmp_path / "t.json"
    args = ["tune", "aot_kernels:add", "--shapes", "aot_kernels:CALLS", "--out", str(out)]
    assert main([*args, "--effort", "none"]) == 0
    table = Table.load(out)
    assert [e.time_ms for e in table.entries] == [None, None]  # effort none: the defaults
    assert table.entries[1].shapes[0]["args"][0] == {"shape": [2048], "dtype": "float32"}
    with pytest.raises(SystemExit, match="not a kc.kernel"):
        main(["tune", "aot_kernels:vec_of", "--shapes", "aot_kernels:CALLS", "--out", str(out)])


def test_ints_of_a_constant_list_are_sizes_of_the_class() -> None:
    """layer_norm's ``normalized_shape`` (a list baked into the code) does not split the
    class per width: a width between two entries takes the nearer one."""
    from kcompiler.runtime.config_table import Key, const_ints

    assert const_ints("const [128]") == [128]
    assert const_ints("const (4, 8,)") == [4, 8]
    assert const_ints("const [1.5]") is None and const_ints("const 'a'") is None
    narrow = Key((("x", "float32[s0]"), ("shape", "const [128]")), (("s0", 128),), (("s0", 128),))
    wide = Key((("x", "float32[s0]"), ("shape", "const [4096]")), (("s0", 4096),), (("s0", 4096),))
    assert narrow.klass == wide.klass
    assert narrow.sizes() == [(128, 128), (128, 128)]
    assert wide.distance(narrow) == (10.0, 10.0, 10.0)
    assert narrow.positions({"shape": frozenset({0})}) == frozenset({1})
