"""The two stride facts in a specialization key (frontend/specialize.py): a stride-0 dim and a
last stride other than 1. The launcher refuses tensor descriptors for both and runs the
pointer kernel, so the key, the traced kernel (``broadcast_args``/``strided_args``) and a
config table's description of the call tell them apart; every other stride stays a runtime
argument."""

from __future__ import annotations

import torch

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.dialects import tile as t
from kcompiler.frontend.specialize import specialize, strided_last
from kcompiler.runtime.config_table import Entry, Key, Table


@kc.kernel
def scale(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    m, n = x.size()
    out = torch.empty([m, n], dtype=x.dtype, device=x.device)
    for tile_m, tile_n in kl.tile([m, n]):
        out[tile_m, tile_n] = x[tile_m, tile_n] * y[tile_m, tile_n]
    return out


def key(x: torch.Tensor, y: torch.Tensor) -> tuple:
    return specialize(["x", "y"], {"x": x, "y": y}, static_shapes=False).key


def kernel_op(x: torch.Tensor, y: torch.Tensor) -> t.KernelOp:
    (module,) = scale.traced_modules((x, y), {})
    return next(op for op in module.walk() if isinstance(op, t.KernelOp))


def test_a_transposed_argument_has_its_own_key() -> None:
    x = torch.randn(64, 32)
    y = torch.randn(64, 32)
    transposed = torch.randn(32, 64).t()  # same shape and dtype, last stride 64
    assert transposed.shape == y.shape
    assert key(x, transposed) != key(x, y)
    # Only the last stride is keyed: a row slice of a wider tensor (stride (96, 1)) shares the
    # contiguous tensor's key, and so does another transposed tensor of the same shape.
    assert key(x, torch.randn(64, 96)[:, :32]) == key(x, y)
    assert key(x, torch.randn(32, 64).t()) == key(x, transposed)
    # A stepped slice has a last stride of 2; a 0-d tensor has no last dim.
    assert strided_last(torch.randn(8, 16)[:, ::2])
    assert not strided_last(torch.tensor(1.0))
    assert key(x, torch.randn(64, 64)[:, ::2]) == key(x, transposed)


def test_the_traced_kernel_records_the_strided_arguments() -> None:
    x = torch.randn(64, 32)
    assert kernel_op(x, torch.randn(32, 64).t()).strided_args == ("y",)
    assert kernel_op(x.t().contiguous().t(), torch.randn(32, 64).t()).strided_args == ("x", "y")
    assert kernel_op(x, torch.randn(64, 32)).strided_args == ()
    # A broadcast row (stride 0 in dim 0) has a unit last stride: broadcast, not strided.
    op = kernel_op(x, torch.randn(32).expand(64, 32))
    assert (op.broadcast_args, op.strided_args) == (("y",), ())
    # Traced after a transposed y of the same shape, the contiguous call's trace is its own
    # (above), and both layouts compute the product.
    for y in (torch.randn(32, 64).t(), torch.randn(64, 32)):
        torch.testing.assert_close(scale(x, y), x * y)


def test_config_tables_describe_and_class_a_strided_argument() -> None:
    x, y = torch.randn(64, 32), torch.randn(64, 32)
    plain = Key.of_call(scale, (x, y), {})
    strided = Key.of_call(scale, (x, torch.randn(32, 64).t()), {})
    both = Key.of_call(scale, (x, torch.randn(64).expand(32, 64).t()), {})
    assert dict(plain.args)["y"] == "float32[s0, s1]"
    assert dict(strided.args)["y"] == "float32[s0, s1] strided"
    assert dict(both.args)["y"] == "float32[s0, s1] overlapping strided"
    # The mark is part of the class: an entry tuned for one layout never serves the other.
    assert strided.klass != plain.klass and both.klass != strided.klass
    assert Key.from_json(strided.to_json()) == strided
    table = Table.new("test_specialize_strides:scale", {"effort": "test"})
    config = kc.Config(block_sizes=[16, 16], num_warps=2)
    table.add(Entry(strided, config, 1.0, ["y transposed"]))
    assert table.lookup(strided) == (table.get(strided), True)
    assert table.lookup(plain) is None
    # A table written before the mark existed describes every tensor without it: it loads,
    # and its entries serve calls with a unit last stride.
    old = Table.new("test_specialize_strides:scale", {"effort": "test"})
    old.add(Entry(Key.from_json(plain.to_json()), config, 1.0, ["old"]))
    loaded = Table.from_json(old.to_json())
    assert loaded.lookup(plain) == (loaded.get(plain), True)
    assert loaded.lookup(strided) is None
