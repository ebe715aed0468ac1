"""The compile pool: per-job timeouts, crashes contained, workers replaced one at a time."""

from __future__ import annotations

import fake_compile_jobs as jobs
import pytest

from kcompiler.autotune.compile_pool import CompilePool


def drain(pool: CompilePool, limit_s: float = 30.0) -> dict:
    out = {}
    while pool.pending:
        for o in pool.poll(limit_s):
            out[o.key] = o.error
    return out


@pytest.fixture
def pool():
    p = CompilePool(2, timeout_s=1.0)
    yield p
    p.close()


def test_failures_are_contained_and_the_pool_keeps_working(pool):
    pool.submit("hang", jobs.compile_hang, (60.0,))
    pool.submit("abort", jobs.compile_crash_with_message, ("marker-1234",))
    pool.submit("raise", jobs.compile_raise, ("bad tile",))
    pool.submit("lambda", lambda: None, ())
    pool.submit("noisy", jobs.compile_noisy, ())
    pool.submit("ok", jobs.compile_ok, ("{}",))
    errors = drain(pool)
    assert set(errors) == {"hang", "abort", "raise", "lambda", "noisy", "ok"}
    assert errors["ok"] is None and errors["noisy"] is None
    assert errors["hang"].startswith("compile timed out after 1s")
    assert "SIGABRT" in errors["abort"] and "marker-1234" in errors["abort"]
    assert errors["raise"].startswith("ValueError: bad tile")
    assert "not picklable" in errors["lambda"]
    # after a kill and a crash, new jobs still run
    pool.submit("after", jobs.compile_ok, ("{}",))
    assert drain(pool) == {"after": None}


def test_module_import_time_is_not_charged_to_the_timeout(pool):
    import slow_import_job  # 0.8 s to import, here and again in the worker

    pool.submit("slow-import", slow_import_job.compile_fast, (), timeout_s=0.5)
    assert drain(pool) == {"slow-import": None}


def test_per_job_timeout_overrides_the_pool_default(pool):
    pool.submit("short", jobs.compile_hang, (0.6,), timeout_s=0.2)
    pool.submit("long", jobs.compile_hang, (0.6,), timeout_s=5.0)
    errors = drain(pool)
    assert "timed out after 0.2s" in errors["short"] and errors["long"] is None
