"""Device loops with a step: ``range(start, stop, step)`` with a run-time bound or step, and
``kl.grid(..., step=)``, against the same Python loop on torch tensors.

A strided loop is a unit-step grid loop over its trip count whose loop variable is
``start + counter * step`` (frontend/strided_loops.py), so either sign of a step works, known
when the kernel compiles or only at run time (an int argument, a loaded scalar). A step known
to be zero, a float or a block is an error naming the kernel's line.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.exc import UnsupportedConstruct
from kcompiler.testing import FLOAT_DTYPES, assert_matches_torch, few_examples, marker_line, tensors

FEW = few_examples(5)


def _line(marker: str) -> int:
    return marker_line(__file__, marker)


@kc.kernel
def stepped(x: torch.Tensor, a: int, b: int, s: int) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        acc = x[tile]
        for i in range(a, b, s):  # <- int-step: bounds and step are int arguments
            acc = acc * 0.5 + i
        out[tile] = acc
    return out


def stepped_ref(x: torch.Tensor, a: int, b: int, s: int) -> torch.Tensor:
    acc = x.float()
    for i in range(a, b, s):
        acc = acc * 0.5 + i
    return acc.to(x.dtype)


@FEW
@given(st.data())
def test_run_time_step_of_either_sign_matches_python(data: st.DataObject) -> None:
    a = data.draw(st.integers(-3, 9))
    b = data.draw(st.integers(-3, 9))
    s = data.draw(st.integers(-4, 4).filter(lambda v: v != 0))
    dtype = data.draw(st.sampled_from(FLOAT_DTYPES))
    x = data.draw(tensors((data.draw(st.sampled_from([1, 7, 33])),), dtype))
    assert_matches_torch(stepped, stepped_ref, x, a, b, s)


@pytest.mark.parametrize(
    ("a", "b", "s"), [(9, -3, -2), (-3, 9, 4), (2, 9, 3), (8, 8, -3), (0, 5, -1)]
)
def test_run_time_step_at_chosen_bounds(a: int, b: int, s: int) -> None:
    assert_matches_torch(stepped, stepped_ref, torch.randn(17), a, b, s)


@kc.kernel
def reversed_horner(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty([x.size(0)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(x.size(0)):
        acc = kl.zeros([tile], dtype=torch.float32)
        for j in range(x.size(1) - 1, -1, -1):  # a run-time start, a constant negative step
            acc = acc * 0.5 + x[tile, j]
        out[tile] = acc
    return out


def reversed_horner_ref(x: torch.Tensor) -> torch.Tensor:
    acc = torch.zeros(x.size(0))
    for j in range(x.size(1) - 1, -1, -1):
        acc = acc * 0.5 + x[:, j].float()
    return acc.to(x.dtype)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_constant_negative_step_over_a_size(dtype: torch.dtype) -> None:
    x = torch.randn(13, 5).to(dtype)
    assert_matches_torch(reversed_horner, reversed_horner_ref, x)


@kc.kernel
def row_walks(
    x: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, st_: torch.Tensor
) -> torch.Tensor:
    out = torch.zeros([x.size(0)], dtype=x.dtype, device=x.device)
    for g in kl.grid(x.size(0)):
        acc = 0.0
        for i in range(lo[g], hi[g], st_[g]):  # bounds and step loaded per row
            acc = acc + x[g, i]
        out[g] = acc
    return out


def row_walks_ref(
    x: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, st_: torch.Tensor
) -> torch.Tensor:
    out = torch.zeros(x.size(0))
    for g in range(x.size(0)):
        step = int(st_[g])
        if step:  # a loaded zero step runs no iterations (see strided_loops.py)
            for i in range(int(lo[g]), int(hi[g]), step):
                out[g] += x[g, i].float()
    return out.to(x.dtype)


@FEW
@given(st.data())
def test_loaded_bounds_and_steps_match_python(data: st.DataObject) -> None:
    m = data.draw(st.sampled_from([1, 4, 9]))
    n = data.draw(st.sampled_from([3, 11]))
    dtype = data.draw(st.sampled_from(FLOAT_DTYPES))
    x = data.draw(tensors((m, n), dtype, noncontiguous=False))
    rows = []
    for _ in range(m):
        s = data.draw(st.integers(-3, 3))
        # A positive walk stays in [0, n), a negative one in (-1, n - 1]: every index is valid.
        span = st.integers(0, n) if s >= 0 else st.integers(-1, n - 1)
        rows.append((data.draw(span), data.draw(span), s))
    lo, hi, steps = (torch.tensor(c, dtype=torch.int32) for c in zip(*rows))
    assert_matches_torch(row_walks, row_walks_ref, x, lo, hi, steps)


@kc.kernel
def every_kth_row(x: torch.Tensor, a: int, b: int, k: int) -> torch.Tensor:
    out = torch.zeros_like(x)
    for i in kl.grid(a, b, step=k):  # the launch grid: one program per position
        out[i, :] = x[i, :] * 2
    return out


def every_kth_row_ref(x: torch.Tensor, a: int, b: int, k: int) -> torch.Tensor:
    out = torch.zeros_like(x)
    for i in range(a, b, k):
        out[i] = x[i] * 2
    return out


@pytest.mark.parametrize(
    ("a", "b", "k"), [(0, 7, 2), (1, 7, 3), (6, -1, -2), (5, 0, -1), (3, 3, 2)]
)
def test_parallel_grid_with_a_run_time_step(a: int, b: int, k: int) -> None:
    x = torch.randn(7, 5)
    assert_matches_torch(every_kth_row, every_kth_row_ref, x, a, b, k)


@kc.kernel
def checker(x: torch.Tensor) -> torch.Tensor:
    out = torch.zeros_like(x)
    for i, j in kl.grid([x.size(0), x.size(1)], step=[2, 3]):  # a literal step per dim
        out[i, j] = x[i, j] + 1
    return out


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_two_dim_grid_with_a_step_per_dim(dtype: torch.dtype) -> None:
    def ref(x: torch.Tensor) -> torch.Tensor:
        out = torch.zeros_like(x)
        out[::2, ::3] = x[::2, ::3] + 1
        return out

    assert_matches_torch(checker, ref, torch.randn(9, 10).to(dtype))


def test_a_zero_step_known_when_compiling_names_the_line() -> None:
    # A host int 0 is kept static by the specialization, so the loop is refused when traced.
    with pytest.raises(UnsupportedConstruct, match=r"step must not be zero") as e:
        stepped(torch.randn(5), 0, 4, 0)
    assert f"test_strided_range.py:{_line('int-step')}:" in str(e.value)


def test_a_float_step_names_the_line() -> None:
    @kc.kernel
    def float_step(x: torch.Tensor, n: int) -> torch.Tensor:
        out = torch.empty_like(x)
        for tile in kl.tile(x.size(0)):
            acc = x[tile]
            for _ in range(0, n, 0.5):  # <- float-step
                acc = acc * 2.0
            out[tile] = acc
        return out

    with pytest.raises(UnsupportedConstruct, match=r"must be an integer.*float 0\.5") as e:
        float_step(torch.randn(5), 4)
    assert f"test_strided_range.py:{_line('float-step')}:" in str(e.value)


def test_a_block_step_names_the_line() -> None:
    @kc.kernel
    def block_step(x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        out = torch.empty_like(x)
        for tile in kl.tile(x.size(0)):
            acc = x[tile]
            for _ in kl.grid(0, 8, step=s[tile]):  # <- block-step
                acc = acc * 2.0
            out[tile] = acc
        return out

    with pytest.raises(UnsupportedConstruct, match=r"must be an integer.*block of shape") as e:
        block_step(torch.randn(5), torch.ones(5, dtype=torch.int64))
    assert f"test_strided_range.py:{_line('block-step')}:" in str(e.value)


def test_static_range_with_a_run_time_step_names_the_line() -> None:
    @kc.kernel
    def unrolled(x: torch.Tensor, n: int) -> torch.Tensor:
        out = torch.empty_like(x)
        for tile in kl.tile(x.size(0)):
            acc = x[tile]
            for _ in kl.static_range(0, 8, n):  # <- static-range
                acc = acc * 2.0
            out[tile] = acc
        return out

    # An unrolled loop needs its trip count when the kernel compiles; range(...) does not.
    with pytest.raises(UnsupportedConstruct, match=r"kl.static_range.*use range") as e:
        unrolled(torch.randn(5), 3)
    assert f"test_strided_range.py:{_line('static-range')}:" in str(e.value)


@pytest.mark.parametrize("which", ["row_walks", "every_kth_row"])
def test_compiles_for_sm_90(which: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The interpreter runs Python; this compiles the GPU code (a loop to a loaded trip count
    # with run-time selects, a launch grid computed on the host) and ptxas takes it.
    monkeypatch.setenv("TRITON_CACHE_DIR", str(tmp_path / "cache"))
    if which == "row_walks":
        ints = [torch.full((4,), v, dtype=torch.int32) for v in (0, 9, 2)]
        kernel, args = row_walks, (torch.randn(4, 11), *ints)
    else:
        kernel, args = every_kth_row, (torch.randn(7, 5), 6, -1, -2)
    config = kernel.config_space(*args).default()
    (record,) = kernel.precompile(*args, configs=[config], target="sm_90", workers=1)
    assert record.ok, (record.error, [b.error for b in record.binaries])
