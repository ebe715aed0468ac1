"""Configs that a target's compile review rejects (the spill-aware spaces of
runtime/tuning.KernelTarget) are never benchmarked, and stay rejected in the cache."""

from __future__ import annotations

import pytest
from autotune_fakes import FakeTarget, small_cost, small_space
from fake_compile_jobs import compile_report

from kcompiler.autotune import SQLiteCache, Tuner
from kcompiler.config import Config

SPACE = small_space()


class SpillingTarget(FakeTarget):
    """A fake target whose compile job returns figures and whose review rejects spills."""

    def __init__(self) -> None:
        super().__init__(SPACE, small_cost)
        self.reviewed: list[Config] = []

    def precompile_job(self, config: Config):
        self.precompiled.append(config)
        return compile_report, (config.to_json(),)

    def review_compile(self, config: Config, result: dict) -> str | None:
        self.reviewed.append(config)
        return f"spills {result['spill_bytes']} bytes" if result["spill_bytes"] else None


@pytest.fixture
def cache(tmp_path):
    c = SQLiteCache(tmp_path / "autotune.sqlite")
    yield c
    c.close()


def test_rejected_configs_are_never_benchmarked_and_stay_rejected(cache) -> None:
    target = SpillingTarget()
    result = Tuner(target, cache=cache, workers=2, progress=False).tune(
        strategy="random", effort="quick", max_configs=64, budget_s=60
    )
    spilling = {c for c in SPACE.iter_valid() if c["block_sizes"][0] >= 128}
    assert spilling and set(target.reviewed) == set(SPACE.iter_valid())
    assert not spilling & set(target.benchmarked)
    assert {f.config for f in result.rejected} == spilling and result.failures == []
    assert all(f.error == "rejected: spills 512 bytes" for f in result.rejected)
    assert result.config["block_sizes"][0] < 128
    stored = {r.config: r for r in cache.results_for(target.cache_key)}
    assert all(stored[c].time_ms is None and "rejected" in stored[c].error for c in spilling)

    # A run with more effort searches again, resuming the cached results: the rejected
    # configs are neither compiled nor benchmarked again.
    again = SpillingTarget()
    rerun = Tuner(again, cache=cache, workers=2, progress=False).tune(
        strategy="random", effort="full"
    )
    assert not rerun.from_cache and rerun.resumed == SPACE.size()
    assert not spilling & (set(again.precompiled) | set(again.benchmarked))
