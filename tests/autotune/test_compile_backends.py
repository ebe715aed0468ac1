"""Choosing the compile backend; Ray stays optional: ``import kcompiler`` never imports it,
and asking for it without the package says how to install it. ``run_shared`` runs a batch
of jobs here or in the shared pool, with one outcome per job either way."""

from __future__ import annotations

import subprocess
import sys

import fake_compile_jobs as fake
import pytest

from kcompiler.autotune.compile_backends import (
    COMPILE_BACKEND_ENV,
    acquire_pool,
    compile_backend,
    get_compile_backend,
    run_shared,
)
from kcompiler.autotune.compile_pool import CompilePool, shared_pool
from kcompiler.settings import SettingError


def test_backend_comes_from_the_argument_then_the_environment(monkeypatch):
    monkeypatch.delenv(COMPILE_BACKEND_ENV, raising=False)
    assert compile_backend() == "local"
    monkeypatch.setenv(COMPILE_BACKEND_ENV, "ray")
    assert compile_backend() == "ray"
    assert compile_backend("local") == "local"
    monkeypatch.setenv(COMPILE_BACKEND_ENV, "dask")
    with pytest.raises(SettingError, match=f"{COMPILE_BACKEND_ENV}='dask'.*local, ray"):
        compile_backend()
    with pytest.raises(ValueError, match="backend='dask'.*local, ray"):
        compile_backend("dask")


def test_local_backend_is_the_shared_process_pool(monkeypatch):
    monkeypatch.delenv(COMPILE_BACKEND_ENV, raising=False)
    assert isinstance(acquire_pool("local", 1), CompilePool)


def test_ray_backend_without_ray_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    for ask in (lambda: acquire_pool("ray", None), lambda: get_compile_backend("ray")):
        with pytest.raises(ValueError, match=r"pip install 'kcompiler\[ray\]'"):
            ask()
    with pytest.raises(ValueError, match="unknown compile backend 'dask'"):
        get_compile_backend("dask")


def test_importing_kcompiler_and_its_tuner_does_not_import_ray():
    code = (
        "import sys, kcompiler, kcompiler.autotune, kcompiler.runtime.tuning, "
        "kcompiler.autotune.compile_backends, kcompiler.autotune.ray_pool; "
        "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_target_compile_jobs_ship_binaries_only_for_remote_workers():
    """Local workers share this machine's Triton cache, so their jobs return figures only;
    a remote backend's jobs return the binaries' files too (installed by receive_compile)."""
    import torch

    from kcompiler.kernels.vector_add import vector_add
    from kcompiler.runtime.tuning import KernelTarget

    x = torch.randn(64)
    for ship in (False, True):
        target = KernelTarget(vector_add, (x, x), {}, compile_target="sm_90", ship_binaries=ship)
        fn, (specs, arch, keep_files) = target.precompile_job(target.space.default())
        assert fn.__name__ == "compile_launches" and arch == "sm_90" and specs
        assert keep_files is ship


BATCH = [
    ("ok", fake.compile_report, ('{"block_sizes": [256]}',)),
    ("raise", fake.compile_raise, ("bad tile",)),
    ("small", fake.compile_report, ('{"block_sizes": [64]}',)),
]


@pytest.mark.parametrize("workers", [1, 2])
def test_run_shared_gives_one_outcome_per_job_here_or_in_the_pool(workers):
    outcomes = {o.key: o for o in run_shared(BATCH, workers=workers, timeout_s=30.0)}
    assert set(outcomes) == {"ok", "raise", "small"}
    assert outcomes["ok"].error is None and outcomes["ok"].result == {"spill_bytes": 512}
    assert outcomes["small"].error is None and outcomes["small"].result == {"spill_bytes": 0}
    # In this process the error is the exception's message; a worker prefixes its type.
    expected = "bad tile" if workers == 1 else "ValueError: bad tile"
    assert outcomes["raise"].error.startswith(expected) and outcomes["raise"].result is None
    if workers > 1:
        pool = shared_pool(workers)  # the batch's pool, handed back free and empty
        assert not pool.in_use and pool.pending == 0


def test_run_shared_holds_the_pool_and_cancels_what_is_left_when_the_caller_stops():
    jobs = [("raise", fake.compile_raise, ("stop",)), ("hang", fake.compile_hang, (60.0,))]
    pool = shared_pool(2)  # the pool the batch will take
    outcomes = run_shared(jobs, workers=2, timeout_s=30.0)
    first = next(outcomes)
    assert pool.in_use and shared_pool(2) is not pool  # another caller gets its own
    assert first.key == "raise" and pool.pending == 1
    outcomes.close()  # as leaving the loop does
    assert not pool.in_use and pool.pending == 0
    assert shared_pool(2) is pool
