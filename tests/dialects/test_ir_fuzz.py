"""IR fuzzing: random well-typed ``tile`` programs (``kcompiler.testing_ir.programs``).

* print -> parse -> print is the identity (custom syntax, and through the generic form);
* ``shape-inference`` recovers every result type of a program whose types were erased;
* ``split-reductions`` preserves results: the original and the rewritten program run through
  the Triton backend (interpreter on CPU) on the same inputs and agree.

Compiler bugs the fuzzer found are kept below at the level a user meets them (a kernel): the
fixed ones as regression tests, the open ones as strict xfails whose patterns the generator
steers clear of (``testing_ir.KNOWN_BUGS``) so that the properties keep testing the rest. Case counts: the ``ci`` profile runs 8 programs
per property, ``thorough`` 200 (HYPOTHESIS_PROFILE=thorough).
"""

from __future__ import annotations

import io
import warnings

import pytest
import torch
from hypothesis import event, given
from hypothesis import strategies as st
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.rewriter import Rewriter

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.dialects import tile as t
from kcompiler.passes.pipeline import make_context
from kcompiler.passes.shape_inference import ShapeInferencePass
from kcompiler.passes.split_reductions import apply_reduction_loops, reduction_dims
from kcompiler.runtime.kernel import interpreting
from kcompiler.testing_ir import (
    KNOWN_BUGS,
    assert_same_outputs,
    program_from_text,
    programs,
    run_program,
)

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy: log(-1), 1/0, ...
DEVICE = "cpu" if interpreting() else "cuda"


def parse(text: str) -> ModuleOp:
    return Parser(make_context(), text).parse_module()


def generic(module: ModuleOp) -> str:
    out = io.StringIO()
    Printer(stream=out, print_generic_format=True).print_op(module)
    return out.getvalue()


@given(programs(max_ops=14))
def test_print_parse_print_is_the_identity(program):
    text = program.text
    parsed = parse(text)
    parsed.verify()
    assert str(parsed) == text
    assert str(parse(generic(program.module))) == text


@given(programs(max_ops=14))
def test_shape_inference_recovers_erased_types(program):
    module = parse(program.text)
    erased = 0
    for op in list(module.walk()):
        if isinstance(op, t.TileOp) and op.results:
            Rewriter.replace_value_with_new_type(op.results[0], t.BlockType.unknown())
            erased += 1
    assert "!tile.block<?>" in str(module) or erased == 0
    ShapeInferencePass().apply(make_context(), module)
    module.verify()
    assert str(module) == program.text


@given(
    programs(whole_dim_reduction=True),
    st.sampled_from([1, 2, 8, 32, 256]),
    st.integers(0, 2**16),
)
def test_split_reductions_preserve_results(program, chunk, seed):
    inputs = {k: v.to(DEVICE) for k, v in program.random_inputs(seed).items()}
    want = run_program(program, program.module, inputs)
    split = program.module.clone()
    dims = reduction_dims(split)
    assert dims, "the generator promised a whole-dim reduction"
    # Chunks small enough to loop, large enough that the interpreter runs few trips.
    widest = max(program.sizes.get(d, int(d) if d.isdigit() else 1) for d in dims)
    chunk = max(chunk, 1 << max(0, (widest - 1) // 16).bit_length())
    sizes = apply_reduction_loops(split, [chunk] * len(dims))
    split.verify()
    event(f"split-reductions rewrote the kernel: {bool(sizes)}")
    if not sizes:
        assert str(split) == program.text  # left untouched, as the pass promises
        return
    got = run_program(program, split, inputs, block_sizes=sizes)
    assert_same_outputs(got, want, f"split-reductions chunk={chunk}")


def test_the_open_known_bugs():
    assert set(KNOWN_BUGS) == set()  # minmax-nan: fixed, see test_regression_max_min_*


def test_a_regression_program_runs_from_text():
    program = program_from_text(
        """
builtin.module {
  tile.kernel @k(%x: !tile.tensor<[s0, s1], f32>, %out: !tile.tensor<[s0], f32>) attributes {size_hints = {s0 = 5 : i64, s1 = 300 : i64}} {
    %n = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %n block block_0 kind tile parallel {
      %v = tile.load %x[%t] ["tile", "full"] : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0> -> !tile.block<[block_0, s1], f32>
      %m = tile.reduce "max" %v dim 1 : i64 : !tile.block<[block_0, s1], f32> -> !tile.block<[block_0], f32>
      tile.store %m, %out[%t] ["tile"] : !tile.block<[block_0], f32>, !tile.tensor<[s0], f32>, !tile.tile<block_0>
    }
  }
}
""",
        block_size=2,
    )
    inputs = {k: v.to(DEVICE) for k, v in program.random_inputs().items()}
    out = run_program(program, program.module, inputs)
    torch.testing.assert_close(out["out"], inputs["x"].amax(1))
    split = program.module.clone()
    sizes = apply_reduction_loops(split, [64])
    assert sizes == {"rblock_s1": 64}
    torch.testing.assert_close(
        run_program(program, split, inputs, block_sizes=sizes)["out"], out["out"]
    )


# -- bugs the fuzzer found, as users meet them: regressions of the fixed ones, strict xfails
# of the open ones (testing_ir.KNOWN_BUGS) -----------------------------------------------------


@kc.kernel
def _sqrt_by_pow(x: torch.Tensor) -> torch.Tensor:
    (n,) = x.shape
    out = torch.empty_like(x)
    for tile in kl.tile(n):
        out[tile] = x[tile] ** 0.5
    return out


@kc.kernel
def _relu_by_mask(x: torch.Tensor) -> torch.Tensor:
    (n,) = x.shape
    out = torch.empty_like(x)
    for tile in kl.tile(n):
        v = x[tile]
        out[tile] = (v > 0) * v
    return out


@kc.kernel
def _last_row_of_tile(x: torch.Tensor) -> torch.Tensor:
    (n,) = x.shape
    out = torch.empty_like(x)
    for tile in kl.tile(n):
        out[tile] = x[tile] * 0 + tile.index.amax()
    return out


@kc.kernel
def _max_of_row_argmax(x: torch.Tensor) -> torch.Tensor:
    (m, _) = x.shape
    out = torch.empty([m], dtype=torch.int64, device=x.device)
    for tile in kl.tile(m):
        best = torch.argmax(x[tile, :], dim=1)
        out[tile] = best * 0 + torch.amax(best, dim=0)
    return out


@kc.kernel
def _row_argmax(x: torch.Tensor) -> torch.Tensor:
    (m, _) = x.shape
    out = torch.empty([m], dtype=torch.int64, device=x.device)
    for tile in kl.tile(m):
        out[tile] = torch.argmax(x[tile, :], dim=1)
    return out


def test_regression_pow_one_half_of_a_half_tensor():
    x = torch.rand(10, dtype=torch.float16, device=DEVICE)
    torch.testing.assert_close(_sqrt_by_pow(x), x**0.5)


def test_regression_bool_times_bfloat16():
    x = torch.randn(10, dtype=torch.bfloat16, device=DEVICE)
    torch.testing.assert_close(_relu_by_mask(x), (x > 0) * x)


def test_regression_max_of_tile_index():
    x = torch.zeros(10, dtype=torch.int64, device=DEVICE)
    out = _last_row_of_tile.bind(x).run(kc.Config(block_sizes=[4]))
    torch.testing.assert_close(out.cpu(), torch.tensor([3] * 4 + [7] * 4 + [9] * 2))


def test_regression_max_of_an_argmax_of_integers():
    x = torch.randint(0, 9, (5, 6), generator=torch.Generator().manual_seed(0)).to(DEVICE)
    out = _max_of_row_argmax.bind(x).run(kc.Config(block_sizes=[8]))
    want = torch.argmax(x, dim=1).amax().expand(5)
    torch.testing.assert_close(out, want)


@kc.kernel
def _row_argmin(x: torch.Tensor) -> torch.Tensor:
    (m, _) = x.shape
    out = torch.empty([m], dtype=torch.int64, device=x.device)
    for tile in kl.tile(m):
        out[tile] = torch.argmin(x[tile, :], dim=1)
    return out


@kc.kernel
def _row_max(x: torch.Tensor) -> torch.Tensor:
    (m, _) = x.shape
    out = torch.empty([m], dtype=x.dtype, device=x.device)
    for tile in kl.tile(m):
        out[tile] = torch.amax(x[tile, :], dim=1)
    return out


@kc.kernel
def _row_min_of_max(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    (m, _) = x.shape
    out = torch.empty([m], dtype=x.dtype, device=x.device)
    for tile in kl.tile(m):
        out[tile] = torch.amin(torch.maximum(x[tile, :], y[tile, :]), dim=1)
    return out


@pytest.mark.parametrize("reduction_loops", [None, [256]], ids=["whole_row", "looped"])
def test_regression_max_min_of_rows_with_nan(reduction_loops):
    """torch's max/min/maximum return NaN where a NaN is involved (found by the thorough fuzz
    profile: Triton's max/min skip NaN); whole rows, and chunks of which one is all NaN."""
    x = torch.randn(4, 600, generator=torch.Generator().manual_seed(0))
    x[1, 3] = float("nan")
    x[2, 256:512] = float("nan")  # one whole chunk
    x[3, :] = float("nan")
    y = torch.randn(4, 600, generator=torch.Generator().manual_seed(1))
    y[0, 7] = float("nan")  # only through torch.maximum
    x, y = x.to(DEVICE), y.to(DEVICE)
    config = kc.Config(reduction_loops=reduction_loops) if reduction_loops else kc.Config()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = _row_max.bind(x).run(config)
        both = _row_min_of_max.bind(x, y).run(config)
    torch.testing.assert_close(got, torch.amax(x, dim=1), equal_nan=True)
    torch.testing.assert_close(both, torch.amin(torch.maximum(x, y), dim=1), equal_nan=True)
    assert torch.isnan(got[1:]).all() and torch.isnan(both).all()


@pytest.mark.parametrize("reduction_loops", [None, [256]], ids=["whole_row", "looped"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=str)
def test_regression_argmax_argmin_of_rows_with_nan(dtype, reduction_loops):
    """torch: a NaN is the max and the min, and the first NaN of a row wins (an all-NaN row
    gives 0); a +-inf before a NaN does not. Whole rows in registers, and in chunks of 256."""
    x = torch.randn(6, 600, generator=torch.Generator().manual_seed(0))
    x[1, 3] = x[1, 500] = float("nan")  # two NaNs in different chunks: the first wins
    x[2, :] = float("nan")
    x[3, 400] = float("nan")  # in the second chunk only
    x[4, 10], x[4, 20], x[4, 520] = float("inf"), float("-inf"), float("nan")
    x = x.to(dtype).to(DEVICE)
    config = kc.Config(reduction_loops=reduction_loops) if reduction_loops else kc.Config()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # the interpreter: no All-NaN slice
        for kernel, ref in ((_row_argmax, torch.argmax), (_row_argmin, torch.argmin)):
            got = kernel.bind(x).run(config)
            torch.testing.assert_close(got, ref(x, dim=1), msg=kernel.__name__)
    assert "tl.range" in _row_argmax.to_triton_code(x, config=config) or not reduction_loops
