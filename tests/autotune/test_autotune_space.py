"""ConfigSpace: every config it hands out is valid, and errors name what is wrong."""

from __future__ import annotations

import math
import random

import pytest
from autotune_fakes import kernel_space, small_space
from hypothesis import given, settings
from hypothesis import strategies as st

from kcompiler.autotune import (
    BoolKnob,
    ChoiceKnob,
    ConfigError,
    ConfigSpace,
    IntKnob,
    MaxProduct,
    PowerOfTwoKnob,
    Predicate,
)
from kcompiler.config import Config

SPACE = kernel_space()
# cheap properties: at least 60 examples, more under HYPOTHESIS_PROFILE=thorough
FAST = settings(max_examples=max(60, settings.default.max_examples), deadline=None)


def _one_knob_apart(space: ConfigSpace, a: Config, b: Config) -> bool:
    fa, fb = space.to_flat(a), space.to_flat(b)
    return sum(fa[k] != fb[k] for k in fa) == 1


# -- validity of everything a strategy can get -------------------------------------------


@FAST
@given(st.integers(0, 2**32 - 1))
def test_sampled_configs_are_valid(seed):
    config = SPACE.sample(random.Random(seed))
    SPACE.validate(config)


@FAST
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=7, max_size=7))
def test_decode_of_any_vector_is_valid(vector):
    SPACE.validate(SPACE.decode(vector))


@FAST
@given(st.integers(0, 2**32 - 1))
def test_neighbors_are_valid_one_knob_moves(seed):
    config = SPACE.sample(random.Random(seed))
    neighbors = SPACE.neighbors(config)
    assert neighbors, "every sampled config here has at least one valid move"
    for n in neighbors:
        SPACE.validate(n)
        assert _one_knob_apart(SPACE, config, n)


@FAST
@given(st.integers(0, 2**32 - 1))
def test_encode_decode_round_trip(seed):
    config = SPACE.sample(random.Random(seed))
    vector = SPACE.encode(config)
    assert all(0.0 <= x <= 1.0 for x in vector)
    assert SPACE.decode(vector) == config


def test_neighbors_are_exactly_the_valid_single_steps():
    config = SPACE.default()  # 64 x 512 blocks, 4 warps: exactly at the register budget
    moves = {
        (k, SPACE.to_flat(n)[k])
        for n in SPACE.neighbors(config)
        for k, v in SPACE.to_flat(n).items()
        if v != SPACE.to_flat(config)[k]
    }
    assert moves == {
        ("block_sizes[0]", 32),  # x2 = 128 would exceed the register budget
        ("block_sizes[1]", 256),
        ("num_warps", 8),  # /2 = 2 warps would exceed the register budget
        ("num_stages", 2),
        ("num_stages", 4),
        ("indexing", "tensor_descriptor"),
        ("pid_type", "persistent_blocked"),  # adjacent choice only
        ("range_unroll_factors[0]", 1),
    }


def test_sampling_is_deterministic_and_varied():
    a = [SPACE.sample(random.Random(7)) for _ in range(3)]
    b = [SPACE.sample(random.Random(7)) for _ in range(3)]
    assert a == b
    rng = random.Random(1)
    assert len({SPACE.sample(rng) for _ in range(50)}) > 40


# -- validation messages ------------------------------------------------------------------


def test_validate_names_the_knob_and_its_domain():
    bad = SPACE.default().replace(block_sizes=[48, 64])
    with pytest.raises(ConfigError, match=r"block_sizes\[0\].*48.*powers of two in \[1, 4096\]"):
        SPACE.validate(bad)
    with pytest.raises(ConfigError, match=r"pid_type.*'tiled'.*one of"):
        SPACE.validate(SPACE.default().replace(pid_type="tiled"))
    with pytest.raises(ConfigError, match=r"num_stages.*integers in \[1, 7\]"):
        SPACE.validate(SPACE.default().replace(num_stages=9))
    assert not SPACE.is_valid(bad)


def test_validate_names_the_violated_constraint():
    bad = SPACE.default().replace(block_sizes=[4096, 4096], num_warps=32)
    with pytest.raises(ConfigError, match=r"numel.*16,777,216.*1,048,576"):
        SPACE.validate(bad)
    regs = SPACE.default().replace(block_sizes=[1024, 256], num_warps=1)
    with pytest.raises(ConfigError, match=r"registers.*256 elements per thread.*num_warps=1"):
        SPACE.validate(regs)


def test_validate_rejects_wrong_shapes_and_fields():
    with pytest.raises(ConfigError, match=r"block_sizes.*list of 2"):
        SPACE.validate(SPACE.default().replace(block_sizes=[64]))
    with pytest.raises(ConfigError, match="maxnreg"):
        SPACE.validate(SPACE.default().replace(maxnreg=128))
    with pytest.raises(ConfigError, match="num_warps"):
        SPACE.validate(Config({k: v for k, v in SPACE.default().items() if k != "num_warps"}))


# -- defaults and repair ------------------------------------------------------------------


def test_default_is_repaired_by_halving_the_largest_block():
    space = ConfigSpace(
        [
            PowerOfTwoKnob("block_sizes[0]", 16, 4096, 4096),
            PowerOfTwoKnob("block_sizes[1]", 16, 4096, 1024),
        ],
        [MaxProduct(["block_sizes[0]", "block_sizes[1]"], 1 << 20, "Triton's max numel")],
    )
    # 4096*1024 = 4Mi: halve 4096 -> 2048 -> 1024 (then 1024*1024 = 1Mi fits)
    assert space.default() == Config(block_sizes=[1024, 1024])
    space.validate(space.default())


def test_unrepairable_defaults_are_reported_where_a_default_is_needed():
    space = ConfigSpace(
        [IntKnob("num_stages", 1, 4, 1)],
        [Predicate("stages", lambda f: f["num_stages"] > 2, "at least 3 stages")],
        starts=[{"num_stages": 4}],
    )
    # Checking configs needs no default (a config table's exact entry is only checked).
    space.validate(Config(num_stages=3))
    assert not space.is_valid(Config(num_stages=1))
    for needs_default in (space.default, space.starts, lambda: space.complete({})):
        with pytest.raises(ConfigError, match="halving"):
            needs_default()


def test_repair_falls_back_to_valid_config_for_a_predicate_halving_cannot_fix():
    # A lower bound: shrinking makes it worse, so repair must reset to the (valid) default.
    space = ConfigSpace(
        [PowerOfTwoKnob("block_sizes[0]", 16, 1024, 256), PowerOfTwoKnob("num_warps", 1, 16, 4)],
        [
            Predicate(
                "enough_work",
                lambda f: f["block_sizes[0]"] >= 32 * f["num_warps"],
                "a block needs >= 32 elements per warp",
                ["block_sizes[0]", "num_warps"],
            )
        ],
    )
    rng = random.Random(0)
    for _ in range(200):
        space.validate(space.sample(rng))
    space.validate(space.decode([0.0, 1.0]))  # block 16, 16 warps: invalid raw


# -- flat view ------------------------------------------------------------------------------


def test_flat_round_trip_and_fixed_fields():
    space = ConfigSpace(
        [PowerOfTwoKnob("block_sizes[0]", 16, 64, 32), BoolKnob("range_flattens[0]")],
        fixed={"range_warp_specializes": []},
    )
    config = space.default()
    assert config == Config(block_sizes=[32], range_flattens=[False], range_warp_specializes=[])
    assert space.to_flat(config) == {"block_sizes[0]": 32, "range_flattens[0]": False}
    assert space.to_config(space.to_flat(config)) == config
    with pytest.raises(ConfigError, match="fixed"):
        space.validate(config.replace(range_warp_specializes=[True]))
    # a bool knob does not accept the int 1
    with pytest.raises(ConfigError, match=r"range_flattens\[0\].*True or False"):
        space.validate(config.replace(range_flattens=[1]))


def test_complete_fills_missing_knobs_from_the_default():
    partial = Config(block_sizes=[128], indexing="tensor_descriptor")
    full = SPACE.complete(partial)
    assert full["block_sizes"] == [128, SPACE.default()["block_sizes"][1]]
    assert full["indexing"] == "tensor_descriptor"
    assert full["num_warps"] == SPACE.default()["num_warps"]


def test_bad_knob_declarations_are_rejected():
    with pytest.raises(ValueError, match="power of two"):
        PowerOfTwoKnob("num_warps", 3, 16, 4)
    with pytest.raises(ValueError, match="not in"):
        ChoiceKnob("indexing", ["pointer"], "block_ptr")
    with pytest.raises(ValueError, match="Config field"):
        IntKnob("num_warpz", 1, 4, 1)
    with pytest.raises(ValueError, match=r"block_sizes\[0\]\.\.block_sizes\[n-1\]"):
        ConfigSpace([PowerOfTwoKnob("block_sizes[1]", 16, 64, 32)])


# -- size and repr ---------------------------------------------------------------------------


def test_size_is_exact_for_small_spaces():
    space = small_space()
    assert space.raw_size() == 36
    assert space.size() == 33  # (block 128, 4 warps) x 3 indexing modes exceed the budget
    assert space.size() == len(set(space.iter_valid()))


def test_size_is_estimated_for_large_spaces():
    # 13 x 13 block pairs, of which those with a + b <= 18 (log2) are valid: 148 of 169.
    blocks = [PowerOfTwoKnob(f"block_sizes[{i}]", 1, 4096, 16) for i in range(2)]
    space = ConfigSpace(
        [*blocks, IntKnob("num_stages", 0, 9999, 1)],
        [MaxProduct(["block_sizes[0]", "block_sizes[1]"], 1 << 18, "budget")],
    )
    exact = 148 * 10_000
    assert space.raw_size() > 1_000_000
    assert math.isclose(space.size(), exact, rel_tol=0.05)


def test_repr_lists_knobs_domains_and_constraints():
    text = repr(SPACE)
    assert "block_sizes[0]: powers of two in [1, 4096] (default 64)" in text
    assert "indexing: one of {'pointer', 'tensor_descriptor'}" in text
    assert "numel: block_sizes[0] * block_sizes[1] <= 1,048,576 (Triton's max numel)" in text
