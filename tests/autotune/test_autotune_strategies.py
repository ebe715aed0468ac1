"""Search strategies: valid, never repeated proposals; they beat random search on a
synthetic kernel-like cost (deterministic: fixed seeds, no timing)."""

from __future__ import annotations

import importlib.util
import random
import statistics
import sys

import pytest
from autotune_fakes import kernel_cost, kernel_space, small_cost, small_space

from kcompiler.autotune import SearchStrategy, available_strategies, get_strategy, register_strategy
from kcompiler.config import Config

KERNEL = kernel_space()
SMALL = small_space()
HAS_OPTUNA = importlib.util.find_spec("optuna") is not None
HAS_CMAES = importlib.util.find_spec("cmaes") is not None
needs_optuna = pytest.mark.skipif(not HAS_OPTUNA, reason="optional extra kcompiler[optuna]")

BUILTIN = ["random", "pattern", "de"]
ALL = BUILTIN + (["optuna"] if HAS_OPTUNA else []) + (["optuna-cmaes"] if HAS_CMAES else [])


def drive(strategy: SearchStrategy, cost, evals: int, batch: int = 4, fails=lambda c: False):
    """Propose/observe like the tuner does; returns the proposals in order."""
    proposed: list[Config] = []
    while len(proposed) < evals:
        batch_configs = strategy.propose(min(batch, evals - len(proposed)))
        if not batch_configs:
            break
        proposed += batch_configs
        for c in batch_configs:
            strategy.observe(c, None if fails(c) else cost(c))
    return proposed


def best_curve(name: str, seed: int, evals: int) -> list[float]:
    strategy = get_strategy(name)(KERNEL, random.Random(seed), budget=evals)
    best, curve = float("inf"), []
    for c in drive(strategy, lambda c: kernel_cost(KERNEL, c), evals):
        best = min(best, kernel_cost(KERNEL, c))
        curve.append(best)
    return curve


def evals_to_reach(name: str, target: float, seeds: range, cap: int) -> float:
    """Mean (over seeds) number of evaluations until the best cost is <= target (cap if never)."""
    counts = []
    for seed in seeds:
        curve = best_curve(name, seed, cap)
        counts.append(next((i + 1 for i, v in enumerate(curve) if v <= target), cap))
    return statistics.mean(counts)


def test_registry_lists_builtins_and_rejects_unknown_names():
    assert {"random", "pattern", "de", "optuna", "optuna-cmaes"} <= set(available_strategies())
    with pytest.raises(ValueError, match="unknown search strategy 'nope'.*pattern"):
        get_strategy("nope")

    @register_strategy("test-first-only")
    class FirstOnly(SearchStrategy):
        def _propose(self, n):
            return [self.space.default()]

    assert get_strategy("test-first-only") is FirstOnly
    s = FirstOnly(SMALL)
    assert s.propose(3) == [SMALL.default()] and s.propose(3) == []  # never twice
    with pytest.raises(ValueError, match="already registered"):
        register_strategy("test-first-only")(type("Other", (FirstOnly,), {}))


@pytest.mark.parametrize("name", ALL)
def test_proposals_are_valid_and_never_repeated(name):
    # Some configs fail; some results come from "the cache" before the search starts.
    fails = lambda c: c["num_stages"] == 5  # noqa: E731
    # Optuna's asks cost milliseconds (CMA-ES: tens of them) each: fewer evaluations
    evals = {"optuna": 50, "optuna-cmaes": 30}.get(name, 120)
    strategy = get_strategy(name)(KERNEL, random.Random(3), budget=evals)
    preloaded = [KERNEL.sample(random.Random(i)) for i in range(5)]
    for c in preloaded:
        strategy.observe(c, None if fails(c) else kernel_cost(KERNEL, c))
    proposed = drive(strategy, lambda c: kernel_cost(KERNEL, c), evals, fails=fails)
    assert len(proposed) == evals
    assert len(set(proposed)) == len(proposed)
    assert not set(proposed) & set(preloaded)
    for c in proposed:
        KERNEL.validate(c)
    best = strategy.best()
    assert best is not None and best[0] in proposed + preloaded and not fails(best[0])
    assert best[1] == min(kernel_cost(KERNEL, c) for c in proposed + preloaded if not fails(c))


@pytest.mark.parametrize("name", BUILTIN)
def test_small_space_is_exhausted_then_strategy_stops(name):
    strategy = get_strategy(name)(SMALL, random.Random(0), budget=100)
    proposed = drive(strategy, small_cost, 1000, batch=3)
    assert sorted(map(str, proposed)) == sorted(map(str, SMALL.iter_valid()))
    assert strategy.propose(5) == []


def test_pattern_and_de_beat_random_search():
    # Random search needs far more than 150 evaluations to get within 3.0 of this cost's
    # optimum; pattern search walks there from the default, DE evolves there.
    seeds, cap, target = range(10), 150, 3.0
    rand = evals_to_reach("random", target, seeds, cap)
    pattern = evals_to_reach("pattern", target, seeds, cap)
    de = evals_to_reach("de", target, seeds, cap)
    assert pattern < 0.75 * rand, (pattern, rand)
    assert de < 0.75 * rand, (de, rand)


def test_pattern_search_reaches_the_exact_optimum():
    curve = best_curve("pattern", 0, 150)
    assert curve[-1] == 1.0


def test_strategies_are_deterministic_given_the_rng():
    for name in BUILTIN:
        a = drive(get_strategy(name)(KERNEL, random.Random(5), budget=40), lambda c: 1.0, 40)
        b = drive(get_strategy(name)(KERNEL, random.Random(5), budget=40), lambda c: 1.0, 40)
        assert a == b, name


@needs_optuna
def test_optuna_tpe_beats_random_search():
    def mean_best(name):
        return statistics.mean(best_curve(name, seed, 60)[-1] for seed in range(4))

    assert mean_best("optuna") < 0.8 * mean_best("random")


def test_missing_optuna_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # makes `import optuna` fail
    with pytest.raises(ImportError, match=r"kcompiler\[optuna\]"):
        get_strategy("optuna")(SMALL)


@needs_optuna
def test_missing_cmaes_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "cmaes", None)
    with pytest.raises(ImportError, match=r"cmaes.*kcompiler\[optuna\]"):
        get_strategy("optuna-cmaes")(SMALL)


def test_de_measures_its_whole_population_even_in_small_batches():
    strategy = get_strategy("de")(KERNEL, random.Random(0), budget=150)
    drive(strategy, lambda c: kernel_cost(KERNEL, c), 40, batch=2)
    members = strategy._members  # white-box: a member never measured could never evolve
    assert len(members) == 10
    assert all(m in strategy.results for m in members)
