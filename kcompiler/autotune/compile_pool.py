"""Parallel compile workers that can be killed one at a time.

Why not ``concurrent.futures.ProcessPoolExecutor``: it cannot cancel a running task, so a
hung compile (the Helion log's "Timeout after 60s") would hold its worker forever, and one
worker that segfaults marks the whole pool broken, losing every other compile in flight.
Why not ``multiprocessing`` with spawn/forkserver: spawn re-imports the user's ``__main__``
script in every worker (a script without a ``__main__`` guard would start tuning again in
each of them), and fork is unsafe once CUDA or threads exist in the parent.

So each worker is a plain subprocess running this file as a script (so starting one
imports only the standard library): jobs go in on stdin and results come back on a private
copy of stdout (pickled, length-prefixed). A job's timeout starts when the worker has
unpickled it, i.e. after its module (torch, triton, the backend) is imported: import time is
paid once per worker and is not a config's fault. A worker
past its deadline is killed and replaced; a worker that dies takes down only its own job.
Workers run in their own session and ignore SIGINT, so Ctrl-C in the terminal reaches only
the tuner, which then kills them. Their stderr goes to a log file whose tail is attached to
the failure message.

The job bookkeeping (timeouts, retries, streaming outcomes) is ``JobBook``, shared with the
Ray backend (``ray_pool``) so that its rules are written once. It lives in this file because
this file is also the worker script, which imports only the standard library (importing
a sibling module would load the kcompiler package in every worker).
"""

from __future__ import annotations

import atexit
import json
import os
import pickle
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

_HEADER = struct.Struct(">I")
_STARTUP_FAILURES_BEFORE_GIVING_UP = 3
_ERROR_TAIL_CHARS = 1500


class CompilePoolError(RuntimeError):
    """Workers cannot start at all (an environment problem, not a bad config)."""


@dataclass(frozen=True)
class CompileOutcome:
    """A finished job: ``error`` is None on success, else why it failed; ``result`` is what
    the job's function returned (None on failure; it must pickle). ``attempts``: how many
    workers ran it (a backend that retries a lost worker's job once reports 2)."""

    key: Hashable
    error: str | None
    seconds: float
    result: Any = None
    attempts: int = 1


# --------------------------------------------------------------------------------------
# Job bookkeeping, shared by every compile backend (this pool and ray_pool.RayCompilePool)
# --------------------------------------------------------------------------------------


@dataclass
class Job:
    """One submitted ``fn(*args)`` as the bookkeeping sees it; a backend subclasses it for
    what only it tracks (a worker's log offset, a Ray object ref)."""

    id: int
    key: Hashable
    payload: bytes  # the pickled ``(fn, args)``
    timeout_s: float
    attempts: int = 0  # workers this job has been handed to
    lost: str = ""  # why the previous attempt's worker was lost
    dispatched: float = 0.0  # when the current attempt was handed to a worker
    started: float | None = None  # when that worker had loaded it: the timeout runs from here


J = TypeVar("J", bound=Job)


class JobBook(Generic[J]):
    """The rules every compile backend keeps for its jobs, written once here:

    - a job that does not pickle fails at ``submit``, without reaching a worker;
    - a job's timeout runs from when its worker has loaded it (before that, the start-up
      limit applies); past it the job is recorded failed and never retried: a compile that
      hangs once hangs again;
    - a job whose worker is lost (killed, crashed, its node gone) runs again on another
      worker while it has attempts left (``max_attempts``), then is recorded failed with
      the reason of each loss;
    - an error raised by the job itself is the config's failure, recorded as it is;
    - ``poll`` streams outcomes: it returns as soon as anything has finished;
    - workers that fail to start, ``startup_failures_allowed`` times in a row, mean the
      backend cannot run at all: it is closed and ``CompilePoolError`` raised.

    The backend owns its workers: it hands jobs from ``queue`` to them and reports what
    happens through these methods (under its lock, where it has one).
    """

    def __init__(
        self,
        job_type: Callable[[int, Hashable, bytes, float], J],
        timeout_s: float,
        startup_timeout_s: float,
        max_attempts: int,
        workers_name: str,
        startup_failures_allowed: int = _STARTUP_FAILURES_BEFORE_GIVING_UP,
    ) -> None:
        self.job_type = job_type
        self.timeout_s = timeout_s  # a job's default timeout
        self.startup_timeout_s = startup_timeout_s
        self.max_attempts = max_attempts
        self.workers_name = workers_name  # how CompilePoolError names the workers
        self.startup_failures_allowed = startup_failures_allowed
        self.queue: deque[J] = deque()  # jobs waiting for a worker, next first
        self.pending = 0  # submitted jobs whose outcome poll() has not returned yet
        self._done: list[CompileOutcome] = []
        self._ids = 0
        self._startup_failures = 0

    def submit(
        self, key: Hashable, fn: Callable[..., object], args: tuple, timeout_s: float | None
    ) -> bool:
        """Queue ``fn(*args)`` (timeout: ``timeout_s``, default the book's); False when it
        failed at once, not picklable."""
        self.pending += 1
        self._ids += 1
        try:
            payload = pickle.dumps((fn, args))
        except Exception as e:  # e.g. a lambda or a local function
            self._done.append(CompileOutcome(key, f"compile job is not picklable: {e}", 0.0))
            return False
        timeout = self.timeout_s if timeout_s is None else timeout_s
        self.queue.append(self.job_type(self._ids, key, payload, timeout))
        return True

    def dispatch(self, job: J, loaded: bool = False) -> None:
        """``job`` is being handed to a worker; ``loaded``: its timeout starts now (the
        worker has its imports done), not when the worker reports it loaded."""
        job.attempts += 1
        job.dispatched = time.monotonic()
        job.started = job.dispatched if loaded else None

    def undispatch(self, job: J) -> None:
        """Handing ``job`` over failed before any worker had it: not the job's fault, so it
        goes back to the front of the queue without costing an attempt."""
        job.attempts -= 1
        self.queue.appendleft(job)

    def deadline(self, job: J) -> float:
        """When a dispatched ``job`` is past its time."""
        if job.started is None:  # the worker is still loading it (importing its module)
            return job.dispatched + self.startup_timeout_s
        return job.started + job.timeout_s

    def finish(self, job: J, error: str | None, seconds: float, result: Any = None) -> None:
        """The job ran: ``error`` (None on success) is its own, not a worker's."""
        self._done.append(CompileOutcome(job.key, error, seconds, result, job.attempts))

    def fail(self, job: J, why: str, now: float | None = None) -> None:
        """Record ``job`` failed for ``why`` (the backend's, not the job's own error)."""
        spent = (time.monotonic() if now is None else now) - job.dispatched
        self._done.append(CompileOutcome(job.key, why, spent, attempts=job.attempts))

    def expire(self, job: J, now: float, detail: str = "") -> None:
        """Record ``job``, past its deadline, failed (its worker is the backend's to kill);
        ``detail`` follows the reason (the worker's stderr, its pid)."""
        if job.started is None:
            why = f"compile job not loaded within {self.startup_timeout_s:g}s"
        else:
            why = f"compile timed out after {job.timeout_s:g}s"
        self.fail(job, why + detail, now)

    def lost(self, job: J, why: str) -> bool:
        """``job``'s worker was lost for ``why``: True if the job is queued again (at the
        front), False if it is recorded failed (no attempts left)."""
        if job.attempts < self.max_attempts:
            job.lost = why
            self.queue.appendleft(job)
            return True
        self.fail(job, f"{job.lost}; retried on another worker: {why}" if job.lost else why)
        return False

    def worker_started(self) -> None:
        self._startup_failures = 0

    def startup_failed(self, why: str, close: Callable[[], None]) -> None:
        """A worker failed to start; after too many in a row, ``close`` the backend and
        raise CompilePoolError."""
        self._startup_failures += 1
        if self._startup_failures >= self.startup_failures_allowed:
            close()
            raise CompilePoolError(f"{self.workers_name} fail to start: {why}")

    def poll(
        self, timeout: float, step: Callable[[], float], wait: Callable[[float], object]
    ) -> list[CompileOutcome]:
        """Finished jobs; waits up to ``timeout`` seconds for at least one. ``step()``
        advances the backend (collects results, kills what is past its deadline, hands out
        jobs) and returns its next deadline; ``wait(seconds)`` blocks until news or then."""
        end = time.monotonic() + max(0.0, timeout)
        while True:
            deadline = step()
            now = time.monotonic()
            if self._done or now >= end or self.pending == 0:
                out, self._done = self._done, []
                self.pending -= len(out)
                return out
            wait(max(0.001, min(end, deadline) - now))

    def clear(self) -> None:
        """Forget every queued job and every outcome not yet returned."""
        self.queue.clear()
        self._done = []
        self.pending = 0


# --------------------------------------------------------------------------------------
# Framing, shared by both sides
# --------------------------------------------------------------------------------------


def _send(stream: IO[bytes], msg: Any) -> None:
    data = pickle.dumps(msg)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _read_exact(stream: IO[bytes], n: int) -> bytes | None:
    chunks = []
    while n:
        chunk = stream.read(n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _recv(stream: IO[bytes]) -> Any | None:
    header = _read_exact(stream, _HEADER.size)
    if header is None:
        return None
    body = _read_exact(stream, _HEADER.unpack(header)[0])
    return None if body is None else pickle.loads(body)


# --------------------------------------------------------------------------------------
# Worker side
# --------------------------------------------------------------------------------------


def _exit_when_orphaned(parent: int) -> None:
    """A hung compile never reads stdin again, so watch the parent to avoid orphans."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(1)


def _worker_main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or ".") == here:
        del sys.path[0]  # run as a script: our sibling modules must not shadow anything
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    jobs = sys.stdin.buffer
    results = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # compilers that print must not corrupt the protocol stream
    threading.Thread(target=_exit_when_orphaned, args=(os.getppid(),), daemon=True).start()
    for module in json.loads(sys.argv[1]) if len(sys.argv) > 1 else []:
        try:
            __import__(module)
        except Exception:
            traceback.print_exc()
    _send(results, ("ready", os.getpid()))
    while True:
        msg = _recv(jobs)
        if msg is None or msg[0] == "exit":
            return
        _, job_id, payload = msg
        try:
            fn, args = pickle.loads(payload)  # imports fn's module
        except BaseException as e:
            _send(results, ("done", job_id, f"cannot load the compile job: {e!r}", None))
            continue
        _send(results, ("started", job_id))
        result = None
        try:
            result = fn(*args)
            error = None
        except BaseException as e:  # report everything, incl. SystemExit
            error = f"{type(e).__name__}: {e}\n" + "".join(traceback.format_exc()[-2000:])
        try:
            _send(results, ("done", job_id, error, result))
        except Exception as e:  # an unpicklable result
            _send(results, ("done", job_id, f"compile job result does not pickle: {e!r}", None))


# --------------------------------------------------------------------------------------
# Parent side
# --------------------------------------------------------------------------------------


@dataclass
class _Job(Job):
    log_offset: int = 0  # where this job's stderr starts in the worker's log


class _Worker:
    """One worker process; its reader thread feeds every message to ``on_message``."""

    def __init__(
        self,
        wid: int,
        log_dir: Path,
        preload: Sequence[str],
        on_message: Callable[[_Worker, Any, float], None],
        env: dict[str, str] | None = None,
    ) -> None:
        self.id = wid
        self.log_path = log_dir / f"worker-{wid}.log"
        self._log = open(self.log_path, "wb")  # closed in kill()
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), json.dumps(list(preload))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=_worker_env(env),
            start_new_session=True,
        )
        self.started = time.monotonic()
        self.ready = False
        self.dead = False  # its stdout closed: it exited, crashed or was killed
        self.job: _Job | None = None
        threading.Thread(target=self._read, args=(on_message,), daemon=True).start()

    def _read(self, on_message: Callable[[_Worker, Any, float], None]) -> None:
        assert self.proc.stdout is not None
        try:
            while (msg := _recv(self.proc.stdout)) is not None:
                on_message(self, msg, time.monotonic())  # stamped on arrival
        except Exception:  # a torn frame means the worker died mid-write
            pass
        on_message(self, None, time.monotonic())

    def send(self, msg: Any) -> bool:
        assert self.proc.stdin is not None
        try:
            _send(self.proc.stdin, msg)
            return True
        except (BrokenPipeError, OSError, ValueError):
            return False

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        self._log.close()

    def death_note(self) -> str:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        if code is not None and code < 0:
            try:
                how = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"killed by signal {-code}"
        else:
            how = f"exit code {code}"
        return f"compile worker died ({how})" + self.stderr_tail()

    def stderr_tail(self) -> str:
        """The end of what the current job (or the start-up) wrote to stderr."""
        start = self.job.log_offset if self.job is not None else 0
        try:
            self._log.flush()
            text = self.log_path.read_bytes()[start:][-_ERROR_TAIL_CHARS:]
            text = text.decode(errors="replace")
        except (OSError, ValueError):
            return ""
        return f"; worker stderr: ...{text.strip()}" if text.strip() else ""


def _worker_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) with the parent's import path, so the
    worker can unpickle whatever the parent can."""
    env = dict(os.environ if base is None else base)
    paths = [os.path.abspath(p) if p else os.getcwd() for p in sys.path]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


class CompilePool:
    """Run picklable ``fn(*args)`` jobs in up to ``workers`` processes, each with a timeout.

    ``submit`` queues a job; ``poll`` returns finished ones (success, error, timeout or
    crash). Killed or dead workers are replaced on demand, so the pool never breaks as a
    whole; only workers that cannot start at all raise CompilePoolError. A job whose worker
    dies is recorded failed, not retried (``JobBook`` keeps the rules).

    A worker that finishes a job takes the next queued one from its reader thread, so the
    compiles keep going while the caller is busy benchmarking. Kills, replacements and
    timeouts happen in ``poll``. Workers start lazily and outlive a tuning run (see
    ``shared_pool``): their start-up should be paid once per process, not per kernel.
    """

    def __init__(
        self,
        workers: int,
        timeout_s: float,
        preload: Sequence[str] = (),
        startup_timeout_s: float = 120.0,
        env: dict[str, str] | None = None,
    ) -> None:
        self.max_workers = max(1, workers)
        self.env = env  # the workers' environment; None: this process's
        self.preload = tuple(preload)
        self._book: JobBook[_Job] = JobBook(
            _Job, timeout_s, startup_timeout_s, max_attempts=1, workers_name="compile workers"
        )
        self._cond = threading.Condition(threading.RLock())
        self._workers: dict[int, _Worker] = {}
        self._ids = 0
        self._log_dir: Path | None = None
        self.in_use = False  # held by a tuning run (see shared_pool)

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
        """Queue ``fn(*args)``; its timeout (default: the pool's) starts once a worker has
        loaded it."""
        with self._cond:
            if self._book.submit(key, fn, args, timeout_s):
                self._dispatch()

    def poll(self, timeout: float) -> list[CompileOutcome]:
        """Finished jobs; waits up to ``timeout`` seconds for at least one."""
        with self._cond:
            return self._book.poll(timeout, self._step, self._cond.wait)

    def cancel(self) -> None:
        """Forget every queued or running job; busy workers are killed, idle ones stay."""
        with self._cond:
            for w in list(self._workers.values()):
                if w.job is not None or not w.ready or w.dead:
                    self._retire(w)
            self._book.clear()

    def close(self) -> None:
        """Kill every worker (a graceful exit would wait for a hung compile) and clean up.

        The pool stays usable: the next ``submit`` starts fresh workers.
        """
        with self._cond:
            for w in list(self._workers.values()):
                w.kill()
            self._workers.clear()
            self._book.clear()
            if self._log_dir is not None:
                shutil.rmtree(self._log_dir, ignore_errors=True)
                self._log_dir = None

    def __enter__(self) -> CompilePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals (called with the lock held) -----------------------------------------------
    def _step(self) -> float:
        """One round of ``poll``: crashes, timeouts, then hand out jobs; the next deadline."""
        self._reap()
        self._expire()
        self._dispatch()
        return self._next_deadline()

    def _on_message(self, w: _Worker, msg: Any, now: float) -> None:
        """Reader threads: record the message, and give a free worker its next job."""
        with self._cond:
            if self._workers.get(w.id) is not w:
                return  # late news from a worker already retired
            if msg is None:
                w.dead = True
            elif msg[0] == "ready":
                w.ready = True
                self._book.worker_started()
                self._give_job(w)
            elif msg[0] == "started" and w.job is not None and w.job.id == msg[1]:
                w.job.started = now
            elif msg[0] == "done" and w.job is not None and w.job.id == msg[1]:
                self._book.finish(w.job, msg[2], now - w.job.dispatched, msg[3])
                w.job = None
                self._give_job(w)
            self._cond.notify_all()

    def _give_job(self, w: _Worker) -> None:
        if not self._book.queue or not w.ready or w.dead or w.job is not None:
            return
        job = self._book.queue.popleft()
        self._book.dispatch(job)
        try:
            job.log_offset = w.log_path.stat().st_size
        except OSError:
            job.log_offset = 0
        w.job = job
        if not w.send(("job", job.id, job.payload)):
            w.job = None
            self._book.undispatch(job)  # it goes to another worker
            w.dead = True

    def _spawn(self) -> None:
        if self._log_dir is None:
            self._log_dir = Path(tempfile.mkdtemp(prefix="kcompiler-compile-"))
        self._ids += 1
        w = _Worker(self._ids, self._log_dir, self.preload, self._on_message, self.env)
        self._workers[w.id] = w

    def _retire(self, w: _Worker) -> None:
        self._workers.pop(w.id, None)
        w.kill()

    def _dispatch(self) -> None:
        """Hand queued jobs to idle workers; start workers while jobs would wait."""
        for w in list(self._workers.values()):
            self._give_job(w)
        starting = sum(1 for w in self._workers.values() if not w.ready)
        while len(self._workers) < self.max_workers and starting < len(self._book.queue):
            self._spawn()
            starting += 1

    def _reap(self) -> None:
        """Dead workers: their job failed (crash), or they never started."""
        for w in [w for w in self._workers.values() if w.dead]:
            note = w.death_note()
            job = w.job
            self._retire(w)
            if job is not None:
                self._book.lost(job, note)
            elif not w.ready:
                self._book.startup_failed(note, self.close)

    def _next_deadline(self) -> float:
        return min((self._deadline(w) for w in self._workers.values()), default=float("inf"))

    def _deadline(self, w: _Worker) -> float:
        if w.job is None:
            return float("inf") if w.ready else w.started + self._book.startup_timeout_s
        return self._book.deadline(w.job)

    def _expire(self) -> None:
        now = time.monotonic()
        for w in list(self._workers.values()):
            if now <= self._deadline(w):
                continue
            job = w.job
            if job is None:
                self._retire(w)
                why = f"no response within {self._book.startup_timeout_s:g}s"
                self._book.startup_failed(why, self.close)
                continue
            note = w.stderr_tail()
            self._retire(w)
            self._book.expire(job, now, note)


_SHARED: list[CompilePool] = []


def shared_pool(
    workers: int, preload: Sequence[str] = (), env: dict[str, str] | None = None
) -> CompilePool:
    """The process-wide pool for these settings, or a private one if it is busy.

    Reusing workers across kernels saves their start-up; a second concurrent tuning run
    (another thread) gets its own pool rather than sharing job accounting. ``env``: the
    workers' environment (None: this process's).
    """
    for pool in _SHARED:
        if (
            not pool.in_use
            and pool.max_workers == workers
            and pool.preload == tuple(preload)
            and pool.env == env
        ):
            return pool
    pool = CompilePool(workers, timeout_s=60.0, preload=preload, env=env)
    _SHARED.append(pool)
    return pool


@atexit.register
def _close_shared() -> None:
    for pool in _SHARED:
        pool.close()


if __name__ == "__main__":
    _worker_main()
