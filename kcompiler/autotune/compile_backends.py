"""Where compile jobs run: the local process pool or a Ray cluster, behind one interface.

A job is ``(key, fn, args)``: a top-level function and plain-data arguments (for target
compiles, ``backends/triton/target_compile.compile_launches`` on ``LaunchSpec``s and a target
name). A backend runs ``fn(*args)`` somewhere else and gives one ``CompileOutcome`` per job as
it finishes (not in submission order), with the function's return value in ``result`` or the
error. The caller's process never compiles.

Two ways in, over the same backends:

- ``acquire_pool(backend, workers, preload)``: a long-lived ``JobPool`` (``CompilePool`` or
  ``ray_pool.RayCompilePool``) for the tuner, which keeps compiles queued while it
  benchmarks; workers outlive one tuning run.
- ``get_compile_backend(name)``: a function that runs a batch of jobs and yields outcomes
  (``kernel.precompile(..., backend=...)``). Others register with
  ``register_compile_backend``.
- ``run_shared(jobs, workers, timeout_s)``: a batch of jobs in this process (one worker) or
  in the process-wide local pool, for callers that compile a list of configs outside a
  search (``aot.compile_table``, benchmarks).

Backends: ``"local"`` (worker processes on this machine) and ``"ray"`` (Ray actors on a
cluster; needs the optional ``ray`` extra). ``$KCOMPILER_COMPILE_BACKEND`` chooses for the
tuner when no backend is given. The Ray module is imported only when ``ray`` is asked for,
so a process that never asks does not import Ray.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from typing import Any, Protocol

from kcompiler import settings
from kcompiler.autotune.compile_pool import CompileOutcome, CompilePool, shared_pool
from kcompiler.settings import COMPILE_BACKENDS

COMPILE_BACKEND_ENV = "KCOMPILER_COMPILE_BACKEND"

CompileJob = tuple[Hashable, Callable[..., Any], tuple[Any, ...]]


class JobPool(Protocol):
    """What a search needs from a compile backend (``CompilePool``, ``RayCompilePool``)."""

    max_workers: int
    in_use: bool  # held by a tuning run

    @property
    def pending(self) -> int:
        """Submitted jobs whose outcome poll() has not returned yet."""
        ...

    def submit(
        self,
        key: Hashable,
        fn: Callable[..., object],
        args: tuple,
        timeout_s: float | None = None,
    ) -> None: ...

    def poll(self, timeout: float) -> list[CompileOutcome]: ...

    def cancel(self) -> None: ...

    def close(self) -> None: ...


class CompileBackend(Protocol):
    def __call__(
        self,
        jobs: Sequence[CompileJob],
        *,
        workers: int,
        timeout_s: float,
        env: dict[str, str] | None = None,
    ) -> Iterator[CompileOutcome]:
        """Run every job (each with ``timeout_s``) on up to ``workers`` workers whose
        environment is ``env`` (None: this process's); yield outcomes as they finish."""
        ...


def run_local(
    jobs: Sequence[CompileJob],
    *,
    workers: int,
    timeout_s: float,
    env: dict[str, str] | None = None,
) -> Iterator[CompileOutcome]:
    """The jobs in a private ``CompilePool`` of this machine, closed when they are done."""
    yield from run_batch(CompilePool(workers, timeout_s, env=env), jobs, timeout_s)


def run_ray(
    jobs: Sequence[CompileJob],
    *,
    workers: int,
    timeout_s: float,
    env: dict[str, str] | None = None,
) -> Iterator[CompileOutcome]:
    """The jobs on a private ``RayCompilePool`` (``$KCOMPILER_RAY_ADDRESS``), closed when
    they are done; of ``env``, what ``ray_worker_env`` keeps travels to the workers."""
    _require_ray()
    from kcompiler.autotune.ray_pool import RayCompilePool

    pool = RayCompilePool(workers, timeout_s, env=ray_worker_env(env))
    yield from run_batch(pool, jobs, timeout_s)


def run_batch(
    pool: JobPool, jobs: Iterable[CompileJob], timeout_s: float, *, shared: bool = False
) -> Iterator[CompileOutcome]:
    """Every job on ``pool`` (each with ``timeout_s``): outcomes as they finish.

    A job is submitted as ``jobs`` yields it, so the first compiles run while the caller
    is still making the next jobs. The batch's own pool (``shared`` False) is closed after
    it, also when the caller stops early. A shared pool is held for the batch (``in_use``,
    as a tuning run holds it, so a concurrent run takes another pool instead of its
    outcomes) and keeps its workers; only the jobs left when the caller stops early are
    cancelled."""
    if shared:
        pool.in_use = True
    try:
        for key, fn, args in jobs:
            pool.submit(key, fn, args, timeout_s)
        while pool.pending:
            yield from pool.poll(timeout_s)
    finally:
        if not shared:
            pool.close()
        else:
            if pool.pending:
                pool.cancel()
            pool.in_use = False


def run_in_process(jobs: Iterable[CompileJob]) -> Iterator[CompileOutcome]:
    """Every job run here, one after another as ``jobs`` yields it: an exception the job
    raises is its outcome's error (its message, as the caller would have printed it)."""
    for key, fn, args in jobs:
        start = time.monotonic()
        try:
            result = fn(*args)
        except Exception as e:  # noqa: BLE001 - the job's failure, reported as its outcome
            yield CompileOutcome(key, str(e), time.monotonic() - start)
            continue
        yield CompileOutcome(key, None, time.monotonic() - start, result)


def run_shared(
    jobs: Iterable[CompileJob], *, workers: int, timeout_s: float
) -> Iterator[CompileOutcome]:
    """Every job's outcome as it finishes: with ``workers`` <= 1 run here in order
    (``run_in_process``: no worker to start, for jobs cheaper than that, as under the
    interpreter), else in the process-wide local pool (``shared_pool``, whose workers
    outlive the batch) with ``timeout_s`` each. A caller that stops early (raises out of its
    loop, or closes the iterator) cancels what is still queued."""
    if workers <= 1:
        yield from run_in_process(jobs)
    else:
        yield from run_batch(shared_pool(workers), jobs, timeout_s, shared=True)


_BACKENDS: dict[str, CompileBackend] = {"local": run_local, "ray": run_ray}


def register_compile_backend(name: str, backend: CompileBackend) -> None:
    _BACKENDS[name] = backend


def get_compile_backend(name: str) -> CompileBackend:
    """The backend called ``name``; ValueError naming the known ones, or saying which extra
    to install, otherwise."""
    if name not in _BACKENDS:
        raise ValueError(f"unknown compile backend {name!r}; known: {sorted(_BACKENDS)}")
    if name == "ray":
        _require_ray()
    return _BACKENDS[name]


def compile_backend(given: str | None = None) -> str:
    """``given``, else ``$KCOMPILER_COMPILE_BACKEND`` (checked by ``settings``), else
    ``local``."""
    if not given:
        return settings.current().compile_backend
    name = given.strip().lower()
    if name not in COMPILE_BACKENDS:
        raise ValueError(
            f"backend={name!r}: unknown compile backend; use one of {', '.join(COMPILE_BACKENDS)}"
        )
    return name


def acquire_pool(
    backend: str,
    workers: int | None,
    preload: Sequence[str] = (),
    env: dict[str, str] | None = None,
) -> JobPool:
    """The process-wide pool of ``backend`` (workers outlive one tuning run).

    ``workers``: the local pool's processes (default: CPU count, at most 8) or the Ray
    pool's actors (default: the cluster's CPUs). ``env``: the workers' environment (None:
    this process's); Ray workers get only its ``TRITON_*``/``KCOMPILER_*`` variables.
    """
    if compile_backend(backend) == "local":
        return shared_pool(workers or min(os.cpu_count() or 1, 8), preload, env)
    _require_ray()
    from kcompiler.autotune.ray_pool import shared_ray_pool

    return shared_ray_pool(workers, preload, ray_worker_env(env))


def ray_worker_env(env: dict[str, str] | None) -> dict[str, str]:
    """What of a local worker environment travels to Ray workers: the variables that steer
    Triton and kcompiler. The rest describes this machine, not theirs: devices, the import
    path, directories (``TRITON_CACHE_DIR``: each worker keeps its own cache and the results
    carry the binaries back) and the interpreter switch, which the Ray pool turns off."""
    return {
        k: v
        for k, v in (env or {}).items()
        if k.startswith(("TRITON_", "KCOMPILER_"))
        and k != "TRITON_INTERPRET"
        and not k.endswith(("_DIR", "_PATH", "_HOME"))
    }


def _require_ray() -> None:
    from kcompiler.autotune.ray_pool import ray_installed

    if not ray_installed():
        raise ValueError(
            "compile backend 'ray' is not available here (the ray package is not installed); "
            "install its extra: pip install 'kcompiler[ray]' "
            f"(or unset {COMPILE_BACKEND_ENV} to compile in local processes)"
        )


__all__ = [
    "COMPILE_BACKENDS",
    "COMPILE_BACKEND_ENV",
    "CompileBackend",
    "CompileJob",
    "JobPool",
    "acquire_pool",
    "compile_backend",
    "get_compile_backend",
    "register_compile_backend",
    "run_batch",
    "run_in_process",
    "run_local",
    "ray_worker_env",
    "run_ray",
    "run_shared",
]
