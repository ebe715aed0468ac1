"""The job bookkeeping both compile backends share (``compile_pool.JobBook``), without
workers: the retry, timeout, start-up and streaming rules as the backends report events."""

from __future__ import annotations

import pytest

from kcompiler.autotune.compile_pool import CompilePoolError, Job, JobBook


def book(max_attempts: int) -> JobBook[Job]:
    return JobBook(Job, 5.0, 2.0, max_attempts, workers_name="test workers")


def queued(b: JobBook[Job], key: str) -> Job:
    assert b.submit(key, divmod, (7, 2), None)
    return b.queue[-1]


def outcomes(b: JobBook[Job]) -> dict:
    return {o.key: o for o in b.poll(0.0, lambda: float("inf"), lambda s: None)}


def test_a_lost_worker_costs_one_retry_then_the_job_fails_with_both_reasons() -> None:
    b = book(max_attempts=2)
    job = queued(b, "a")
    b.queue.popleft()
    b.dispatch(job)
    assert b.lost(job, "first loss") is True
    assert b.queue[0] is job and outcomes(b) == {}
    b.queue.popleft()
    b.dispatch(job)
    assert b.lost(job, "second loss") is False
    out = outcomes(b)["a"]
    assert out.error == "first loss; retried on another worker: second loss"
    assert out.attempts == 2 and b.pending == 0


def test_without_retries_a_lost_worker_fails_its_job_at_once() -> None:
    b = book(max_attempts=1)
    job = queued(b, "a")
    b.queue.popleft()
    b.dispatch(job)
    assert b.lost(job, "worker died") is False
    out = outcomes(b)["a"]
    assert (out.error, out.attempts) == ("worker died", 1)


def test_handing_over_that_fails_costs_no_attempt() -> None:
    b = book(max_attempts=1)
    job = queued(b, "a")
    b.queue.popleft()
    b.dispatch(job)
    b.undispatch(job)
    assert job.attempts == 0 and b.queue[0] is job


def test_the_timeout_runs_from_when_the_job_is_loaded() -> None:
    b = book(max_attempts=2)
    loading, running = queued(b, "loading"), queued(b, "running")
    b.dispatch(loading)
    b.dispatch(running, loaded=True)
    assert b.deadline(loading) == loading.dispatched + 2.0  # the start-up limit
    assert b.deadline(running) == running.dispatched + 5.0
    b.expire(loading, loading.dispatched + 3.0, "; tail")
    b.expire(running, running.dispatched + 6.0)
    out = outcomes(b)
    assert out["loading"].error == "compile job not loaded within 2s; tail"
    assert out["running"].error == "compile timed out after 5s"
    assert out["running"].seconds == pytest.approx(6.0)


def test_an_unpicklable_job_fails_at_submission() -> None:
    b = book(max_attempts=2)
    assert b.submit("lambda", lambda: None, (), None) is False
    assert not b.queue and "not picklable" in outcomes(b)["lambda"].error


def test_workers_that_keep_failing_to_start_close_the_backend() -> None:
    b = book(max_attempts=1)
    closed = []
    b.startup_failed("one", lambda: closed.append(1))
    b.worker_started()  # a start resets the count
    b.startup_failed("one", lambda: closed.append(1))
    b.startup_failed("two", lambda: closed.append(1))
    with pytest.raises(CompilePoolError, match="test workers fail to start: three"):
        b.startup_failed("three", lambda: closed.append(1))
    assert closed == [1]


def test_poll_returns_as_soon_as_a_job_finishes() -> None:
    b = book(max_attempts=1)
    first, second = queued(b, "first"), queued(b, "second")
    steps = []

    def step() -> float:
        steps.append(1)
        if len(steps) == 3:
            b.finish(first, None, 0.1, "result")
        return float("inf")

    out = b.poll(60.0, step, lambda s: None)
    assert [(o.key, o.result) for o in out] == [("first", "result")]
    assert len(steps) == 3 and b.pending == 1
    b.finish(second, "ValueError: bad", 0.2)
    assert outcomes(b)["second"].error == "ValueError: bad" and b.pending == 0
