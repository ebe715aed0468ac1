"""persistent: the IR records pid_type; the emitted persistent schedules compute the same results.

The codegen side lives in ``backends/triton/persistent_codegen.py``; until ``codegen.generate``
calls ``install`` itself, these tests hook it in (``install`` is idempotent, so they keep
working once it does).
"""

from __future__ import annotations

import pytest
import torch
from xdsl.context import Context

import kcompiler as kc
from kcompiler.backends.triton import codegen
from kcompiler.backends.triton.persistent_codegen import install, pid_type_of
from kcompiler.dialects import tile as t
from kcompiler.exc import InvalidConfig
from kcompiler.kernels.softmax import softmax
from kcompiler.kernels.vector_add import vector_add
from kcompiler.passes.persistent import PersistentPass, outer_parallel_loops
from kcompiler.testing import call_with_config

PID_TYPES = ["flat", "persistent_blocked", "persistent_interleaved"]


@pytest.fixture
def persistent_codegen(monkeypatch: pytest.MonkeyPatch) -> None:
    original = codegen.TritonEmitter.generate

    def generate(self):  # noqa: ANN001, ANN202
        install(self, codegen._parallel_chain(self.kernel), self._pid_lines, self.opts.interpret)
        return original(self)

    monkeypatch.setattr(codegen.TritonEmitter, "generate", generate)


def _module(kernel: kc.Kernel, *args):
    """The traced IR of ``kernel`` for these arguments, as a fresh module."""
    from xdsl.parser import Parser

    from kcompiler.passes.pipeline import make_context

    return Parser(make_context(), kernel.to_ir(*args)).parse_module()


def test_pass_marks_the_outermost_parallel_loop() -> None:
    module = _module(vector_add, torch.randn(4, 5), torch.randn(4, 5))
    PersistentPass(pid_type="persistent_interleaved", num_sm_multiplier=2).apply(Context(), module)
    kernel = next(op for op in module.ops if isinstance(op, t.KernelOp))
    (outer,) = outer_parallel_loops(kernel)
    assert pid_type_of(outer) == ("persistent_interleaved", 2)
    inner = [op for op in outer.walk() if isinstance(op, t.ForOp) and op is not outer]
    assert inner and all("pid_type" not in op.attributes for op in inner)
    module.verify()
    PersistentPass(pid_type="flat").apply(Context(), module)
    assert pid_type_of(outer) == ("flat", 1)
    assert "pid_type" not in str(module)


def test_pass_rejects_unknown_schedules() -> None:
    module = _module(vector_add, torch.randn(4, 5), torch.randn(4, 5))
    with pytest.raises(InvalidConfig):
        PersistentPass(pid_type="diagonal").apply(Context(), module)
    with pytest.raises(InvalidConfig):
        PersistentPass(num_sm_multiplier=0).apply(Context(), module)


@pytest.mark.parametrize("pid_type", PID_TYPES)
def test_persistent_2d_grid_matches(persistent_codegen: None, pid_type: str) -> None:
    # 9 x 6 = 54 tiles over 4 x 2 = 8 programs: every program runs several tiles.
    a, b = torch.randn(33, 45), torch.randn(33, 45)
    cfg = kc.Config(pid_type=pid_type, block_sizes=[4, 8], num_sm_multiplier=2)
    assert torch.equal(call_with_config(vector_add, cfg, a, b), a + b)
    code = vector_add.to_triton_code(a, b, config=cfg)
    if pid_type == "flat":
        assert "total_tiles" not in code
    else:
        assert "for pid in tl.range(" in code
        assert "num_tiles = min((-((0 - s0) // 4)) * (-((0 - s1) // 8)), " in code


@pytest.mark.parametrize("pid_type", PID_TYPES[1:])
def test_persistent_with_reduction_loops(persistent_codegen: None, pid_type: str) -> None:
    x = torch.randn(37, 300)
    cfg = kc.Config(pid_type=pid_type, block_sizes=[2], reduction_loops=[64])
    torch.testing.assert_close(call_with_config(softmax, cfg, x), torch.softmax(x, 1))
