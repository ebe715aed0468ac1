"""The bundled kernels on the fast path, called as benchmarks/kernels.py calls them: a repeated
call misses nothing and replays its launch, its key reads only host variables (its cost grows
with every name it reads), and what the key leaves to runtime arguments (eps, bias or None, a
float in a tuple) still gives torch's results. Under the interpreter nothing launches
directly, so a recording stand-in takes the direct launch's place where replays are tested;
each test runs on fresh copies of the bundled kernels, so no stand-in outlives it."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
import torch
import torch.nn.functional as F

import kcompiler as kc
import kcompiler.language as kl
from benchmarks.host_profile import CPU_KERNELS, cpu_call
from kcompiler.runtime.fastpath import MISSING, REPLAY_TRIES, make_key
from kcompiler.runtime.kernel import Kernel


class Recorder:
    """A direct launch that records its arguments (and launches nothing)."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def __call__(self, *args: Any) -> None:
        self.calls.append(args)


def _fresh(k: Kernel) -> Kernel:
    return kc.kernel(k.fn, config=k.config, ignore_warnings=k.ignore_warnings)


def _fresh_module(monkeypatch: pytest.MonkeyPatch, name: str) -> list[Kernel]:
    """Fresh copies of the Kernel objects of kcompiler.kernels.<name>, in their module's place
    until the test ends (the plain-function wrappers call them through the module)."""
    module = importlib.import_module(f"kcompiler.kernels.{name}")
    fresh = []
    for attr, value in list(vars(module).items()):
        if isinstance(value, Kernel):
            fresh.append(_fresh(value))
            monkeypatch.setattr(module, attr, fresh[-1])
    return fresh


@pytest.mark.parametrize("name", CPU_KERNELS)
def test_a_repeated_call_stays_on_the_fast_path_and_replays(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    kernels = _fresh_module(monkeypatch, name)
    fn, args = cpu_call(name)
    try:
        fn(*args)  # compiles and runs on the interpreter
    except Exception as e:  # noqa: BLE001 - the interpreter's error type varies
        if name == "fp8_gemm" and "cannot cast" in str(e):
            pytest.skip("this Triton's interpreter cannot run the fp8 loads")
        raise
    used = [k for k in kernels if k.fast_path_stats().entries]
    assert used
    recorders = []
    for k in used:
        for entry in k.fast_path_entries():
            recorders.append(Recorder())
            entry.direct = recorders[-1]
    for _ in range(REPLAY_TRIES):
        fn(*args)
    misses = [k.fast_path_misses for k in used]
    sizes = [k.fast_path_stats().entries for k in used]
    launched = sum(len(r.calls) for r in recorders)
    for _ in range(3):
        fn(*args)
    assert [k.fast_path_misses for k in used] == misses
    assert [k.fast_path_stats().entries for k in used] == sizes
    assert all(entry.replay is not None for k in used for entry in k.fast_path_entries())
    assert sum(len(r.calls) for r in recorders) == launched + 3 * sum(sizes)


@pytest.mark.parametrize("name", CPU_KERNELS)
def test_the_key_reads_only_host_variables(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Globals (torch, kl), the loop variable and the names only the loop binds can never be
    in the loop's environment: the key leaves them out instead of reading MISSING each call."""
    kernels = _fresh_module(monkeypatch, name)
    fn, args = cpu_call(name)
    try:
        fn(*args)  # compiles: makes the keys
    except Exception as e:  # noqa: BLE001 - the interpreter's error type varies
        if name == "fp8_gemm" and "cannot cast" in str(e):
            pytest.skip("this Triton's interpreter cannot run the fp8 loads")
        raise
    envs: list[tuple[Kernel, int, dict[str, Any]]] = []

    def host_only(self: Kernel, *a: Any, **kw: Any) -> Any:
        bound = self.bind(*a, **kw)
        if any(self is k for k in kernels):
            envs.extend((self, i, env) for i, env in bound.device_loops())
        return bound.run_host()

    with monkeypatch.context() as m:
        m.setattr(Kernel, "__call__", host_only)
        fn(*args)  # the host code alone, for the loops' environments
    assert envs
    for k, i, env in envs:
        names = k.program.loops[i].names
        fp = k.fast_path_key(i, env, k.choose_config())
        assert MISSING not in fp[2:]
        assert len(fp) == 2 + sum(n in env for n in names)
        assert len(fp) < 2 + len(names)  # each loop reads torch or kl, at least


def test_layer_norm_keeps_torchs_results_across_eps_bias_dtype_and_shape(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (fwd,) = _fresh_module(monkeypatch, "layer_norm")
    from kcompiler.kernels.layer_norm import layer_norm

    x, w, b = torch.randn(64, 256), torch.randn(256), torch.randn(256)
    cases = [
        (x, w, b, 1e-5, 1),
        (x, w, b, 1e-5, 0),  # a repeated call
        (torch.randn(64, 256), w, b, 0.5, 0),  # eps: a runtime argument
        (x, w, None, 0.5, 1),  # no bias: another variant
        (x, w, b, 2.0, 0),
        (x, w, None, 1e-5, 0),
        (x.bfloat16(), w.bfloat16(), b.bfloat16(), 1e-5, 1),  # dtype
        (torch.randn(48, 256), w, b, 1e-5, 1),  # shape
    ]
    for x_, w_, b_, eps, miss in cases:
        misses = fwd.fast_path_misses
        got = layer_norm(x_, [256], w_, b_, eps)
        want = F.layer_norm(x_.float(), [256], w_.float(), None if b_ is None else b_.float(), eps)
        tol = 2e-2 if x_.dtype == torch.bfloat16 else 1e-5
        torch.testing.assert_close(got.float(), want, rtol=tol, atol=tol)
        assert fwd.fast_path_misses - misses == miss


def test_layer_norm_replays_each_calls_eps(monkeypatch: pytest.MonkeyPatch) -> None:
    (fwd,) = _fresh_module(monkeypatch, "layer_norm")
    x, w, b = torch.randn(64, 256), torch.randn(256), torch.randn(256)
    fwd(x, [256], w, b, 1e-5)
    (entry,) = fwd.fast_path_entries()
    rec = Recorder()
    entry.direct = rec
    fwd(x, [256], w, b, 1e-5)  # records the direct launch
    assert entry.replay is not None
    out, mean, rstd = fwd(x, [256], w, b, 0.25)  # replayed
    assert len(rec.calls) == 2
    env = {"x": x, "eps": 0.25, "bias": b, "weight": w, "out": out, "mean": mean, "rstd": rstd}
    env.update(m=64, n=256)
    seen: list[tuple[Any, ...]] = []
    entry.compiled.launcher(*entry.args(env), _kc_launch=lambda *a: seen.append(a))
    (want,) = seen  # what the launcher itself would hand the direct launch
    got = rec.calls[1]
    assert len(got) == len(want)
    assert all(u is v if isinstance(v, torch.Tensor) else u == v for u, v in zip(got, want))
    assert [a for a in got if type(a) is float] == [0.25]


@kc.kernel
def affine(x: torch.Tensor, coeffs: tuple[float, float]) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] * coeffs[0] + coeffs[1]
    return out


def test_floats_in_a_tuple_are_part_of_the_key() -> None:
    """The loop bakes a tuple's floats into its code (specialize.py keys on the tuple's repr),
    so the fast path may not share an entry across their values (it did: the second call
    returned x * 1.5)."""
    x = torch.randn(40)
    for coeffs in [(1.5, 0.0), (2.5, 1.0), (1.5, 0.0), (1.5, -0.0)]:
        torch.testing.assert_close(affine(x, coeffs), x * coeffs[0] + coeffs[1])
    assert affine.fast_path_stats().entries == 3  # -0.0 is not 0.0 in the code either
    key = make_key(0, ["t"], ())
    assert key({"t": (0.0,)}, None) != key({"t": (-0.0,)}, None)
    assert key({"t": ("1.5",)}, None) != key({"t": (1.5,)}, None)


def test_a_key_given_the_host_variables_still_tracks_a_conditional_local() -> None:
    key = make_key(0, ["x", "scale", "torch", "tile"], (), host_names={"x", "scale"})
    x = torch.zeros(8)
    k = key({"x": x}, None)
    assert k == (0, None, key({"x": x}, None)[2], MISSING)  # torch and tile left out
    assert key({"x": x, "scale": 2}, None) != k  # bound in this call only
    assert key({"x": x, "torch": torch}, None) == k  # never a host variable: not read


def test_a_bool_and_the_int_it_equals_have_different_keys() -> None:
    """``True == 1`` and they hash alike, but a bool is a compile-time constant (specialize.py
    keys it apart from an int size), so the fast path must not hand one the other's entry."""
    key = make_key(0, ["flag"], ())
    assert key({"flag": True}, None) != key({"flag": 1}, None)
    assert key({"flag": False}, None) != key({"flag": 0}, None)
    assert key({"flag": True}, None) == key({"flag": True}, None)
