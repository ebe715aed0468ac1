"""Loop knobs (Helion's ``range_*`` config fields): numbering, emission, config space."""

from __future__ import annotations

import inspect
import random
import re

import pytest
import torch
import triton.language as tl

import kcompiler as kc
from kcompiler.backends.triton.loop_knobs import RANGE_FIELDS, range_options, sequential_loops
from kcompiler.exc import InvalidConfig
from kcompiler.kernels.softmax import softmax, softmax_two_pass
from kcompiler.runtime import tuning
from kcompiler.testing import call_with_config

TL_RANGE = inspect.signature(tl.range).parameters


def _module(kernel: kc.Kernel, *args: object):
    (module,) = kernel.traced_modules(args, {})
    return module.clone()  # a private copy


def test_sequential_loops_in_program_order() -> None:
    x = torch.randn(9, 300)
    assert sequential_loops(_module(softmax_two_pass, x)) == ["block_1"]  # two loops, one block
    assert sequential_loops(_module(softmax, x)) == []  # only the grid loop


def test_range_options_by_block_symbol() -> None:
    module = _module(softmax_two_pass, torch.randn(9, 300))
    cfg = kc.Config(range_unroll_factors=[2], range_num_stages=[0], range_flattens=[True])
    opts = range_options(module, cfg)
    assert opts["range_unroll_factors"] == {"block_1": 2}
    assert opts["range_num_stages"] == {}  # 0: Triton's default
    assert opts["range_flattens"] == {"block_1": True}
    assert set(opts) == set(RANGE_FIELDS)
    with pytest.raises(InvalidConfig, match=r"range_num_stages\[0\] = -1"):
        range_options(module, kc.Config(range_num_stages=[-1]))
    with pytest.raises(InvalidConfig, match=r"range_multi_buffers\[0\] = 1"):
        range_options(module, kc.Config(range_multi_buffers=[1]))


def test_knobs_are_emitted_as_tl_range_arguments() -> None:
    x = torch.randn(9, 300)
    cfg = kc.Config(
        block_sizes=[4, 64],
        range_unroll_factors=[2],
        range_num_stages=[3],
        range_multi_buffers=[False],
        range_flattens=[True],
    )
    src = softmax_two_pass.to_triton_code(x, config=cfg)
    # 300 columns in 64-wide tiles: each of the two loops runs its whole tiles with the knobs
    # and peels the ragged last tile (0 or 1 trips, nothing to pipeline) into a plain range.
    loops = [ln.strip() for ln in src.splitlines() if "in tl.range(" in ln]
    whole, tails = loops[0::2], loops[1::2]
    assert len(loops) == 4 and all(
        ln.endswith(
            "BLOCK_1, num_stages=3, loop_unroll_factor=2, disallow_acc_multi_buffer=True, flatten=True):"
        )
        and "tl.range(0, full_" in ln
        for ln in whole
    )
    assert all(re.search(r"tl\.range\(full_\d+, s1, BLOCK_1\):$", ln) for ln in tails)
    saved = softmax_two_pass.config
    softmax_two_pass.config = cfg
    try:
        torch.testing.assert_close(softmax_two_pass(x), torch.softmax(x, 1))
    finally:
        softmax_two_pass.config = saved
    plain = softmax_two_pass.to_triton_code(x, config=kc.Config(block_sizes=[4, 64]))
    assert re.search(r"tl\.range\(0, full_\d+, BLOCK_1\):", plain)


def test_warp_specialize_is_emitted_as_set() -> None:
    # Offered by the tuner on Blackwell only, so no tuned config sets it on the CPU; the
    # emitted loop still carries the config's value (None: Triton's own choice, no argument).
    x = torch.randn(9, 300)
    for value in (True, False, None):
        cfg = kc.Config(block_sizes=[4, 64], range_warp_specializes=[value])
        src = softmax_two_pass.to_triton_code(x, config=cfg)
        whole = [ln for ln in src.splitlines() if "tl.range(0, full_" in ln]
        assert len(whole) == 2
        want = "" if value is None else f", warp_specialize={value}"
        assert all(ln.endswith(f"BLOCK_1{want}):") for ln in whole), whole


def test_space_has_range_knobs_only_for_sequential_loops() -> None:
    x = torch.randn(9, 300)
    assert not any(n.startswith("range_") for n in softmax.config_space(x).names)
    names = softmax_two_pass.config_space(x).names
    expected = {
        "range_unroll_factors[0]": "loop_unroll_factor" in TL_RANGE,
        "range_num_stages[0]": "num_stages" in TL_RANGE,
        "range_multi_buffers[0]": "disallow_acc_multi_buffer" in TL_RANGE,
        "range_flattens[0]": "flatten" in TL_RANGE,
        "range_warp_specializes[0]": False,  # CPU / pre-Blackwell: not offered
    }
    assert {n: n in names for n in expected} == expected
    assert "num_stages" in names


def test_warp_specialization_constraint(monkeypatch: pytest.MonkeyPatch) -> None:
    if "warp_specialize" not in TL_RANGE:
        pytest.skip("this Triton's tl.range has no warp_specialize")
    monkeypatch.setattr(tuning, "_warp_specialize_device", lambda: True)
    space = softmax_two_pass.config_space(torch.randn(9, 300))
    default = space.default()
    assert default["range_warp_specializes"] == [None]
    assert space.is_valid(default.replace(range_warp_specializes=[True], range_unroll_factors=[0]))
    assert not space.is_valid(
        default.replace(range_warp_specializes=[True], range_unroll_factors=[2])
    )
    rng = random.Random(0)
    for _ in range(20):
        cfg = space.sample(rng)
        if cfg["range_warp_specializes"] == [True]:
            assert cfg["range_unroll_factors"][0] <= 1


def test_peeling_follows_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """KCOMPILER_PEEL_TAIL=0 emits one masked loop per tile.for; both forms compute the same.
    Settings are read when a variant compiles (a kernel's existing fast-path entries keep
    theirs), so each setting gets a fresh Kernel."""
    x = torch.randn(9, 300)
    cfg = kc.Config(block_sizes=[4, 64])
    monkeypatch.setenv("KCOMPILER_PEEL_TAIL", "0")
    unpeeled_kernel = kc.kernel(softmax_two_pass.fn)
    src = unpeeled_kernel.to_triton_code(x, config=cfg)
    assert "full_" not in src and "tl.range(0, s1, BLOCK_1):" in src
    unpeeled = call_with_config(unpeeled_kernel, cfg, x)
    monkeypatch.setenv("KCOMPILER_PEEL_TAIL", "1")
    peeled = call_with_config(kc.kernel(softmax_two_pass.fn), cfg, x)
    torch.testing.assert_close(peeled, unpeeled)
    torch.testing.assert_close(peeled, torch.softmax(x, 1))
