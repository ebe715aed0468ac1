"""Tuning a kernel over a list of calls into a config table, and precompiling a table.

Order: calls are grouped by specialization key, keys of one class (runtime/config_table.py) sorted by their
size buckets, so each key is tuned after its smaller neighbours. A key's search starts from
the winners of the nearest keys already tuned (up to ``NEIGHBOURS``, nearest first), placed
before the space's own starts: every strategy measures the default and the starts first, and
pattern search walks from the best of them (strategies/base.py). Winners are fitted to the new
key's space (runtime.fit) and repaired into its constraints. Compiled variants are shared
through the kernel's caches and the shared compile pool.

A key reached by several calls is tuned at each (later ones start from the first one's
winner); each winner is then timed at every call of the key and the one of least geomean time
is the entry's config.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from kcompiler.aot.specs import describe_call, make_call
from kcompiler.autotune import ConfigError, ConfigSpace, NullCache, Tuner
from kcompiler.autotune.compile_backends import CompileJob, run_shared
from kcompiler.backends.triton.precompile import job_for_launches
from kcompiler.compiler.driver import interpreting
from kcompiler.config import Config
from kcompiler.runtime.config_table import Entry, Key, Table, TableError, current_card
from kcompiler.runtime.table_configs import fit
from kcompiler.runtime.tuning import KernelTarget, build_space

log = logging.getLogger("kcompiler.aot")

NEIGHBOURS = 3  # tuned neighbours whose winners start a key's search


@dataclass
class Call:
    spec: Any  # the call as given (JSON spec or Python object)
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    key: Key


def default_device() -> str:
    return "cpu" if current_card() == "cpu-interpreter" else "cuda"


def kernel_name(kernel: Any) -> str:
    return f"{kernel.fn.__module__}:{kernel.fn.__qualname__}"


def with_starts(space: ConfigSpace, winners: Sequence[Config]) -> ConfigSpace:
    """``space`` whose starts are ``winners`` (fitted to it) followed by its own starts."""
    fitted = [fit(space, w) for w in winners]
    starts = [space.to_flat(c) for c in (*fitted, *space.starts())]
    return ConfigSpace(space.knobs, space.constraints, space.fixed, starts=starts)


def tune_table(
    kernel: Any,
    calls: Sequence[Any],
    *,
    effort: str = "quick",
    strategy: str | None = None,
    max_configs: int | None = None,
    budget_s: float | None = None,
    device: str | None = None,
    cache: Any = None,
    progress: bool | None = None,
    target_factory: Any = None,
    tuner_options: dict[str, Any] | None = None,
) -> Table:
    """Tune ``kernel`` at every call spec (specs.py) and return the table.

    ``cache``: the tuner's cache (default: its SQLite cache; ``NullCache()`` to measure
    afresh). ``target_factory(kernel, args, kwargs)`` makes the TuningTarget (default:
    runtime.tuning.KernelTarget); tests pass a synthetic one."""

    device = device or default_device()
    made = target_factory or KernelTarget
    built = []
    for i, spec in enumerate(calls):
        args, kwargs = make_call(spec, device, seed=i)
        built.append(Call(spec, args, kwargs, Key.of_call(kernel, args, kwargs)))
    groups: dict[Key, list[Call]] = {}
    for c in built:
        groups.setdefault(c.key, []).append(c)
    order = sorted(groups, key=lambda k: (repr(k.klass), [b for b, _ in k.sizes()], k.ident))
    table = Table.new(
        kernel_name(kernel),
        {
            "effort": effort,
            "strategy": strategy or "default",
            "max_configs": max_configs,
            "source_sha256": hashlib.sha256(kernel.program.source.encode()).hexdigest(),
        },
    )
    for key in order:
        t0 = time.monotonic()
        entry = _tune_key(
            table,
            key,
            groups[key],
            made,
            kernel,
            dict(
                effort=effort,
                strategy=strategy,
                max_configs=max_configs,
                budget_s=budget_s,
            ),
            dict(cache=cache, progress=progress, **(tuner_options or {})),
        )
        table.add(entry)
        log.info(
            "aot %s: %s -> %s (%s ms) in %.1f s",
            table.kernel,
            key.ident,
            entry.config,
            entry.time_ms,
            time.monotonic() - t0,
        )
    return table


def _tune_key(
    table: Table,
    key: Key,
    group: list[Call],
    made: Any,
    kernel: Any,
    tune_options: dict[str, Any],
    tuner_options: dict[str, Any],
) -> Entry:
    near = [e.config for e in table.neighbours(key)[:NEIGHBOURS]]
    targets = []
    winners: list[Config] = []
    for call in group:
        target = made(kernel, call.args, call.kwargs)
        target.space = with_starts(target.space, winners[:1] + near)
        result = Tuner(target, **tuner_options).tune(**tune_options)
        targets.append(target)
        if result.config not in winners:
            winners.append(result.config)
        if len(group) == 1:
            shape = {**describe_call(call.spec), "time_ms": result.time_ms}
            return Entry(key, result.config, result.time_ms, [shape])
    # Several calls share the key: the winner of least geomean time over all of them.
    best: tuple[float, Config, list[float]] | None = None
    for config in winners:
        times = [_time_at(t, config) for t in targets]
        score = math.exp(sum(map(math.log, times)) / len(times)) if all(times) else math.inf
        if best is None or score < best[0]:
            best = (score, config, times)
    assert best is not None
    score, config, times = best
    shapes = [
        {**describe_call(c.spec), "time_ms": None if math.isinf(t) else t}
        for c, t in zip(group, times)
    ]
    return Entry(key, config, None if math.isinf(score) else score, shapes)


def _time_at(target: Any, config: Config) -> float:
    """``config``'s time at ``target``'s call (inf when invalid there or failing)."""
    if not target.space.is_valid(config):
        return math.inf
    try:
        t = float(target.benchmark(config))
    except Exception as e:  # noqa: BLE001 - a config failing at one call of the key
        log.info("aot: %s fails at another call of its key: %s", config, e)
        return math.inf
    return t if t > 0 and math.isfinite(t) else math.inf


def compile_table(
    kernel: Any, table: Table, device: str | None = None, workers: int | None = None
) -> list[str]:
    """Compile every entry's config at its first recorded call with the tuner's precompile
    jobs (backends/triton/precompile.py): on a GPU, Triton compiles and writes its on-disk
    cache, so a later process loads each binary instead of compiling; under the interpreter
    the code is generated and loaded and each launch checked against its kernel's signature.
    ``workers`` > 1 runs the jobs in the tuner's compile pool (default: up to 8 on a GPU, in
    this process under the interpreter). Raises TableError naming an entry whose config is
    invalid for the kernel or fails to compile. Returns one line per entry."""
    import os

    device = device or default_device()
    if workers is None:
        workers = 1 if interpreting() else min(os.cpu_count() or 1, 8)
    jobs: list[CompileJob] = []
    lines: dict[int, str] = {}
    for i, entry in enumerate(table.entries):
        where = f"{table.source or 'table'}: entry {entry.key.ident}"
        if not entry.shapes:
            raise TableError(f"{where}: records no call to compile")
        args, kwargs = make_call(entry.shapes[0], device)
        if Key.of_call(kernel, args, kwargs) != entry.key:
            raise TableError(f"{where}: its recorded call has another key")
        space = build_space(kernel, kernel.traced_modules(args, kwargs, Config()))
        try:
            space.validate(entry.config)
        except ConfigError as e:
            raise TableError(f"{where}: config invalid for {kernel.fn.__name__}: {e}") from None
        launches = kernel.generated_launches(args, kwargs, entry.config)
        job = job_for_launches(launches, interpret=interpreting())
        lines[i] = f"{entry.key.ident}: {len(launches)} launch(es)"
        if job is not None:
            jobs.append((i, job[0], tuple(job[1])))
    t0 = time.monotonic()
    with closing(run_shared(jobs, workers=workers, timeout_s=600.0)) as outcomes:
        for outcome in outcomes:
            if outcome.error is not None:  # leaving the loop cancels the jobs left
                ident = table.entries[outcome.key].key.ident  # type: ignore[index]
                raise TableError(f"entry {ident} failed to compile: {outcome.error}")
    log.info("aot: %d jobs compiled in %.1f s", len(jobs), time.monotonic() - t0)
    return [lines[i] for i in range(len(table.entries))]


__all__ = ["NEIGHBOURS", "NullCache", "compile_table", "tune_table", "with_starts"]
