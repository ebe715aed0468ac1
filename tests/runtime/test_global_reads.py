"""Module globals and closure variables a kernel reads are part of its keys: rebinding one
between calls runs code traced with the new value, never the variant compiled for the old one
(frontend/global_reads.py), and a call with nothing rebound still takes the fast path."""

from __future__ import annotations

import sys
import types

import pytest
import torch

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.runtime.fastpath import global_fingerprint

THIS = sys.modules[__name__]

SCALE = 2.0
REPS = 2
NEGATE = False
MODE = "double"
OUT_DTYPE = torch.float32
SHIFTS = (1.0, 2.0)
HSCALE = 10.0


def helper_scale(v: torch.Tensor) -> torch.Tensor:
    return v * HSCALE


def helper_add(v: torch.Tensor) -> torch.Tensor:
    return v + 1.0


def helper_sub(v: torch.Tensor) -> torch.Tensor:
    return v - 1.0


HELPER = helper_add
HSHIFT = 5.0


def helper_shift(v: torch.Tensor) -> torch.Tensor:
    return v + HSHIFT  # a global the loop's key did not read before HELPER was rebound


def make_adder(amount: float) -> tuple[object, object]:
    """A helper closing over a cell, and a setter that rebinds the cell."""

    def add(v: torch.Tensor) -> torch.Tensor:
        return v + amount

    def set_amount(value: float) -> None:
        nonlocal amount
        amount = value

    return add, set_amount


ADDER, SET_ADDER = make_adder(0.5)

# A user's module of settings: the attributes device code reads are that module's globals.
CFG = types.ModuleType("kernel_settings")
CFG.SCALE = 2.0
CFG.OFFSET = 1.0


def helper_offset(v: torch.Tensor) -> torch.Tensor:
    return v + CFG.OFFSET


@kc.kernel
def scaled(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for t in kl.tile(x.size(0)):
        out[t] = x[t] * SCALE
    return out


@kc.kernel
def repeated(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for t in kl.tile(x.size(0)):
        acc = torch.zeros_like(x[t])
        for _ in range(REPS):  # a loop bound unrolled at trace time
            acc = acc + x[t]
        out[t] = acc
    return out


@kc.kernel
def maybe_negated(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for t in kl.tile(x.size(0)):
        if NEGATE:
            out[t] = -x[t]
        else:
            out[t] = x[t]
    return out


@kc.kernel
def by_mode(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    if MODE == "double":  # a host decision: which device loop runs
        for t in kl.tile(x.size(0)):
            out[t] = x[t] * 2.0
    else:
        for t in kl.tile(x.size(0)):
            out[t] = x[t] + 100.0
    return out


@kc.kernel
def cast(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty(x.shape, dtype=torch.float64, device=x.device)
    for t in kl.tile(x.size(0)):
        out[t] = (x[t] + SHIFTS[1]).to(OUT_DTYPE).to(torch.float64)
    return out


@kc.kernel
def through_helpers(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for t in kl.tile(x.size(0)):
        out[t] = HELPER(helper_scale(x[t]))
    return out


@kc.kernel
def from_settings(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for t in kl.tile(x.size(0)):
        out[t] = helper_offset(x[t] * CFG.SCALE)
    return out


def test_rebound_float_global_runs_new_code(monkeypatch: pytest.MonkeyPatch) -> None:
    x = torch.randn(37)
    torch.testing.assert_close(scaled(x), x * 2.0)
    monkeypatch.setattr(THIS, "SCALE", 3.0)
    torch.testing.assert_close(scaled(x), x * 3.0)
    monkeypatch.setattr(THIS, "SCALE", 2.0)  # back: the first variant serves again
    variants = len(scaled.compiled_variants())
    torch.testing.assert_close(scaled(x), x * 2.0)
    assert len(scaled.compiled_variants()) == variants


def test_int_global_as_loop_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    x = torch.randn(19)
    torch.testing.assert_close(repeated(x), x * 2)
    monkeypatch.setattr(THIS, "REPS", 5)
    torch.testing.assert_close(repeated(x), x * 5)


def test_bool_global_in_device_if(monkeypatch: pytest.MonkeyPatch) -> None:
    x = torch.randn(16)
    torch.testing.assert_close(maybe_negated(x), x)
    monkeypatch.setattr(THIS, "NEGATE", True)
    torch.testing.assert_close(maybe_negated(x), -x)


def test_global_read_in_host_code(monkeypatch: pytest.MonkeyPatch) -> None:
    x = torch.randn(16)
    torch.testing.assert_close(by_mode(x), x * 2.0)
    monkeypatch.setattr(THIS, "MODE", "add")
    torch.testing.assert_close(by_mode(x), x + 100.0)


def test_dtype_and_tuple_globals(monkeypatch: pytest.MonkeyPatch) -> None:
    x = torch.randn(16, dtype=torch.float64) * 100
    torch.testing.assert_close(cast(x), (x + 2.0).float().double())
    monkeypatch.setattr(THIS, "OUT_DTYPE", torch.float16)
    monkeypatch.setattr(THIS, "SHIFTS", (1.0, -3.0))
    torch.testing.assert_close(cast(x), (x - 3.0).half().double())


def test_rebound_helper_and_its_globals(monkeypatch: pytest.MonkeyPatch) -> None:
    x = torch.randn(16)
    torch.testing.assert_close(through_helpers(x), x * 10.0 + 1.0)
    monkeypatch.setattr(THIS, "HELPER", helper_sub)  # the function object: by identity
    torch.testing.assert_close(through_helpers(x), x * 10.0 - 1.0)
    monkeypatch.setattr(THIS, "HSCALE", 0.5)  # a global the called helper reads
    torch.testing.assert_close(through_helpers(x), x * 0.5 - 1.0)
    monkeypatch.setattr(THIS, "HELPER", helper_shift)
    torch.testing.assert_close(through_helpers(x), x * 0.5 + 5.0)
    monkeypatch.setattr(THIS, "HSHIFT", -2.0)
    torch.testing.assert_close(through_helpers(x), x * 0.5 - 2.0)
    monkeypatch.setattr(THIS, "HELPER", helper_sub)  # back: its variant with HSCALE 0.5
    variants = len(through_helpers.compiled_variants())
    torch.testing.assert_close(through_helpers(x), x * 0.5 - 1.0)
    assert len(through_helpers.compiled_variants()) == variants
    monkeypatch.setattr(THIS, "HELPER", ADDER)
    torch.testing.assert_close(through_helpers(x), x * 0.5 + 0.5)
    SET_ADDER(3.0)  # the helper's closure cell
    try:
        torch.testing.assert_close(through_helpers(x), x * 0.5 + 3.0)
    finally:
        SET_ADDER(0.5)
    assert len(through_helpers.compiled_variants()) == variants + 2


def test_closure_cells_rebound_between_calls() -> None:
    scale = 2.0
    reps = 1
    double = True

    @kc.kernel
    def closing(x: torch.Tensor) -> torch.Tensor:
        out = torch.empty_like(x)
        if double:  # host code reads the cell
            for t in kl.tile(x.size(0)):
                acc = x[t] * scale  # device code reads cells
                for _ in range(reps):
                    acc = acc + 1.0
                out[t] = acc
        else:
            for t in kl.tile(x.size(0)):
                out[t] = x[t]
        return out

    x = torch.randn(21)
    torch.testing.assert_close(closing(x), x * 2.0 + 1.0)
    scale, reps = 3.0, 4
    torch.testing.assert_close(closing(x), x * 3.0 + 4.0)
    double = False
    torch.testing.assert_close(closing(x), x)
    assert (scale, reps, double) == (3.0, 4, False)  # the cells the kernel reads


def test_unchanged_globals_keep_the_fast_path() -> None:
    x = torch.randn(33)
    scaled(x)
    misses = scaled.fast_path_misses
    variants = len(scaled.compiled_variants())
    for _ in range(5):
        torch.testing.assert_close(scaled(x), x * SCALE)
    assert scaled.fast_path_misses == misses
    assert len(scaled.compiled_variants()) == variants


def test_rebinding_to_an_equal_value_reuses_the_variant(monkeypatch: pytest.MonkeyPatch) -> None:
    x = torch.randn(33)
    scaled(x)
    variants = len(scaled.compiled_variants())
    monkeypatch.setattr(THIS, "SCALE", float(str(SCALE)))  # another float object, same value
    torch.testing.assert_close(scaled(x), x * SCALE)
    assert len(scaled.compiled_variants()) == variants


def test_global_values_key_the_specialization_and_traced_ir(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    x = torch.randn(8)
    env = {"x": x, "out": torch.empty_like(x)}
    before = scaled.loop_specialization(0, env).key
    ir_before = scaled.bind(x).to_ir()
    monkeypatch.setattr(THIS, "SCALE", 5.0)
    assert scaled.loop_specialization(0, env).key != before
    # The tuning cache's kernel hash reads the traced IR (runtime/tuning.kernel_hash).
    assert scaled.bind(x).to_ir() != ir_before


def test_int_float_and_bool_globals_key_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    x = torch.arange(8, dtype=torch.int32)
    for value in (3, 2.5, True, 3):
        monkeypatch.setattr(THIS, "SCALE", value)
        torch.testing.assert_close(scaled(x), (x * value).to(torch.int32))
    y = torch.rand(8) + 1.0
    for value in (True, False):  # a bool literal retyped to float is 1.0 or 0.0
        monkeypatch.setattr(THIS, "SCALE", value)
        torch.testing.assert_close(scaled(y), y * value)
    for value in (-0.0, 0.0, -0.0):
        monkeypatch.setattr(THIS, "SCALE", value)
        assert torch.equal(scaled(y).signbit(), (y * value).signbit())
    keys = {global_fingerprint(v) for v in (2, 2.0, True, 1, 1.0, -0.0, 0.0)}
    assert len(keys) == 7
    nan = float("nan")
    assert global_fingerprint(nan) == global_fingerprint(nan)


def test_attributes_of_a_user_module(monkeypatch: pytest.MonkeyPatch) -> None:
    x = torch.randn(16)
    torch.testing.assert_close(from_settings(x), x * 2.0 + 1.0)
    monkeypatch.setattr(CFG, "SCALE", -4.0)  # read by the loop
    torch.testing.assert_close(from_settings(x), x * -4.0 + 1.0)
    monkeypatch.setattr(CFG, "OFFSET", 7.0)  # read by the helper the loop calls
    torch.testing.assert_close(from_settings(x), x * -4.0 + 7.0)


def test_library_modules_and_builtins_are_no_reads() -> None:
    x = torch.randn(8)
    scaled(x)
    labels = [r.label() for r in scaled.loop_reads(0)]
    assert labels == [f"{__name__}.SCALE"]  # not torch, kl, nor their attributes


COUNTER = 1.0


@kc.kernel
def bumping(x: torch.Tensor) -> torch.Tensor:
    global COUNTER
    COUNTER = COUNTER + 1.0  # host code rebinds the global the device loop reads
    out = torch.empty_like(x)
    for t in kl.tile(x.size(0)):
        out[t] = x[t] + COUNTER
    return out


def test_global_assigned_by_host_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(THIS, "COUNTER", 1.0)
    x = torch.randn(8)
    torch.testing.assert_close(bumping(x), x + 2.0)
    torch.testing.assert_close(bumping(x), x + 3.0)
