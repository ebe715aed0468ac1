"""``if``/``else`` on a device scalar (a loaded value, a reduction's result) and Python's
``min``/``max`` of device values, against the same Python run on torch tensors."""

from __future__ import annotations

import inspect

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.exc import ShapeMismatch, UnsupportedConstruct
from kcompiler.testing import assert_matches_torch, dtypes


@kc.kernel
def branchy(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    m, n = x.shape
    out = torch.zeros_like(x)
    for g in kl.grid(m):
        ln = lengths[g]
        total = x[g, :].float().sum()
        scale = 1.0
        if ln > 2:
            y = x[g, :] * 2.0
            out[g, :] = y
        elif ln == 0:
            y = x[g, :] * 0.0
            scale = 3.0
        else:
            y = x[g, :] - total
        if total < 0:
            out[g, :] = out[g, :] + y * scale
    return out


def _branchy_ref(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    out = torch.zeros_like(x)
    for i in range(x.size(0)):
        total = x[i].float().sum()
        scale = 1.0
        if lengths[i] > 2:
            y = x[i] * 2.0
            out[i] = y
        elif lengths[i] == 0:
            y = x[i] * 0.0
            scale = 3.0
        else:
            y = (x[i] - total).to(x.dtype)
        if total < 0:
            out[i] = out[i] + y * scale
    return out


@settings(max_examples=4, deadline=None)
@given(st.sampled_from([1, 3, 17]), st.sampled_from([1, 5, 33]), dtypes())
def test_if_elif_else_on_loaded_and_reduced_scalars(m: int, n: int, dtype) -> None:
    x = torch.randn(m, n).to(dtype)
    lengths = torch.randint(0, 5, (m,))
    assert_matches_torch(
        branchy, _branchy_ref, x, lengths, atol=0.1 if dtype != torch.float32 else 1e-4
    )


@kc.kernel
def clipped(x: torch.Tensor, lo: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        floor = lo[0]
        out[tile] = max(min(x[tile], 1.0), floor, -0.5)
    return out


def test_min_and_max_of_device_values() -> None:
    x = torch.randn(37) * 3
    lo = torch.tensor([-0.25])
    assert_matches_torch(
        clipped, lambda x, lo: x.clamp(max=1.0).clamp(min=max(lo.item(), -0.5)), x, lo
    )


@kc.kernel
def if_on_a_block(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        if x[tile] > 0:  # BAD
            out[tile] = x[tile]
    return out


@kc.kernel
def branches_of_other_shapes(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        if x[0] > 0:  # BAD
            v = x[tile]
        else:
            v = y[:]
        out[tile] = v
    return out


@kc.kernel
def min_of_one_block(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = min(x[tile])  # BAD
    return out


@pytest.mark.parametrize(
    "kernel, args, error, message",
    [
        (if_on_a_block, (torch.randn(8),), UnsupportedConstruct, "needs one value"),
        (
            branches_of_other_shapes,
            (torch.randn(8), torch.randn(5)),
            ShapeMismatch,
            "in one branch and",
        ),
        (min_of_one_block, (torch.randn(8),), UnsupportedConstruct, r"use x.amin\(\)"),
    ],
)
def test_misuse_is_located(kernel, args, error, message) -> None:
    with pytest.raises(error, match=message) as info:
        kernel(*args)
    lines, start = inspect.getsourcelines(kernel.fn)
    line = start + next(i for i, ln in enumerate(lines) if "# BAD" in ln)
    assert f":{line}:" in str(info.value)


# -- while on a device scalar ----------------------------------------------------------------


@kc.kernel
def collatz_steps(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for g in kl.grid(x.size(0)):
        v = x[g]
        steps = 0
        while v != 1:
            v = torch.where(v % 2 == 0, v // 2, 3 * v + 1)
            steps = steps + 1
        out[g] = steps
    return out


def _collatz_ref(x: torch.Tensor) -> torch.Tensor:
    steps = []
    for v in x.tolist():
        s = 0
        while v != 1:
            v = v // 2 if v % 2 == 0 else 3 * v + 1
            s += 1
        steps.append(s)
    return torch.tensor(steps, dtype=x.dtype)


def test_while_on_a_loaded_scalar() -> None:
    x = torch.tensor([1, 2, 3, 6, 7, 27, 97])
    assert_matches_torch(collatz_steps, _collatz_ref, x)


@kc.kernel
def halve_until_small(x: torch.Tensor) -> torch.Tensor:
    m, n = x.shape
    out = torch.empty_like(x)
    for tile_m in kl.tile(m, block_size=1):
        row = x[tile_m, :].float()
        while row.abs().amax() > 1.0:  # a reduction's result
            row = row * 0.5
        out[tile_m, :] = row.to(x.dtype)
    return out


def test_while_on_a_reduction() -> None:
    def ref(x: torch.Tensor) -> torch.Tensor:
        rows = []
        for r in x.float():
            while r.abs().max() > 1.0:
                r = r * 0.5
            rows.append(r)
        return torch.stack(rows).to(x.dtype)

    for m, n in ((1, 1), (3, 17), (5, 33)):
        x = torch.randn(m, n) * 10
        assert_matches_torch(halve_until_small, ref, x)


@kc.kernel
def while_on_a_block(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        v = x[tile]
        while v > 0:  # BAD
            v = v - 1.0
        out[tile] = v
    return out


def test_while_on_a_block_is_refused_at_its_line() -> None:
    with pytest.raises(UnsupportedConstruct, match="must be a device scalar") as info:
        while_on_a_block(torch.randn(8))
    lines, start = inspect.getsourcelines(while_on_a_block.fn)
    line = start + next(i for i, ln in enumerate(lines) if "# BAD" in ln)
    assert f":{line}:" in str(info.value)


@kc.kernel
def mixed_conditions(
    x: torch.Tensor, lengths: torch.Tensor, beta: float, bias: torch.Tensor | None
) -> torch.Tensor:
    m, n = x.shape
    out = torch.zeros_like(x)
    for g in kl.grid(m):
        ln = lengths[g]
        y = x[g, :]
        # A device scalar (beta is a run-time float) and'ed with host facts.
        if beta != 0.0 and bias is not None:
            y = y + beta * bias[:]
        if not (ln > 2 or ln == 0):
            y = y * 2.0
        if bias is None or ln > 1 and ln < 4:
            y = y - 1.0
        out[g, :] = y
    return out


def _mixed_ref(
    x: torch.Tensor, lengths: torch.Tensor, beta: float, bias: torch.Tensor | None
) -> torch.Tensor:
    out = torch.zeros_like(x)
    for i in range(x.size(0)):
        ln, y = int(lengths[i]), x[i]
        if beta != 0.0 and bias is not None:
            y = y + beta * bias
        if not (ln > 2 or ln == 0):
            y = y * 2.0
        if bias is None or ln > 1 and ln < 4:
            y = y - 1.0
        out[i] = y
    return out


@pytest.mark.parametrize("beta", [0.0, 0.5])
@pytest.mark.parametrize("with_bias", [False, True])
def test_and_or_not_mix_host_values_and_device_scalars(beta: float, with_bias: bool) -> None:
    x, lengths = torch.randn(7, 5), torch.tensor([0, 1, 2, 3, 4, 5, 2])
    bias = torch.randn(5) if with_bias else None
    assert_matches_torch(mixed_conditions, _mixed_ref, x, lengths, beta, bias)


def test_and_of_a_block_is_refused_at_its_line() -> None:
    @kc.kernel
    def blocky(x: torch.Tensor) -> torch.Tensor:
        out = torch.zeros_like(x)
        for t in kl.tile(x.size(0)):
            if x[t] > 0 and True:
                out[t] = x[t]
        return out

    with pytest.raises(UnsupportedConstruct, match="is on a device value") as e:
        blocky(torch.randn(5))
    assert "test_device_if.py" in str(e.value)
