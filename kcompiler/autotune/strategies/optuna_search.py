"""Optuna samplers (TPE by default, CMA-ES selectable) behind the strategy interface.

Optuna is an optional extra (``pip install 'kcompiler[optuna]'``) and is imported only when
this strategy is built, so the rest of the tuner never pays for it.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Any

from kcompiler.autotune.space import ChoiceKnob, ConfigSpace
from kcompiler.autotune.strategies.base import SearchStrategy, register_strategy
from kcompiler.config import Config

_ASKS_PER_CONFIG = 20  # Optuna may keep suggesting configs that repair to a known one


def _import_optuna() -> Any:
    try:
        import optuna
    except ImportError as e:
        raise ImportError(
            "the 'optuna' search strategy needs Optuna: pip install 'kcompiler[optuna]'"
        ) from e
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one log line per trial otherwise
    return optuna


@register_strategy("optuna")
class OptunaSearch(SearchStrategy):
    """Ask/tell over knob indices. ``sampler``: "tpe", "cmaes" or an Optuna sampler object."""

    def __init__(
        self,
        space: ConfigSpace,
        rng: random.Random | None = None,
        budget: int | None = None,
        sampler: str | Any = "tpe",
    ) -> None:
        super().__init__(space, rng, budget)
        optuna = self._optuna = _import_optuna()
        seed = self.rng.randrange(2**31)
        categorical = True
        if sampler == "tpe":
            sampler = optuna.samplers.TPESampler(seed=seed)
        elif sampler == "cmaes":
            try:
                import cmaes  # noqa: F401  (CmaEsSampler needs it at first use)
            except ImportError as e:
                raise ImportError(
                    "the CMA-ES sampler needs the 'cmaes' package: pip install 'kcompiler[optuna]'"
                ) from e
            # CMA-ES models real coordinates only: give it every knob as an ordered index.
            sampler = optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
            categorical = False
        elif isinstance(sampler, str):
            raise ValueError(f"unknown Optuna sampler {sampler!r}; use 'tpe' or 'cmaes'")
        dists = optuna.distributions
        self._dists = {
            k.name: (
                dists.CategoricalDistribution(list(range(len(k.values))))
                if categorical and isinstance(k, ChoiceKnob)
                else dists.IntDistribution(0, len(k.values) - 1)
            )
            for k in space.knobs
        }
        self._study = optuna.create_study(direction="minimize", sampler=sampler)
        self._trials: dict[Config, Any] = {}

    def _config_of(self, params: dict[str, int]) -> Config:
        return self.space.repair({k.name: k.values[params[k.name]] for k in self.space.knobs})

    def _propose(self, n: int) -> Iterable[Config]:
        out: list[Config] = []  # the default came first (base class); told via add_trial
        for _ in range(n * _ASKS_PER_CONFIG):
            if len(out) >= n:
                break
            trial = self._study.ask(self._dists)
            config = self._config_of(trial.params)
            if config in self.results:  # repairs to a measured config: teach Optuna its time
                self._tell(trial, self.results[config])
            elif self.is_known(config) or config in out:
                self._tell(trial, None)  # in flight: Optuna ignores failed trials
            else:
                self._trials[config] = trial
                out.append(config)
        return out

    def _tell(self, trial: Any, time_ms: float | None) -> None:
        if time_ms is None:
            self._study.tell(trial, state=self._optuna.trial.TrialState.FAIL)
        else:
            self._study.tell(trial, time_ms)

    def _observe(self, config: Config, time_ms: float | None) -> None:
        trial = self._trials.pop(config, None)
        if trial is not None:
            self._tell(trial, time_ms)
            return
        # A result Optuna did not ask for (the default, or one resumed from the cache).
        flat = self.space.to_flat(config)
        params = {k.name: k.index(flat[k.name]) for k in self.space.knobs}
        state = self._optuna.trial.TrialState
        self._study.add_trial(
            self._optuna.trial.create_trial(
                params=params,
                distributions=self._dists,
                value=time_ms,
                state=state.COMPLETE if time_ms is not None else state.FAIL,
            )
        )


@register_strategy("optuna-cmaes")
class OptunaCmaEsSearch(OptunaSearch):
    """Optuna's CMA-ES sampler; selectable by name from the tuner."""

    def __init__(
        self, space: ConfigSpace, rng: random.Random | None = None, budget: int | None = None
    ) -> None:
        super().__init__(space, rng, budget, sampler="cmaes")
