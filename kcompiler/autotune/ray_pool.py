"""Compile jobs on a Ray cluster, behind the local compile pool's interface.

Compiling is most of tuning's cost and needs no GPU (Triton compiles for a named target on
any machine), so the jobs can run on CPU-only machines while the process that owns the GPU
only benchmarks. ``RayCompilePool`` has the methods the tuner uses on ``CompilePool``
(``submit``, ``poll``, ``cancel``, ``close``, ``max_workers``, ``pending``, ``in_use``) and
returns the same ``CompileOutcome`` records, so either backend serves a search
(``compile_backends.acquire_pool`` chooses).

How it works:

- Workers are Ray actors of one CPU and no GPU (``CUDA_VISIBLE_DEVICES`` empty, Triton's
  interpreter off), spread over the cluster's nodes; each imports the ``preload`` modules once when it starts, so import
  time is not charged to a config. An actor runs one job at a time: the pool knows which
  worker and which node holds each job, and a job's timeout starts when it is handed to an
  idle worker.
- The job bookkeeping is the local pool's (``compile_pool.JobBook``: the timeout and retry
  rules below are written there once); this module runs jobs on actors and tells the book
  what happened to them.
- A job is ``fn(*args)`` pickled here exactly as the local pool pickles it; an exception in
  ``fn`` is the config's failure (reported with its traceback, not retried).
- Timeout: the worker running the job is killed (``ray.kill``) and the job recorded as
  failed, never retried: a compile that hangs once hangs again.
- A worker that dies under a job (killed, crashed, its node removed or lost) costs the job
  one retry on another worker, on another node when one has workers; a second loss records
  the job as failed. Lost workers are replaced while the cluster has a free CPU.
- ``poll`` waits on every running job with ``ray.wait`` and returns whatever finished, in
  the order it finished, so the search benchmarks early results while stragglers compile.

Ray is optional: this module imports ``ray`` only when a pool is created, and nothing in
``import kcompiler`` imports this module.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pickle
import sys
import time
import traceback
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kcompiler import settings
from kcompiler.autotune.compile_pool import CompileOutcome, CompilePoolError, Job, JobBook

RAY_ADDRESS_ENV = "KCOMPILER_RAY_ADDRESS"
ATTEMPTS = 2  # a job whose worker is lost runs once more, elsewhere


def ray_installed() -> bool:
    """Whether the optional ``ray`` package can be imported (without importing it)."""
    return importlib.util.find_spec("ray") is not None


class CompileWorker:
    """The body of one Ray worker actor (``RayCompilePool`` wraps it with ``ray.remote``).

    It imports only what its jobs need, so one file serves any cluster node where kcompiler
    is installed.
    """

    def __init__(self, preload: Sequence[str]) -> None:
        for module in preload:
            try:
                importlib.import_module(module)
            except Exception:
                traceback.print_exc()

    def where(self) -> tuple[str, int]:
        """(node id, process id): the pool's record of where its jobs run."""
        import ray

        return ray.get_runtime_context().get_node_id(), os.getpid()

    def run(self, payload: bytes) -> tuple[str | None, Any, float]:
        """(error or None, the job's return value, seconds) of one pickled ``(fn, args)``."""
        start = time.perf_counter()
        try:
            fn, args = pickle.loads(payload)  # imports fn's module
            value = fn(*args)
        except BaseException as e:  # the config's failure, not the worker's
            tail = traceback.format_exc()[-2000:]
            return f"{type(e).__name__}: {e}\n{tail}", None, time.perf_counter() - start
        return None, value, time.perf_counter() - start


@dataclass
class _Job(Job):
    avoid_node: str | None = None  # the node where the previous attempt's worker was lost
    ref: Any = None  # the running attempt's result


@dataclass
class _Actor:
    id: int
    handle: Any
    ready_ref: Any
    created: float
    node: str | None = None
    pid: int | None = None
    job: _Job | None = None


def _is_worker_loss(error: BaseException) -> bool:
    """The worker or its node went away (as opposed to the job raising)."""
    import ray.exceptions as rex

    return isinstance(error, rex.RayError) and not isinstance(error, rex.RayTaskError)


def _worker_env(extra: Mapping[str, str]) -> dict[str, str]:
    """No GPU and no Triton interpreter for compile workers (a process running the
    interpreter cannot compile for a target), and this process's import path so that jobs
    defined in modules importable here unpickle there (paths missing on a remote node are
    skipped by Python's import system)."""
    paths = [os.path.abspath(p) if p else os.getcwd() for p in sys.path]
    env = {
        "CUDA_VISIBLE_DEVICES": "",
        "TRITON_INTERPRET": "0",
        "PYTHONPATH": os.pathsep.join(paths),
    }
    env.update(extra)
    return env


class RayCompilePool:
    """Run picklable ``fn(*args)`` jobs on up to ``workers`` Ray actors, each with a timeout.

    ``address``: the cluster to join (default ``$KCOMPILER_RAY_ADDRESS``, else Ray's own
    rules: ``$RAY_ADDRESS``, else a new local instance); a process already connected
    (``ray.init`` called) keeps its connection. ``workers`` defaults to the cluster's CPUs.
    ``env``: environment variables for the workers (e.g. ``TRITON_CACHE_DIR``).
    """

    def __init__(
        self,
        workers: int | None = None,
        timeout_s: float = 60.0,
        preload: Sequence[str] = (),
        *,
        address: str | None = None,
        env: Mapping[str, str] | None = None,
        startup_timeout_s: float = 120.0,
    ) -> None:
        import ray

        if not ray.is_initialized():
            ray.init(address=address or settings.current().ray_address)
        cpus = int(ray.cluster_resources().get("CPU", 0))
        if cpus < 1 and workers is None:
            raise CompilePoolError("the Ray cluster has no CPU for compile workers")
        self.max_workers = max(1, workers if workers is not None else cpus)
        self.preload = tuple(preload)
        self._book: JobBook[_Job] = JobBook(
            _Job, timeout_s, startup_timeout_s, ATTEMPTS, workers_name="Ray compile workers"
        )
        self.env = dict(env or {})  # variables set for the workers, beyond _worker_env's
        self._actor_cls = ray.remote(
            num_cpus=1,
            num_gpus=0,
            max_restarts=0,
            max_task_retries=0,
            runtime_env={"env_vars": _worker_env(env or {})},
        )(CompileWorker)
        self._actors: dict[int, _Actor] = {}
        self._ids = 0
        self.in_use = False  # held by a tuning run (see shared_ray_pool)

    # -- public --------------------------------------------------------------------------
    @property
    def pending(self) -> int:
        """Submitted jobs whose outcome poll() has not returned yet."""
        return self._book.pending

    def submit(
        self,
        key: Hashable,
        fn: Callable[..., object],
        args: tuple,
        timeout_s: float | None = None,
    ) -> None:
        """Queue ``fn(*args)``; its timeout (default: the pool's) starts on a worker."""
        if self._book.submit(key, fn, args, timeout_s):
            self._dispatch()

    def poll(self, timeout: float) -> list[CompileOutcome]:
        """Finished jobs, as they finish; waits up to ``timeout`` seconds for at least one."""
        return self._book.poll(timeout, self._step, self._wait)

    def cancel(self) -> None:
        """Forget every queued or running job; busy workers are killed, idle ones stay."""
        for a in list(self._actors.values()):
            if a.job is not None or a.node is None:
                self._retire(a)
        self._book.clear()

    def close(self) -> None:
        """Kill every worker; the pool stays usable (the next job starts fresh workers)."""
        for a in list(self._actors.values()):
            self._retire(a)
        self._book.clear()

    def workers_by_node(self) -> dict[str, list[int]]:
        """Node id -> process ids of this pool's started workers (for tests and logs)."""
        out: dict[str, list[int]] = {}
        for a in self._actors.values():
            if a.node is not None and a.pid is not None:
                out.setdefault(a.node, []).append(a.pid)
        return out

    def __enter__(self) -> RayCompilePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -----------------------------------------------------------------------
    def _step(self) -> float:
        """One round of ``poll``: results and started workers, timeouts, then hand out jobs;
        the next deadline."""
        import ray

        self._dispatch()
        refs = self._refs()
        if refs:
            ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
            self._collect(ready)
        self._expire()
        self._dispatch()
        return self._next_deadline()

    def _wait(self, seconds: float) -> None:
        """Until a job finishes or a worker starts, at most ``seconds``."""
        import ray

        refs = self._refs()
        if refs:
            ray.wait(refs, num_returns=1, timeout=seconds)
        else:  # every job queued, no worker yet: Ray is placing the actors
            time.sleep(min(seconds, 0.05))

    def _refs(self) -> list[Any]:
        refs = []
        for a in self._actors.values():
            refs.append(a.ready_ref if a.node is None else a.job.ref if a.job else None)
        return [r for r in refs if r is not None]

    def _collect(self, ready: Sequence[Any]) -> None:
        """Record finished jobs and started workers among the ``ready`` object refs."""
        import ray

        done = set(ready)
        for a in list(self._actors.values()):
            if a.node is None and a.ready_ref in done:
                try:
                    a.node, a.pid = ray.get(a.ready_ref)
                    self._book.worker_started()
                except Exception as e:
                    self._retire(a)
                    self._book.startup_failed(f"{type(e).__name__}: {e}", self.close)
            elif a.job is not None and a.job.ref in done:
                job, a.job = a.job, None
                try:
                    error, value, seconds = ray.get(job.ref)
                except Exception as e:
                    if _is_worker_loss(e):
                        self._retire(a)
                        self._lost(job, a, e)
                    else:  # the pool's own call failed: this job's failure, worker kept
                        why = f"Ray compile call failed: {type(e).__name__}: {e}"
                        self._book.fail(job, why)
                    continue
                self._book.finish(job, error, seconds, value)

    def _lost(self, job: _Job, actor: _Actor, error: BaseException) -> None:
        """The worker under ``job`` died: run it once more elsewhere, then record it failed."""
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        why = f"compile worker lost (pid {actor.pid}, {type(error).__name__}: {first_line})"
        if self._book.lost(job, why):
            job.avoid_node, job.ref = actor.node, None

    def _expire(self) -> None:
        now = time.monotonic()
        unplaced = 0
        for a in list(self._actors.values()):
            if a.job is not None and now > self._book.deadline(a.job):
                job = a.job
                self._retire(a)
                self._book.expire(job, now, f" (worker pid {a.pid} killed)")
            elif a.node is None and now > a.created + self._book.startup_timeout_s:
                self._retire(a)
                unplaced += 1
        # Workers that never started count against the pool only while none has started;
        # otherwise the cluster is full (more workers asked for than it has CPUs) and the
        # started ones take the jobs.
        if unplaced and not any(a.node is not None for a in self._actors.values()):
            why = f"no worker started within {self._book.startup_timeout_s:g}s"
            self._book.startup_failed(why, self.close)

    def _next_deadline(self) -> float:
        startup_s = self._book.startup_timeout_s
        deadlines = [
            self._book.deadline(a.job) if a.job else a.created + startup_s
            for a in self._actors.values()
            if a.job is not None or a.node is None
        ]
        return min(deadlines, default=float("inf"))

    def _dispatch(self) -> None:
        """Hand queued jobs to idle workers (a retried job avoids its lost worker's node);
        start workers while jobs wait and the cluster has room."""
        idle = [a for a in self._actors.values() if a.node is not None and a.job is None]
        queue = self._book.queue
        for job in list(queue):
            if not idle:
                break
            actor = self._pick(job, idle)
            if actor is None:
                continue
            idle.remove(actor)
            queue.remove(job)
            self._start(job, actor)
        starting = sum(1 for a in self._actors.values() if a.node is None)
        while len(self._actors) < self.max_workers and starting < len(queue):
            if self._actors and not self._room():
                break  # a shrunken cluster: the remaining workers take the jobs
            self._spawn()
            starting += 1

    def _pick(self, job: _Job, idle: list[_Actor]) -> _Actor | None:
        if job.avoid_node is None:
            return idle[0]
        elsewhere = [a for a in idle if a.node != job.avoid_node]
        if elsewhere:
            return elsewhere[0]
        if any(a.node != job.avoid_node for a in self._actors.values()):
            return None  # a worker on another node is busy or starting: wait for it
        return idle[0]  # a single-node cluster: another worker process is all there is

    def _start(self, job: _Job, actor: _Actor) -> None:
        self._book.dispatch(job, loaded=True)  # the actor imported its modules when it started
        job.ref = actor.handle.run.remote(job.payload)
        actor.job = job

    def _room(self) -> bool:
        import ray

        return ray.available_resources().get("CPU", 0) >= 1

    def _spawn(self) -> None:
        self._ids += 1
        handle = self._actor_cls.options(scheduling_strategy="SPREAD").remote(self.preload)
        actor = _Actor(self._ids, handle, handle.where.remote(), time.monotonic())
        self._actors[actor.id] = actor

    def _retire(self, actor: _Actor) -> None:
        import ray

        self._actors.pop(actor.id, None)
        if not ray.is_initialized():
            return  # disconnected: Ray ended this process's actors already
        try:
            ray.kill(actor.handle, no_restart=True)
        except Exception:  # already gone with its node
            pass


_SHARED: list[RayCompilePool] = []


def shared_ray_pool(
    workers: int | None, preload: Sequence[str] = (), env: Mapping[str, str] | None = None
) -> RayCompilePool:
    """The process-wide Ray pool for these settings, or a private one if it is busy: its
    workers (and their imports) outlive one tuning run, as the local pool's do, and hold
    their CPUs of the cluster until ``close_shared_ray_pools`` or the process exits."""
    env = dict(env or {})
    for pool in _SHARED:
        same = workers is None or pool.max_workers == workers
        if not pool.in_use and same and pool.preload == tuple(preload) and pool.env == env:
            return pool
    pool = RayCompilePool(workers, preload=preload, env=env)
    _SHARED.append(pool)
    return pool


def close_shared_ray_pools() -> None:
    """Kill the shared pools' workers, giving their CPUs back to the cluster (Ray also
    ends them when this process disconnects: they are owned by it)."""
    for pool in _SHARED:
        pool.close()
    _SHARED.clear()
