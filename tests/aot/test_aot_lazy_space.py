"""A config table's exact entry is only checked: the call's config space never builds its
default (the repair of the knobs' defaults is most of a space's cost), while the paths that
need a default still raise ConfigError when no halving repairs it."""

from __future__ import annotations

import aot_kernels
import pytest
import torch

import kcompiler as kc
from kcompiler.aot import Entry, Key, Table
from kcompiler.aot.specs import describe_call
from kcompiler.autotune import ConfigError, ConfigSpace, Predicate
from kcompiler.backends.triton import live_registers
from kcompiler.runtime import tuning


def table_of(kernel: kc.Kernel, x: torch.Tensor, config: kc.Config) -> Table:
    table = Table.new("x:rowsum", {})
    table.add(Entry(Key.of_call(kernel, (x,), {}), config, 1.0, [describe_call([x])]))
    return table


@pytest.fixture
def defaults_made(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the config spaces' default builds."""
    made: list[int] = []
    build = ConfigSpace._make_default

    def counting(self: ConfigSpace) -> kc.Config:
        made.append(1)
        return build(self)

    monkeypatch.setattr(ConfigSpace, "_make_default", counting)
    return made


def test_an_exact_entry_builds_no_default(
    defaults_made: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    x = torch.randn(4, 2048)
    probe = aot_kernels.make_rowsum()
    tuned = probe.config_space(x).default()  # a valid config of the call's space
    assert tuned["reduction_loops"] == [None]  # whole rows, within the register budget
    defaults_made.clear()
    rewrites: list[int] = []
    rewrite = live_registers.apply_reduction_loops

    def counting_rewrite(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        rewrites.append(1)
        return rewrite(*args, **kwargs)

    monkeypatch.setattr(live_registers, "apply_reduction_loops", counting_rewrite)
    k = aot_kernels.make_rowsum()
    k.use_table(table_of(k, x, tuned))
    assert k.table.config_for(k, (x,), {}) == tuned
    assert not defaults_made
    # A point within the register budget is not asked whether its rows could chunk.
    assert not rewrites
    torch.testing.assert_close(k(x), x.sum(-1))
    # A nearest entry is fitted over the call's default: that one is built.
    small = torch.randn(4, 64)
    chosen = k.table.config_for(k, (small,), {})
    assert defaults_made and k.config_space(small).is_valid(chosen)


def test_unrepairable_defaults_still_raise_where_a_default_is_needed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A constraint the knobs' default (num_stages=1) breaks and no halving repairs: the
    table's exact entry (3 stages) is served, everything that needs the default raises."""

    def with_three_stages(knobs, constraints, starts=()):  # noqa: ANN001, ANN202
        stages = Predicate(
            "stages", lambda f: f["num_stages"] >= 3, "at least 3 stages", ["num_stages"]
        )
        return ConfigSpace(knobs, [*constraints, stages], starts=starts)

    x = torch.randn(4, 2048)
    space = aot_kernels.make_rowsum().config_space(x)
    three = space.to_config({**space.to_flat(space.default()), "num_stages": 3})
    k = aot_kernels.make_rowsum()
    monkeypatch.setattr(tuning, "ConfigSpace", with_three_stages)
    k.use_table(table_of(k, x, three))
    assert k.table.config_for(k, (x,), {}) == three
    with pytest.raises(ConfigError, match="halving"):
        k.config_space(x)
    with pytest.raises(ConfigError, match="halving"):
        k.autotune([x], effort="quick")
    with pytest.raises(ConfigError, match="halving"):  # a nearest entry is fitted
        k.table.config_for(k, (torch.randn(4, 64),), {})


def test_the_installed_versions_are_read_once_and_handed_out_as_copies() -> None:
    from kcompiler.autotune import library_versions
    from kcompiler.runtime.config_table import current_versions

    first = current_versions()
    assert first == library_versions()
    first["triton"] = "edited"
    assert current_versions() == library_versions()
    assert current_versions() is not current_versions()
