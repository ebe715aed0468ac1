"""The tuner: drives a search strategy, compiles candidates in killable worker processes,
benchmarks them in this process, and keeps every result in the cache.

It knows nothing about how a kernel is compiled: the runtime hands it a `TuningTarget`.
Each failure seen in the Helion log maps to a rule here: invalid configs never come out of
the space; a hung or crashed compile costs one timeout and is never retried (not even in a
later run: failures are cached); effort presets bound the search; Ctrl-C returns the best
config so far and loses no measurement.
"""

from __future__ import annotations

import logging
import math
import os
import random
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from kcompiler import settings
from kcompiler.autotune.cache import BestEntry, CacheBackend
from kcompiler.autotune.cache_choice import default_cache
from kcompiler.autotune.compile_backends import JobPool, acquire_pool
from kcompiler.autotune.compile_backends import compile_backend as compile_backend_of
from kcompiler.autotune.errors import AutotuneError, DeviceFault, WrongResult, is_device_fault
from kcompiler.autotune.progress import TuningProgress
from kcompiler.autotune.space import ConfigSpace
from kcompiler.autotune.strategies import SearchStrategy, get_strategy
from kcompiler.config import Config

log = logging.getLogger("kcompiler.autotune")

STRATEGY_ENV = "KCOMPILER_AUTOTUNE_STRATEGY"
EFFORT_ENV = "KCOMPILER_AUTOTUNE_EFFORT"
DEFAULT_STRATEGY = "pattern"
DEFAULT_EFFORT = "quick"


@dataclass(frozen=True)
class Effort:
    """How much work one ``tune`` call may do; the first limit reached ends the search."""

    max_configs: int
    budget_s: float  # wall time of the whole search, compiles and benchmarks included
    compile_timeout_s: float  # per config; a normal Triton compile takes 0.5-3 s


# quick stays well under 30 s on a GPU, full under 3 minutes (the log's 647 s is the anti-goal).
EFFORTS: dict[str, Effort | None] = {
    "none": None,  # no search: the space's default config
    "quick": Effort(max_configs=64, budget_s=20.0, compile_timeout_s=15.0),
    "full": Effort(max_configs=600, budget_s=170.0, compile_timeout_s=30.0),
}
_EFFORT_RANK = {"none": 0, "quick": 1, "full": 2}


@runtime_checkable
class TuningTarget(Protocol):
    """What the runtime gives the tuner for one (kernel, specialization, device)."""

    space: ConfigSpace
    cache_key: str  # see cache.make_key
    name: str  # for logs and the progress bar

    def precompile_job(self, config: Config) -> tuple[Callable[..., object], tuple] | None:
        """A picklable top-level function and its args that compile ``config`` in a worker
        process (warming an on-disk compile cache). It may hang, raise or crash: the tuner
        kills it after the timeout. None: nothing to precompile, ``benchmark`` compiles."""
        ...

    def benchmark(self, config: Config) -> float:
        """Run ``config`` in this process, check its output against the reference (raise
        WrongResult if it differs) and return its time in milliseconds."""
        ...


def review_compile(target: Any, config: Config, result: Any) -> str | None:
    """Why a compiled config must not be benchmarked, or None. A target may define
    ``review_compile(config, result)`` over what its precompile job returned (e.g. ptxas's
    spill figures); such configs are cached as rejected and never measured."""
    review = getattr(target, "review_compile", None)
    return review(config, result) if review is not None else None


@dataclass(frozen=True)
class Failure:
    config: Config
    error: str


@dataclass
class TuneResult:
    """What ``Tuner.tune`` found; ``config`` is always usable (valid in the space)."""

    config: Config
    time_ms: float | None  # None: not measured (effort "none", or nothing succeeded in time)
    tried: int = 0  # configs measured (or failed) by this call
    failures: list[Failure] = field(default_factory=list)
    # Compiled but never measured: the target's review_compile refused them (e.g. spills).
    rejected: list[Failure] = field(default_factory=list)
    wall_s: float = 0.0
    interrupted: bool = False  # Ctrl-C: config is the best found so far
    from_cache: bool = False  # a cached best was returned; nothing was tuned
    strategy: str = ""
    effort: str = ""
    resumed: int = 0  # earlier results (of an interrupted run) reused from the cache

    @property
    def failed(self) -> int:
        return len(self.failures)


@dataclass
class _Run:
    """Mutable state of one search."""

    key: str
    strategy: SearchStrategy
    progress: TuningProgress
    results: dict[Config, float | None] = field(default_factory=dict)  # resumed + this run
    failures: list[Failure] = field(default_factory=list)
    rejected: list[Failure] = field(default_factory=list)
    tried: int = 0
    best: tuple[Config, float] | None = None
    compile_timeout_s: float = 60.0


def _pick(given: str | None, setting: str | None, default: str) -> str:
    return given or setting or default


class Tuner:
    """Tunes one `TuningTarget`. ``tune`` may be called again (it then hits the cache)."""

    def __init__(
        self,
        target: TuningTarget,
        *,
        cache: CacheBackend | None = None,
        workers: int | None = None,
        compile_timeout_s: float | None = None,
        progress: bool | None = None,
        seed: int = 0,
        preload: tuple[str, ...] = (),
        console: Any = None,
        compile_backend: str | None = None,
    ) -> None:
        """``workers``: compile processes (default: CPU count, at most 8); ``progress``:
        force the bar on/off (default: on when stderr is a terminal); ``preload``: modules
        each compile worker imports before its first job (e.g. "triton"), so import time is
        not charged to a config's compile timeout; ``compile_backend``: where compile
        jobs run, ``local`` processes or a ``ray`` cluster (default:
        $KCOMPILER_COMPILE_BACKEND, else local); with Ray, ``workers`` defaults to the
        cluster's CPUs."""
        self.target = target
        self.cache = cache if cache is not None else default_cache()
        self.compile_backend = compile_backend_of(compile_backend)
        local = self.compile_backend == "local"
        self.workers = workers or (min(os.cpu_count() or 1, 8) if local else None)
        self.compile_timeout_s = compile_timeout_s
        self.progress = progress
        self.seed = seed
        self.preload = preload
        self.console = console

    # -- entry point ---------------------------------------------------------------------
    def tune(
        self,
        strategy: str | type[SearchStrategy] | None = None,
        effort: str | None = None,
        budget_s: float | None = None,
        *,
        max_configs: int | None = None,
        strategy_options: Mapping[str, Any] | None = None,
    ) -> TuneResult:
        """Find the fastest correct config; see the module docstring for the guarantees.

        ``strategy``/``effort`` default to $KCOMPILER_AUTOTUNE_STRATEGY (else "pattern") and
        $KCOMPILER_AUTOTUNE_EFFORT (else "quick"); ``budget_s``/``max_configs`` override
        the effort's limits.
        """
        start = time.monotonic()
        effort_name = _pick(effort, settings.current().autotune_effort, DEFAULT_EFFORT)
        if effort_name not in EFFORTS:
            raise ValueError(
                f"unknown autotune effort {effort_name!r} (the effort argument or "
                f"{EFFORT_ENV}); use one of {list(EFFORTS)}"
            )
        if isinstance(strategy, type):
            strategy_cls = strategy
        else:
            strategy_cls = get_strategy(
                _pick(strategy, settings.current().autotune_strategy, DEFAULT_STRATEGY)
            )
        preset = EFFORTS[effort_name]
        space, name = self.target.space, self.target.name
        if preset is None:
            return TuneResult(space.default(), None, effort=effort_name)

        cached = self._cached_best(effort_name)
        if cached is not None:
            log.info("autotune %s: cache hit, %s (%.4f ms)", name, cached.config, cached.time_ms)
            return TuneResult(
                cached.config,
                cached.time_ms,
                wall_s=time.monotonic() - start,
                from_cache=True,
                strategy=strategy_cls.name,
                effort=effort_name,
            )

        limit = max_configs if max_configs is not None else preset.max_configs
        budget = budget_s if budget_s is not None else preset.budget_s
        rng = random.Random(self.seed)
        search = strategy_cls(space, rng, budget=limit, **dict(strategy_options or {}))
        show = self.progress if self.progress is not None else sys.stderr.isatty()
        run = _Run(self.target.cache_key, search, TuningProgress(name, limit, show, self.console))
        resumed = self._resume(run)
        log.info(
            "autotune %s: strategy=%s effort=%s, up to %d configs / %.0f s%s",
            name,
            strategy_cls.name,
            effort_name,
            limit,
            budget,
            f", resuming {resumed} cached results" if resumed else "",
        )

        interrupted = budget_hit = False
        run.compile_timeout_s = self.compile_timeout_s or preset.compile_timeout_s
        # A target that compiles for a GPU target under the interpreter needs its workers
        # started without TRITON_INTERPRET (``compile_env``).
        env = getattr(self.target, "compile_env", None)
        pool = acquire_pool(self.compile_backend, self.workers, self.preload, env)
        pool.in_use = True
        try:
            with run.progress:
                budget_hit = self._search(run, pool, limit, start + budget)
        except KeyboardInterrupt:
            interrupted = True
            pool.close()  # kill every worker now; the next run starts fresh ones
        finally:
            pool.cancel()  # compiles still queued belong to this run only
            pool.in_use = False
        wall = time.monotonic() - start
        return self._finish(
            run, strategy_cls.name, effort_name, wall, resumed, interrupted, budget_hit
        )

    # -- phases --------------------------------------------------------------------------
    def _cached_best(self, effort: str) -> BestEntry | None:
        entry = self.cache.get_best(self.target.cache_key)
        if entry is None:
            return None
        if _EFFORT_RANK.get(entry.effort, 0) < _EFFORT_RANK[effort]:
            return None  # tuned with less effort than asked: search again (resuming results)
        if not self.target.space.is_valid(entry.config):
            log.warning(
                "autotune %s: ignoring cached config invalid in this space", self.target.name
            )
            return None
        return entry

    def _resume(self, run: _Run) -> int:
        """Feed earlier results of this key to the strategy, so none is measured twice."""
        count = 0
        for r in self.cache.results_for(run.key):
            if r.config in run.results or not self.target.space.is_valid(r.config):
                continue
            self._note(run, r.config, r.time_ms)
            count += 1
        return count

    def _search(self, run: _Run, pool: JobPool, limit: int, deadline: float) -> bool:
        """The pipeline: keep compiles queued while benchmarking finished ones.

        Returns True when the time budget ended the search.
        """
        depth = 2 * pool.max_workers  # queued compiles: enough to never idle a worker
        ready: deque[Config] = deque()
        in_flight: set[Config] = set()
        proposed = 0
        while True:
            if time.monotonic() >= deadline:
                log.info("autotune %s: time budget reached", self.target.name)
                return True
            room = min(depth - pool.pending - len(ready), limit - proposed)
            batch = run.strategy.propose(room) if room > 0 else []
            for config in batch:
                proposed += 1
                if config in run.results or config in in_flight:
                    continue  # a strategy bug; the base class already prevents this
                if self._precompile(run, pool, config, ready):
                    in_flight.add(config)
            wait = 0.0 if ready else max(0.0, deadline - time.monotonic())
            for outcome in pool.poll(wait):
                config = outcome.key
                assert isinstance(config, Config)  # the pool's keys are our configs
                rejected = (
                    None if outcome.error else review_compile(self.target, config, outcome.result)
                )
                if outcome.error is None and rejected is None:
                    if self._receive(run, config, outcome.result):
                        ready.append(config)
                    else:
                        in_flight.discard(config)
                elif rejected is not None:
                    in_flight.discard(config)
                    self._reject(run, config, f"rejected: {rejected}")
                else:
                    in_flight.discard(config)
                    self._fail(run, config, f"compile failed: {outcome.error}")
            if ready:
                config = ready.popleft()
                in_flight.discard(config)
                self._benchmark(run, config)
            elif pool.pending == 0 and not batch and not in_flight:
                return False  # the strategy has nothing more, or the config budget is spent

    def _receive(self, run: _Run, config: Config, result: Any) -> bool:
        """Hand the target its accepted compile's result (``receive_compile``: a target whose
        binaries were compiled on another machine installs them here, so the benchmark loads
        them instead of compiling); False when that failed (recorded)."""
        receive = getattr(self.target, "receive_compile", None)
        if receive is None:
            return True
        try:
            receive(config, result)
        except Exception as e:  # e.g. a full disk: this config's failure, not the search's
            self._fail(run, config, f"receive_compile raised {type(e).__name__}: {e}")
            return False
        return True

    def _precompile(self, run: _Run, pool: JobPool, config: Config, ready: deque) -> bool:
        """Queue the compile (or straight to benchmarking); False if it failed already."""
        try:
            job = self.target.precompile_job(config)
        except Exception as e:  # codegen errors are this config's failure
            self._fail(run, config, f"precompile_job raised {type(e).__name__}: {e}")
            return False
        if job is None:
            ready.append(config)
        else:
            pool.submit(config, job[0], tuple(job[1]), run.compile_timeout_s)
        return True

    def _benchmark(self, run: _Run, config: Config) -> None:
        try:
            t = float(self.target.benchmark(config))
        except WrongResult as e:
            self._fail(run, config, f"wrong result: {e}")
            return
        except Exception as e:  # any failure of one config is recorded
            self._fail(run, config, f"benchmark failed: {type(e).__name__}: {e}")
            if is_device_fault(e):
                measured = sum(1 for t in run.results.values() if t is not None)
                raise DeviceFault(
                    f"autotune {self.target.name}: {config} faulted on the GPU "
                    f"({type(e).__name__}: {str(e).splitlines()[0]}); this process can no "
                    f"longer use the device. The fault and {measured} measured results are "
                    "in the autotune cache: tuning again in a new process resumes without "
                    "this config.",
                    config,
                ) from e
            return
        if not math.isfinite(t) or t < 0:
            self._fail(run, config, f"benchmark returned an invalid time {t!r}")
            return
        self.cache.record(run.key, config, t)  # first: a Ctrl-C right after loses nothing
        self._note(run, config, t)
        run.tried += 1
        self._report(run, config, t)

    def _fail(self, run: _Run, config: Config, error: str) -> None:
        self._unmeasured(run, config, error, run.failures, "failed: ")

    def _reject(self, run: _Run, config: Config, reason: str) -> None:
        """Like a failure (cached, never measured, never retried), but counted apart: a
        rejected config compiled fine and was judged not worth a benchmark."""
        self._unmeasured(run, config, reason, run.rejected, "")

    def _unmeasured(
        self, run: _Run, config: Config, why: str, kept: list[Failure], label: str
    ) -> None:
        """``config`` gets no time: cached with ``why`` (so it is never tried again), told
        to the strategy as no result, counted as tried and kept in ``kept``."""
        self.cache.record(run.key, config, None, why)
        self._note(run, config, None)
        run.tried += 1
        kept.append(Failure(config, why))
        log.debug("autotune %s: %s %s%s", self.target.name, config, label, why)
        self._report(run, config, None)

    def _note(self, run: _Run, config: Config, t: float | None) -> None:
        run.results[config] = t
        run.strategy.observe(config, t)
        if t is not None and (run.best is None or t < run.best[1]):
            run.best = (config, t)

    def _report(self, run: _Run, config: Config, t: float | None) -> None:
        best = run.best[1] if run.best else None
        run.progress.update(run.tried, len(run.failures), best)
        if t is not None:
            new_best = run.best is not None and run.best[0] == config
            level = logging.INFO if new_best and not run.progress.enabled else logging.DEBUG
            log.log(
                level,
                "autotune %s: %.4f ms%s %s",
                self.target.name,
                t,
                " (new best)" if new_best else "",
                config,
            )

    def _finish(
        self,
        run: _Run,
        strategy: str,
        effort: str,
        wall: float,
        resumed: int,
        interrupted: bool,
        budget_hit: bool,
    ) -> TuneResult:
        name = self.target.name
        config, t = run.best if run.best else (self.target.space.default(), None)
        result = TuneResult(
            config,
            t,
            tried=run.tried,
            failures=run.failures,
            rejected=run.rejected,
            wall_s=wall,
            interrupted=interrupted,
            strategy=strategy,
            effort=effort,
            resumed=resumed,
        )
        if interrupted:
            best = (
                f"the best so far ({t:.4f} ms): {config}"
                if t is not None
                else f"the default {config}"
            )
            log.warning(
                "autotune %s interrupted after %.1f s: %d results kept in the cache; using %s",
                name,
                wall,
                len(run.results),
                best,
            )
            return result
        if run.best is None:
            if budget_hit:
                log.warning(
                    "autotune %s: no config measured within the budget; using the default", name
                )
                return result
            first = "; ".join(f"{f.config}: {f.error.splitlines()[0]}" for f in run.failures[:3])
            raise AutotuneError(f"autotune {name}: all {run.tried} configs failed ({first})")
        self.cache.put_best(run.key, config, t, effort)  # type: ignore[arg-type]
        log.info(
            "autotune %s: %.4f ms after %d configs (%d failed) in %.1f s; "
            "to skip tuning, pass config=%r",
            name,
            t,
            run.tried,
            len(run.failures),
            wall,
            config,
        )
        return result


def autotune(target: TuningTarget, **options: Any) -> TuneResult:
    """One-call form: ``autotune(target, effort="quick")``; options split between
    ``Tuner(...)`` (cache, workers, progress, ...) and ``tune(...)`` (strategy, effort, ...)."""
    tune_keys = {"strategy", "effort", "budget_s", "max_configs", "strategy_options"}
    tune_opts = {k: v for k, v in options.items() if k in tune_keys}
    tuner_opts = {k: v for k, v in options.items() if k not in tune_keys}
    return Tuner(target, **tuner_opts).tune(**tune_opts)
