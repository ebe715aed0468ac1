"""Config-table keys and lookups see the values device code bakes in besides the arguments.

A device loop that reads a module global (or a helper's global, or a closure variable of the
kernel) compiles that value into its code, so the runtime's variant and fast-path keys hold
it (frontend/global_reads.py). A table entry tuned with one value must not be served for
another: the key's ``globals`` hold each value (and those of the globals the host code reads,
whose values it hands the loops), an entry with other values is of another class (never
served, with a warning), and the per-call memo looks again when a global is rebound.
"""

from __future__ import annotations

import json
import warnings

import pytest
import torch

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.aot import AotTableWarning, Entry, Key, Table
from kcompiler.aot.specs import describe_call

FLIP = True
OFFSET = 2
NEGATE = False


def shifted(v: torch.Tensor) -> torch.Tensor:
    """A helper device code calls: its global is baked in too."""
    return v + OFFSET


@kc.kernel
def flip_rows(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        v = shifted(x[tile])
        out[tile] = -v if FLIP else v
    return out


def config(block: int) -> kc.Config:
    space = flip_rows.config_space(torch.randn(64))
    return space.to_config({**space.to_flat(space.default()), "block_sizes[0]": block})


def table_with(x: torch.Tensor, block: int) -> Table:
    table = Table.new("test_aot_globals:flip_rows", {})
    key = Key.of_call(flip_rows, (x,), {})
    table.add(Entry(key, config(block), 1.0, [describe_call([x])]))
    return table


@pytest.fixture
def rebind(monkeypatch: pytest.MonkeyPatch):
    """Rebind a global of this module for one test."""
    return lambda name, value: monkeypatch.setitem(globals(), name, value)


def test_the_key_holds_the_globals_device_code_reads(rebind) -> None:
    x = torch.randn(64)
    key = Key.of_call(flip_rows, (x,), {})
    assert key.to_json()["globals"] == {
        "test_aot_globals.FLIP": "bool True",
        "test_aot_globals.OFFSET": "int 2",
        "test_aot_globals.shifted": "function test_aot_globals.shifted",
    }
    assert "globals test_aot_globals.FLIP = bool True" in key.ident
    assert Key.from_json(json.loads(json.dumps(key.to_json()))) == key
    rebind("FLIP", False)
    assert Key.of_call(flip_rows, (x,), {}) != key
    rebind("FLIP", True)
    rebind("OFFSET", 3)  # read through the helper
    assert Key.of_call(flip_rows, (x,), {}) != key


def test_an_entry_tuned_with_another_global_is_never_served(rebind) -> None:
    x = torch.randn(64)
    table = table_with(x, 32)
    assert table.lookup(Key.of_call(flip_rows, (x,), {}))[1] is True
    rebind("FLIP", False)
    key = Key.of_call(flip_rows, (x,), {})
    assert table.lookup(key) is None  # neither exact nor nearest: its code differs
    assert [e.key.globals for e in table.other_globals(key)] == [table.entries[0].key.globals]
    # Nor at another size of the same class.
    assert table.lookup(Key.of_call(flip_rows, (torch.randn(1000),), {})) is None


def test_a_kernel_with_a_table_follows_a_rebound_global(rebind) -> None:
    kernel = kc.kernel(flip_rows.fn)
    x = torch.randn(64)
    kernel.use_table(table_with(x, 32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the tuned values: no warning
        assert kernel.table.config_for(kernel, (x,), {}) == config(32)
        torch.testing.assert_close(kernel(x), -(x + 2))
    rebind("FLIP", False)
    # The memo of the first call must not answer: the table has no entry for these values.
    with pytest.warns(AotTableWarning, match=r"FLIP = bool False.*FLIP = bool True.*re-tune"):
        assert kernel.table.config_for(kernel, (x,), {}) is None
    torch.testing.assert_close(kernel(x), x + 2)
    rebind("FLIP", True)
    assert kernel.table.config_for(kernel, (x,), {}) == config(32)


def test_closure_variables_of_the_kernel_are_in_the_key() -> None:
    def make(flip: bool):
        @kc.kernel
        def negate(x: torch.Tensor) -> torch.Tensor:
            out = torch.empty_like(x)
            for tile in kl.tile(x.size(0)):
                out[tile] = -x[tile] if flip else x[tile]
            return out

        return negate

    x = torch.randn(16)
    on, off = (Key.of_call(make(f), (x,), {}) for f in (True, False))
    assert dict(on.globals)["<closure>.flip"] == "bool True"
    assert on != off and on.klass != off.klass


@kc.kernel
def host_flag(x: torch.Tensor) -> torch.Tensor:
    negate = NEGATE  # read by host code, handed to the loop as a compile-time bool
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = -x[tile] if negate else x[tile]
    return out


def test_globals_read_by_host_code_are_in_the_key(rebind) -> None:
    x = torch.randn(16)
    key = Key.of_call(host_flag, (x,), {})
    assert dict(key.globals)["test_aot_globals.NEGATE"] == "bool False"
    rebind("NEGATE", True)
    assert Key.of_call(host_flag, (x,), {}).klass != key.klass
