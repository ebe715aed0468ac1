"""The nearest-bucket rule under a synthetic cost model: a table tuned on every fourth shape
of a sweep serves the others with bounded regret, each from its nearest tuned shape."""

from __future__ import annotations

import math

import aot_kernels
import pytest
import torch

import kcompiler as kc
from kcompiler.aot.specs import describe_call
from kcompiler.aot.tune import tune_table
from kcompiler.autotune import NullCache
from kcompiler.frontend.specialize import next_pow2, pow2_divisor

# 24 sizes, half a power of two apart: 2**10 .. 2**21.5.
SWEEP = [round(2 ** (10 + i / 2)) for i in range(24)]
TUNED = SWEEP[::4]


def cost(config: kc.Config, n: int) -> float:
    """A synthetic run time (ms): n elements, best at a block of ~n / 256 (16..4096) with
    warps growing with the block, stages and tensor descriptors a small loss."""
    b = math.log2(config["block_sizes"][0])
    best_b = min(12.0, max(4.0, math.log2(n) - 8))
    w = math.log2(config["num_warps"])
    best_w = min(3.0, max(0.0, b - 7))
    descriptors = sum(1 for m in config["indexing"] if m == "tensor_descriptor")
    penalty = 0.1 * (b - best_b) ** 2 + 0.05 * (w - best_w) ** 2
    penalty += 0.03 * (config["num_stages"] - 1) + 0.05 * descriptors
    return n * 1e-6 * (1 + penalty)


class SyntheticTarget:
    """The kernel's real config space at this call; times from ``cost``."""

    measured: list[tuple[int, kc.Config]] = []

    def __init__(self, kernel, args, kwargs) -> None:
        self.n = args[0].numel()
        self.space = kernel.config_space(*args, **kwargs)
        self.cache_key = f"synthetic-{self.n}"
        self.name = "synthetic"

    def precompile_job(self, config):
        return None

    def benchmark(self, config: kc.Config) -> float:
        SyntheticTarget.measured.append((self.n, config))
        return cost(config, self.n)


def calls(sizes: list[int]) -> list[list[dict]]:
    return [[{"shape": [n]}, {"shape": [n]}] for n in sizes]


def nearest_tuned(n: int) -> int:
    """The rule, on raw sizes: fewest log2 bucket steps, then the entry not below the call,
    then divisor steps, then order."""

    def rank(m: int) -> tuple[float, bool, float, int]:
        steps = abs(math.log2(next_pow2(n)) - math.log2(next_pow2(m)))
        below = next_pow2(m) < next_pow2(n)
        divs = abs(math.log2(pow2_divisor(n)) - math.log2(pow2_divisor(m)))
        return steps, below, divs, TUNED.index(m)

    return min(TUNED, key=rank)


def vec(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(n), torch.randn(n)


_VALID: dict[str, list[kc.Config]] = {}


def best_cost(space, n: int) -> float:
    """The model's optimum over every valid config of ``space``."""
    valid = _VALID.setdefault(repr(space), list(space.iter_valid()))
    return min(cost(c, n) for c in valid)


@pytest.fixture(scope="module")
def tuned():
    kernel = kc.kernel(aot_kernels.add.fn)
    SyntheticTarget.measured = []
    table = tune_table(
        kernel,
        calls(TUNED),
        effort="quick",
        strategy="pattern",
        max_configs=80,
        cache=NullCache(),
        progress=False,
        target_factory=SyntheticTarget,
    )
    kernel.use_table(table)
    return kernel, table, list(SyntheticTarget.measured)


def test_tuned_shapes_start_from_their_neighbours_winners(tuned) -> None:
    kernel, table, measured = tuned
    assert len(table.entries) == len(TUNED)
    winners = {e.shapes[0]["args"][0]["shape"][0]: e.config for e in table.entries}
    for previous, n in zip(TUNED, TUNED[1:]):
        first = [c for m, c in measured if m == n][:2]
        # The default, then the smaller neighbour's winner.
        assert first[0] == kernel.config_space(*vec(n)).default()
        assert first[1] == winners[previous] or winners[previous] == first[0]
    # Every tuned shape found the model's optimum.
    for n, config in winners.items():
        space = kernel.config_space(*vec(n))
        assert cost(config, n) == pytest.approx(best_cost(space, n))


def test_untuned_shapes_take_the_nearest_tuned_config_with_bounded_regret(tuned) -> None:
    kernel, table, _ = tuned
    by_size = {e.shapes[0]["args"][0]["shape"][0]: e.config for e in table.entries}
    ratios, default_ratios = [], []
    for n in SWEEP:
        x, y = vec(n)
        chosen = kernel.table.config_for(kernel, (x, y), {})
        assert chosen == by_size[nearest_tuned(n)], n
        space = kernel.config_space(x, y)
        best = best_cost(space, n)
        ratios.append(best / cost(chosen, n))
        default_ratios.append(best / cost(space.default(), n))
    geomean = math.exp(sum(map(math.log, ratios)) / len(ratios))
    default = math.exp(sum(map(math.log, default_ratios)) / len(default_ratios))
    # Tuned shapes are optimal; the others lose at most what a block 2**1.5 off costs.
    assert all(r == pytest.approx(1.0) for n, r in zip(SWEEP, ratios) if n in TUNED)
    assert min(ratios) >= 1 / (1 + 0.1 * 1.5**2) - 1e-9
    print(f"regret: table {geomean:.3f}, default {default:.3f}, worst {min(ratios):.3f}")
    assert geomean >= 0.93, (geomean, ratios)
    assert default < geomean - 0.1  # the table is worth having


def test_table_records_each_tuned_call(tuned) -> None:
    _, table, _ = tuned
    for entry, n in zip(table.entries, TUNED):
        assert entry.shapes == [{**describe_call(calls([n])[0]), "time_ms": entry.time_ms}]
        assert entry.time_ms == pytest.approx(cost(entry.config, n))
