"""Config knobs reach the generated code or are refused: ``load_eviction_policies`` becomes
``tl.load(..., eviction_policy=...)`` on the i-th load, ``maxnreg`` a launch option; knobs
without an emission (``loop_orders``, ``flatten_loops``, ``static_ranges``) are refused at any
value but their default; the default config's code carries none of them. Also: the kernel
options and Config fields a typo hits raise ``UnknownOption`` with a did-you-mean.
"""

from __future__ import annotations

import re

import pytest
import torch

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.compiler.checks import (
    EVICTION_POLICIES,
    MAXNREG_VALUES,
    validate_config,
)
from kcompiler.config import KNOWN_FIELDS
from kcompiler.exc import InvalidConfig, UnknownOption, did_you_mean
from kcompiler.kernels.softmax import softmax_two_pass
from kcompiler.runtime.kernel import SETTINGS, kernel_options


@kc.kernel
def scaled_add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] * 2.0 + y[tile]
    return out


def _loads(code: str) -> list[str]:
    return [line.strip() for line in code.splitlines() if "tl.load(" in line]


def _launch(code: str) -> str:
    (line,) = [
        s.strip() for s in code.splitlines() if s.strip().startswith("return ") and "[(" in s
    ]
    return line


def test_eviction_policies_are_emitted_per_load_in_order() -> None:
    x, y = torch.randn(40), torch.randn(40)
    cfg = kc.Config(block_sizes=[16], load_eviction_policies=["first", "last"])
    loads = _loads(scaled_add.to_triton_code(x, y, config=cfg))
    assert len(loads) == 2
    assert re.search(r"tl\.load\(x_ptr .*eviction_policy=\"evict_first\"\)$", loads[0]), loads
    assert re.search(r"tl\.load\(y_ptr .*eviction_policy=\"evict_last\"\)$", loads[1]), loads
    k = kc.kernel(config=cfg)(scaled_add.fn)
    torch.testing.assert_close(k(x, y), x * 2.0 + y)


def test_empty_policy_and_short_list_leave_loads_as_they_were() -> None:
    x, y = torch.randn(40), torch.randn(40)
    plain = _loads(scaled_add.to_triton_code(x, y, config=kc.Config(block_sizes=[16])))
    cfg = kc.Config(block_sizes=[16], load_eviction_policies=["", "last"])
    loads = _loads(scaled_add.to_triton_code(x, y, config=cfg))
    assert loads[0] == plain[0]
    assert loads[1] == plain[1][:-1] + ', eviction_policy="evict_last")'
    cfg = kc.Config(block_sizes=[16], load_eviction_policies=["first"])
    loads = _loads(scaled_add.to_triton_code(x, y, config=cfg))
    assert "evict_first" in loads[0] and loads[1] == plain[1]


def test_eviction_policies_of_a_chunked_reduction() -> None:
    """The two loads of softmax_two_pass's two inner loops, with the policies Helion's tuner
    picked for it on the H100 (benchmarks/results/h100/run6-quick/softmax.log)."""
    x = torch.randn(5, 300)
    cfg = kc.Config(block_sizes=[2, 64], load_eviction_policies=["last", "first"])
    loads = _loads(softmax_two_pass.to_triton_code(x, config=cfg))
    # 300 columns in 64-wide chunks: each loop's peeled tail repeats its load and policy.
    assert [re.search(r'evict_(\w+)"', s).group(1) for s in loads] == [
        "last",
        "last",
        "first",
        "first",
    ]
    k = kc.kernel(config=cfg)(softmax_two_pass.fn)
    torch.testing.assert_close(k(x), torch.softmax(x, 1))


@pytest.mark.parametrize("maxnreg", MAXNREG_VALUES)
def test_maxnreg_is_a_launch_option(maxnreg: int) -> None:
    x, y = torch.randn(40), torch.randn(40)
    cfg = kc.Config(block_sizes=[16], maxnreg=maxnreg)
    launch = _launch(scaled_add.to_triton_code(x, y, config=cfg))
    assert launch.endswith(f"num_warps=4, num_stages=1, maxnreg={maxnreg})"), launch
    k = kc.kernel(config=cfg)(scaled_add.fn)
    torch.testing.assert_close(k(x, y), x * 2.0 + y)


@kc.kernel
def add_2d(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tm, tn in kl.tile([x.size(0), x.size(1)]):
        out[tm, tn] = x[tm, tn] + y[tm, tn]
    return out


@pytest.mark.parametrize("group", [1, 3, 4])
def test_l2_grouping_is_emitted(group: int) -> None:
    x, y = torch.randn(37, 29), torch.randn(37, 29)
    cfg = kc.Config(block_sizes=[4, 8], l2_groupings=[group])
    code = add_2d.to_triton_code(x, y, config=cfg)
    if group == 1:
        assert "group_width" not in code
    else:
        assert f"group_width = {group} * n_tiles_1" in code, code
    k = kc.kernel(config=cfg)(add_2d.fn)
    torch.testing.assert_close(k(x, y), x + y)


def test_default_config_emits_no_knob() -> None:
    x, y = torch.randn(40), torch.randn(40)
    code = scaled_add.to_triton_code(x, y)
    assert "eviction_policy" not in code and "maxnreg" not in code
    assert _launch(code).endswith("num_warps=4, num_stages=1)")
    explicit = kc.Config(load_eviction_policies=["", ""], maxnreg=None, loop_orders=[[0]])
    assert scaled_add.to_triton_code(x, y, config=explicit) == code


# -- refused values: (config fields, the message's pattern) ----------------------------------------------

REFUSED = [
    ({"load_eviction_policies": ["bogus"]}, r"load_eviction_policies\[0\] = 'bogus': must be one of '', 'first', 'last'"),
    ({"load_eviction_policies": [None]}, r"load_eviction_policies\[0\] = None"),
    ({"load_eviction_policies": "first"}, r"load_eviction_policies = 'first': must be a list"),
    ({"maxnreg": -1}, r"maxnreg = -1: must be None or one of 32, 64, 128, 256"),
    ({"maxnreg": 96}, r"maxnreg = 96"),
    ({"maxnreg": 512}, r"maxnreg = 512"),
    ({"maxnreg": True}, r"maxnreg = True"),
    ({"l2_groupings": [0]}, r"l2_groupings\[0\] = 0: must be an int >= 1"),
    ({"l2_groupings": [2.0]}, r"l2_groupings\[0\] = 2.0"),
    ({"l2_groupings": [4, 4]}, r"l2_groupings = \[4, 4\]: one entry expected"),
    ({"loop_orders": [[1, 0]]}, r"loop_orders\[0\] = \[1, 0\]: not supported yet: loop_orders"),
    ({"loop_orders": [[0, 0]]}, r"loop_orders\[0\] = \[0, 0\]: must be a permutation"),
    ({"loop_orders": [3]}, r"loop_orders\[0\] = 3: must be a permutation"),
    ({"flatten_loops": [True]}, r"flatten_loops\[0\] = True: not supported yet: flatten_loops"),
    ({"flatten_loops": [1]}, r"flatten_loops\[0\] = 1: must be True or False"),
    ({"static_ranges": [True]}, r"static_ranges\[0\] = True: not supported yet: static_ranges"),
    ({"static_ranges": ["no"]}, r"static_ranges\[0\] = 'no': must be True or False"),
    ({"num_warps": 3}, r"num_warps = 3: must be a power of two in \[1, 32\]"),
    ({"num_warps": 64}, r"num_warps = 64"),
    ({"num_stages": 0}, r"num_stages = 0: must be an integer >= 1"),
    ({"num_sm_multiplier": 0}, r"num_sm_multiplier = 0: must be an int >= 1"),
    ({"pid_type": "spiral"}, r"pid_type = 'spiral': expected one of flat, persistent_blocked"),
    ({"block_sizes": [16, 12]}, r"block_sizes\[1\] = 12: must be a power of two"),
    ({"block_sizes": [False]}, r"block_sizes\[0\] = False"),
    ({"reduction_loops": [-256]}, r"reduction_loops\[0\] = -256: must be None, 0 \(no loop\) or a power of two"),
    ({"range_unroll_factors": [0, -1]}, r"range_unroll_factors\[1\] = -1: must be an int >= 0"),
    ({"range_num_stages": [None]}, r"range_num_stages\[0\] = None"),
    ({"range_multi_buffers": [1]}, r"range_multi_buffers\[0\] = 1: must be None, True or False"),
    ({"range_flattens": ["yes"]}, r"range_flattens\[0\]"),
    ({"range_warp_specializes": [0]}, r"range_warp_specializes\[0\]"),
    ({"advanced_controls_file": 3}, r"advanced_controls_file = 3: must be a path"),
    ({"advanced_controls_file": "/no/such.acf"}, r"advanced_controls_file = '/no/such.acf': no such file"),
    ({"num_threads": [1, 128]}, r"num_threads = \[1, 128\]: not supported: num_threads"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "pattern"),
    REFUSED,
    ids=[f"{next(iter(f))}={f[next(iter(f))]!r}" for f, _ in REFUSED],
)
def test_refused_values_name_the_knob(fields: dict, pattern: str) -> None:
    with pytest.raises(InvalidConfig, match=pattern):
        validate_config(kc.Config(**fields))


def test_refused_at_the_call() -> None:
    k = kc.kernel(config=kc.Config(load_eviction_policies=["bogus"], maxnreg=-1, l2_groupings=[0]))(
        scaled_add.fn
    )
    with pytest.raises(InvalidConfig, match=r"l2_groupings\[0\] = 0"):  # the first bad knob
        k(torch.randn(8), torch.randn(8))
    k = kc.kernel(config=kc.Config(load_eviction_policies=["bogus"]))(scaled_add.fn)
    with pytest.raises(InvalidConfig, match=r"load_eviction_policies\[0\] = 'bogus'"):
        k(torch.randn(8), torch.randn(8))


ACCEPTED = [
    {"load_eviction_policies": list(EVICTION_POLICIES)},
    {"maxnreg": None},
    {"l2_groupings": [1]},
    {"l2_groupings": [64]},
    {"loop_orders": [[0, 1], [0], [0, 1, 2]]},
    {"flatten_loops": [False, False]},
    {"static_ranges": [False]},
    {"num_sm_multiplier": 4, "pid_type": "persistent_interleaved"},
    {"num_sm_multiplier": 2},  # as Helion: accepted with the flat grid
    {"reduction_loops": [None, 0, 256]},
    {"range_multi_buffers": [None, True]},
    {"indexing": "pointer"},
    {"advanced_controls_file": ""},
]


@pytest.mark.parametrize("fields", ACCEPTED, ids=[repr(f) for f in ACCEPTED])
def test_accepted_values(fields: dict) -> None:
    validate_config(kc.Config(**fields))


def test_every_known_field_has_a_rule() -> None:
    """A field added to KNOWN_FIELDS must get a check here (or in the pass that applies it)."""
    refused = {next(iter(f)) for f, _ in REFUSED}
    assert set(KNOWN_FIELDS) - refused == {"indexing"}  # checked by passes/indexing.py


# -- unknown options and fields --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "suggestion"),
    [("autotune_efort", "autotune_effort"), ("confgi", "config"), ("static_shape", "static_shapes"),
     ("custom_ops", "custom_op"), ("ignore_warning", "ignore_warnings")],
)  # fmt: skip
def test_unknown_kernel_option_suggests(option: str, suggestion: str) -> None:
    with pytest.raises(UnknownOption) as info:
        kc.kernel(**{option: None})(scaled_add.fn)
    assert isinstance(info.value, TypeError)
    message = str(info.value)
    assert f"unknown kc.kernel option {option!r} (did you mean {suggestion!r}?)" in message
    assert message.endswith("valid: " + ", ".join(kernel_options()))


def test_kernel_options_are_the_constructor_and_settings() -> None:
    options = kernel_options()
    assert options[:6] == (
        "config", "configs", "static_shapes", "ignore_warnings", "autotune_effort",
        "autotune_strategy",
    )  # fmt: skip
    assert set(SETTINGS) <= set(options) and "float_inputs" in options
    assert kc.kernel(custom_op=False)(scaled_add.fn).settings == {"custom_op": False}


def test_helions_tuner_settings_are_accepted_by_exact_name() -> None:
    """A kernel written for Helion passes its tuner's settings; they have no effect here, and a
    misspelt one is still refused."""
    fn = kc.kernel(autotune_baseline_fn=lambda *a: None, autotune_compile_timeout=5)(scaled_add.fn)
    x = torch.randn(7)
    torch.testing.assert_close(fn(x, x), scaled_add(x, x))
    with pytest.raises(UnknownOption, match="autotune_compile_timout"):
        kc.kernel(autotune_compile_timout=5)(scaled_add.fn)


def test_unknown_config_field_suggests() -> None:
    with pytest.raises(UnknownOption, match=r"'num_warp' \(did you mean 'num_warps'\?\)"):
        kc.Config(num_warp=4)
    with pytest.raises(
        TypeError, match=r"'eviction_policies' \(did you mean 'load_eviction_policies'"
    ):
        kc.Config({"eviction_policies": ["first"]})
    with pytest.raises(UnknownOption, match=r"'zzz'; valid: block_sizes, "):
        kc.Config(zzz=1)


def test_helions_singular_spelling_is_a_one_element_list() -> None:
    assert kc.Config(block_size=32, l2_grouping=4) == kc.Config(block_sizes=[32], l2_groupings=[4])
    assert kc.Config({"loop_order": [1, 0]}).loop_orders == [[1, 0]]
    assert kc.Config(block_size=[32, 16]).block_sizes == [32, 16]
    with pytest.raises(InvalidConfig, match="both block_size and block_sizes"):
        kc.Config(block_size=32, block_sizes=[16])
    with pytest.raises(UnknownOption, match="'reduction_loop'"):
        kc.Config(reduction_loop=16)


def test_did_you_mean() -> None:
    assert did_you_mean("num_warp", KNOWN_FIELDS) == " (did you mean 'num_warps'?)"
    assert did_you_mean("qqqq", KNOWN_FIELDS) == ""
