"""The fast path's replay of a direct launch (runtime/fastpath.py ``make_replay``): a later call
with the same key hands the direct launch exactly what the launcher would, its own tensors and
floats included. Under the interpreter no kernel launches directly, so these tests stand in a
recording ``direct`` for the compiled kernel's launch."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import torch

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.backends.triton.launch import WrongDevice
from kcompiler.runtime.fastpath import make_replay, replayable


@kc.kernel()
def scaled_add(x: torch.Tensor, y: torch.Tensor, alpha: float, beta: float) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] * alpha + y[tile] * beta
    return out


class Recorder:
    """A direct launch that records its arguments (and launches nothing)."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.fail = False

    def __call__(self, *args: Any) -> None:
        if self.fail:
            raise WrongDevice
        self.calls.append(args)


def _entry(kernel: kc.Kernel) -> Any:
    (entry,) = kernel.fast_path_entries()
    return entry


def _prime(x: torch.Tensor, y: torch.Tensor) -> tuple[Any, Recorder]:
    scaled_add.clear_caches()
    scaled_add(x, y, 1.0, 2.0)  # compiles; the interpreter gives no direct launch
    entry = _entry(scaled_add)
    assert entry.direct is None and entry.replay is None
    rec = Recorder()
    entry.direct = rec
    return entry, rec


def _expected(entry: Any, out: Any, x: Any, y: Any, alpha: Any, beta: Any) -> tuple[Any, ...]:
    """What the launcher hands the direct launch for these host values."""
    env = {"out": out, "x": x, "y": y, "alpha": alpha, "beta": beta}
    seen: list[tuple[Any, ...]] = []
    entry.compiled.launcher(*entry.args(env), _kc_launch=lambda *a: seen.append(a))
    (args,) = seen
    return args


def _same(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    return len(a) == len(b) and all(
        u is v if isinstance(u, torch.Tensor) else (type(u) is type(v) and u == v)
        for u, v in zip(a, b)
    )


def test_generated_launchers_are_replayable() -> None:
    x = torch.randn(64)
    scaled_add(x, x, 1.0, 2.0)
    assert replayable(_entry(scaled_add).compiled)


def test_a_replay_passes_this_calls_tensors_and_floats() -> None:
    x, y = torch.randn(64), torch.randn(64)
    entry, rec = _prime(x, y)
    scaled_add(x, y, 1.5, 2.5)  # records (and launches through) the launcher
    assert entry.replay is not None and len(rec.calls) == 1
    a, b = torch.randn(64), torch.randn(64)
    out = scaled_add(a, b, 3.0, -1.0)  # replayed
    assert len(rec.calls) == 2 and scaled_add.fast_path_stats().entries == 1
    assert _same(rec.calls[1], _expected(entry, out, a, b, 3.0, -1.0))
    # The parameters swapped: the replay follows the parameters, not the recorded objects.
    out = scaled_add(b, a, -1.0, 3.0)
    assert _same(rec.calls[2], _expected(entry, out, b, a, -1.0, 3.0))


def test_aliased_parameters_do_not_record_a_replay() -> None:
    x = torch.randn(64)
    entry, rec = _prime(x, torch.randn(64))
    scaled_add(x, x, 1.0, 2.0)  # x twice, and 1.0/2.0 distinct: ambiguous tensors
    assert entry.replay is None
    a, b = torch.randn(64), torch.randn(64)
    out = scaled_add(a, b, 1.0, 2.0)  # unambiguous: records now
    assert entry.replay is not None
    assert _same(rec.calls[-1], _expected(entry, out, a, b, 1.0, 2.0))
    out = scaled_add(a, a, 4.0, 4.0)  # aliasing in a replayed call is fine
    assert _same(rec.calls[-1], _expected(entry, out, a, a, 4.0, 4.0))


def test_a_replay_on_another_device_falls_back_to_the_jit() -> None:
    x, y = torch.randn(64), torch.randn(64)
    entry, rec = _prime(x, y)
    scaled_add(x, y, 1.0, 2.0)
    assert entry.replay is not None
    rec.fail = True
    torch.testing.assert_close(scaled_add(x, y, 2.0, 3.0), x * 2.0 + y * 3.0)  # the JIT ran


def test_make_replay_refuses_what_is_not_a_constant_of_the_key() -> None:
    t, u = torch.zeros(4), torch.zeros(4)
    direct = Recorder()
    replay = make_replay(["t", "u", "f"], [t, u, 0.5], [2, t, u, 0.5, 7, "s", None, True], direct)
    assert replay is not None
    t2, u2 = torch.ones(4), torch.ones(4)
    replay({"t": t2, "u": u2, "f": 0.25})
    assert _same(direct.calls[0], (2, t2, u2, 0.25, 7, "s", None, True))
    assert make_replay(["t", "u"], [t, t], [1, t], direct) is None  # two owners
    assert make_replay(["t"], [t], [1, t.view(4)], direct) is None  # not a parameter
    assert make_replay(["t"], [t], [1, 0.5], direct) is None  # a float of no parameter
    assert make_replay(["t"], [t], [1, object()], direct) is None  # any other object


def test_an_impure_launcher_is_not_replayable() -> None:
    x = torch.randn(64)
    scaled_add(x, x, 1.0, 2.0)
    compiled = _entry(scaled_add).compiled
    source = compiled.source.replace("    num_tiles =", "    out.zero_()\n    num_tiles =", 1)
    assert source != compiled.source
    assert not replayable(replace(compiled, source=source))
    assert not replayable(replace(compiled, launcher=lambda *a, **k: None))


def test_clearing_the_entries_clears_the_last_hits() -> None:
    x = torch.randn(64)
    scaled_add(x, x, 1.0, 2.0)
    scaled_add(x, x, 1.0, 2.0)
    assert scaled_add.fast_path_stats().last_hits
    scaled_add.clear_caches()
    assert not scaled_add.fast_path_stats().last_hits
    scaled_add(x, x, 1.0, 2.0)
    assert scaled_add.fast_path_stats().entries == 1


@pytest.fixture(autouse=True)
def _fresh() -> Any:
    yield
    scaled_add.clear_caches()


@kc.kernel()
def take(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    out = torch.empty([idx.size(0)], dtype=x.dtype, device=x.device)
    for tile in kl.tile(idx.size(0)):
        out[tile] = x[idx[tile]]
    return out


def test_a_checked_gather_replays_with_its_error_records() -> None:
    # The launcher passes the variant's error records and the kernel's error flag on every
    # call (backends/triton/bounds.py): the replay takes them as constants.
    x = torch.randn(16)
    take(x, torch.tensor([1, 2, 3]))
    entry = _entry(take)
    errors = entry.compiled.errors
    assert errors is not None
    rec = Recorder()
    entry.direct = rec
    take(x, torch.tensor([4, 5, 6]))  # records
    assert entry.replay is not None
    idx = torch.tensor([7, 8, 9])
    take(x, idx)  # replayed
    last = rec.calls[-1]
    assert any(a is errors.tensor for a in last) and any(a is errors.flag.tensor for a in last)
    assert any(a is idx for a in last)
