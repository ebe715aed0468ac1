"""``kl.register_tunable``: a kernel's own named knob, read from the config by name, checked
against its fragment, searched by the tuner (a knob of the config space) and kept in the
config record; and ``kcompiler.autotuner``, Helion's module of fragments."""

from __future__ import annotations

import pytest
import torch

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.autotuner import EnumFragment, IntegerFragment, PowerOfTwoFragment
from kcompiler.exc import InvalidConfig, UnsupportedConstruct


@kc.kernel
def scaled(x: torch.Tensor) -> torch.Tensor:
    factor = kl.register_tunable("scale_factor", IntegerFragment(1, 4, 2))
    block = kl.register_tunable("tunable_block", PowerOfTwoFragment(8, 64, 16))
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0), block_size=block):
        out[tile] = x[tile] * factor
    return out


def test_default_comes_from_the_fragment() -> None:
    x = torch.randn(37)
    torch.testing.assert_close(scaled(x), x * 2)
    assert [c.block_sizes for c in scaled.compiled_variants()][-1] == {"block_0": 16}


def test_value_comes_from_the_config_by_name() -> None:
    x = torch.randn(37)
    cfg = kc.Config(scale_factor=3, tunable_block=32)
    torch.testing.assert_close(scaled.bind(x).run(cfg), x * 3)
    assert {"block_0": 32} in [c.block_sizes for c in scaled.compiled_variants()]
    assert cfg.scale_factor == 3 and "scale_factor" in cfg.to_json()  # the config record


def test_tunables_are_knobs_of_the_config_space() -> None:
    space = scaled.bind(torch.randn(37)).config_space()
    knobs = {k.name: k for k in space.knobs}
    assert knobs["scale_factor"].values == (1, 2, 3, 4)
    assert knobs["scale_factor"].default == 2
    assert knobs["tunable_block"].values == (8, 16, 32, 64)
    assert space.default()["scale_factor"] == 2


def test_a_value_outside_the_fragment_is_refused() -> None:
    with pytest.raises(InvalidConfig, match=r"scale_factor = 9: must be in IntegerFragment"):
        scaled.bind(torch.randn(5)).run(kc.Config(scale_factor=9))
    with pytest.raises(InvalidConfig, match=r"tunable_block = 24"):
        scaled.bind(torch.randn(5)).run(kc.Config(tunable_block=24))


@kc.kernel
def plain(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] + 1
    return out


def test_a_tunable_the_kernel_does_not_register_is_refused() -> None:
    with pytest.raises(InvalidConfig, match=r"'scale_factor' is a tunable that kernel 'plain'"):
        plain.bind(torch.randn(5)).run(kc.Config(scale_factor=2))


def test_typos_of_fields_are_still_refused() -> None:
    with pytest.raises(kc.exc.UnknownOption, match=r"'num_warp' \(did you mean 'num_warps'\?\)"):
        kc.Config(num_warp=4)
    with pytest.raises(kc.exc.UnknownOption, match=r"did you mean 'scale_factor'"):
        kc.Config(scale_facter=4)


def test_enum_fragment() -> None:
    frag = EnumFragment(choices=(152, 192))
    assert frag.default() == 152 and frag.contains(192) and not frag.contains(100)
    assert frag.knob("scale_factor").values == (152, 192)
    assert PowerOfTwoFragment(16, 512, 64).default() == 64
    assert PowerOfTwoFragment(1, 256).default() == 1


def test_helion_names_without_meaning_raise_not_supported() -> None:
    with pytest.raises(UnsupportedConstruct, match=r"not supported: kcompiler.autotuner.ListOf"):
        from kcompiler.autotuner import ListOf  # noqa: F401
    with pytest.raises(UnsupportedConstruct, match=r"test_register_tunable.py:\d+"):
        from kcompiler.autotuner import PatternSearch  # noqa: F401
    with pytest.raises(ImportError):
        from kcompiler.autotuner import NoSuchName  # noqa: F401


def test_do_bench_generic_times_a_call() -> None:
    from kcompiler.autotuner.benchmarking import do_bench_generic

    calls = []
    ms = do_bench_generic(lambda: calls.append(1), warmup=1, rep=1, fixed_repetitions=3)
    assert isinstance(ms, float) and ms >= 0 and len(calls) >= 5


@kc.kernel
def blocked_copy(x: torch.Tensor) -> torch.Tensor:
    block = kl.register_tunable("copy_block", PowerOfTwoFragment(8, 32, 8))
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0), block_size=block):
        out[tile] = x[tile] + 1
    return out


def test_the_tuner_searches_a_tunable_and_records_it() -> None:
    from kcompiler.autotune import NullCache

    x = torch.randn(67)
    result = blocked_copy.autotune(
        (x,), effort="quick", budget_s=4.0, workers=1, progress=False, cache=NullCache()
    )
    assert result.tried >= 2 and not result.failures
    assert result.config["copy_block"] in (8, 16, 32)  # the record holds the tunable
    assert blocked_copy.config == result.config
    torch.testing.assert_close(blocked_copy(x), x + 1)


def test_a_config_with_a_tunable_survives_pickling_into_a_fresh_process() -> None:
    """Compile workers unpickle configs: the tunable names travel with them."""
    import pickle
    import subprocess
    import sys

    data = pickle.dumps(kc.Config(scale_factor=3, num_warps=2))
    code = (
        "import pickle, sys; c = pickle.loads(sys.stdin.buffer.read()); "
        "print(c.scale_factor, c.num_warps)"
    )
    done = subprocess.run([sys.executable, "-c", code], input=data, capture_output=True, check=True)
    assert done.stdout.split() == [b"3", b"2"]
