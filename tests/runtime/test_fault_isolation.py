"""Fault isolation of real kernels' autotuning: compile jobs run in killable workers, and the
cache never breaks a kernel.

* ``KernelTarget.precompile_job`` gives a picklable job that builds (interpreter) or compiles
  (GPU) exactly the config's Triton kernels in a worker process;
* a compile that hangs, aborts, segfaults or raises in the worker fails that config only: the
  tuning finishes, this process goes on, the failed configs are never retried;
* a corrupted, unusable or locked autotune cache (``KCOMPILER_CACHE_DIR``) degrades to "no
  cache" with one warning, through ``Kernel.autotune``.
"""

from __future__ import annotations

import logging
import os
import pickle
import sqlite3
import subprocess
import sys

import pytest
import torch

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.autotune import SQLiteCache, Tuner
from kcompiler.autotune import cache_choice as cache_module
from kcompiler.autotune.compile_pool import CompilePool
from kcompiler.backends.triton.precompile import (
    LaunchSpec,
    TensorSpec,
    UnsupportedLaunch,
    check_launch,
    job_for_launches,
    job_specs,
    make_job,
    record_launch,
    record_launches,
)
from kcompiler.runtime.kernel import interpreting
from kcompiler.runtime.tuning import KernelTarget

DEVICE = "cpu" if interpreting() else "cuda"


@kc.kernel
def scale_rows(x: torch.Tensor, alpha: float) -> torch.Tensor:
    m, _ = x.shape
    out = torch.empty_like(x)
    for tile_m in kl.tile(m):
        out[tile_m, :] = x[tile_m, :] * alpha + 1.0
    return out


def _args() -> tuple[torch.Tensor, float]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(6, 20, generator=g).to(DEVICE), 0.5


def _expected(x: torch.Tensor, alpha: float) -> torch.Tensor:
    return x * alpha + 1.0


# Planted faults: a job's source runs in the worker, so code prepended to it runs there too.
FAULTS = {
    "hang": "import time\ntime.sleep(600)\n",
    "abort": "import os\nos.abort()\n",
    "segfault": "import ctypes\nctypes.string_at(0)\n",
    "raise": "raise RuntimeError('planted compile error')\n",
    "syntax": "def broken(:\n",
}
EXPECTED_ERROR = {
    "hang": "timed out",
    "abort": "SIGABRT",
    "segfault": "SIGSEGV",
    "raise": "planted compile error",
    "syntax": "SyntaxError",
}


class FaultyTarget(KernelTarget):
    """The real target, with a planted fault in the compile jobs of its first configs."""

    def __init__(self, faults: list[str]):
        super().__init__(scale_rows, _args(), {})
        self.faults = list(faults)
        self.planted: dict[kc.Config, str] = {}
        self.jobs: list[kc.Config] = []

    def precompile_job(self, config):  # noqa: ANN001, ANN201
        self.jobs.append(config)
        job = super().precompile_job(config)
        assert job is not None
        if not self.faults:
            return job
        fault = self.faults.pop(0)
        self.planted[config] = fault
        specs, interpret = job_specs(job)
        return make_job([s._replace(source=FAULTS[fault] + s.source) for s in specs], interpret)


# -- the job itself ----------------------------------------------------------------------------


def test_precompile_job_describes_the_launch_and_pickles():
    config = kc.Config(block_sizes=[4], num_warps=2, num_stages=2)
    target = KernelTarget(scale_rows, _args(), {})
    job = target.precompile_job(config)
    assert job is not None
    fn, args = pickle.loads(pickle.dumps(job))
    (spec,), interpret = job_specs((fn, args))
    assert interpret == interpreting()
    assert isinstance(spec, LaunchSpec) and spec.kernel_name == "scale_rows_kernel"
    kwargs = dict(spec.kwargs)
    assert kwargs["BLOCK_0"] == 4 and kwargs["num_warps"] == 2 and kwargs["num_stages"] == 2
    # x and out: dtype and 16-byte alignment, as Triton specializes pointers
    assert spec.args[:2] == (TensorSpec("float32", True), TensorSpec("float32", True))
    assert 0.5 in spec.args  # the float scalar, by value
    assert 20 in spec.args  # strides and sizes: ints by value (== 1 and % 16 specialize)
    fn(*args)  # runs here too (the interpreter checks; a GPU compiles)
    # the generated source is the one the runtime launches for this config
    assert spec.source in scale_rows.to_triton_code(*_args(), config=config)


@pytest.mark.skipif(not interpreting(), reason="a GPU compile needs torch")
def test_precompile_job_runs_without_importing_kcompiler_or_torch(tmp_path):
    """Worker start-up stays cheap: a job needs the standard library and Triton only."""
    job = KernelTarget(scale_rows, _args(), {}).precompile_job(kc.Config(block_sizes=[2]))
    (tmp_path / "job.pickle").write_bytes(pickle.dumps(job))
    code = (
        "import pickle, sys; fn, args = pickle.load(open(sys.argv[1], 'rb')); fn(*args); "
        "print(sorted(m for m in ('kcompiler', 'torch', 'xdsl') if m in sys.modules))"
    )
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "job.pickle")],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_precompile_job_of_an_unaligned_tensor():
    x, alpha = _args()
    x = x.flatten()[1:].view(-1)[: 6 * 19].view(6, 19)  # data_ptr % 16 == 4
    job = KernelTarget(scale_rows, (x, alpha), {}).precompile_job(kc.Config(block_sizes=[2]))
    assert job is not None
    (spec,), _ = job_specs(job)
    assert spec.args[0] == TensorSpec("float32", False)


def test_a_wrapped_launcher_is_recorded_without_touching_the_real_one():
    """Launchers may be wrappers (e.g. choosing between two kernels): the recording runs
    copies of them, so the real launcher keeps launching (other threads may use it)."""
    x, alpha = _args()
    target = KernelTarget(scale_rows, (x, alpha), {})
    loops = [env for _, env in scale_rows.bind(x, alpha).device_loops(kc.Config())]
    compiled = scale_rows.compile_loop(0, loops[0], kc.Config(block_sizes=[2]))

    launch = compiled.launcher

    def wrapper(*args):  # noqa: ANN002, ANN202
        return launch(*args)

    env = loops[0]
    recorded = (compiled.source, wrapper, [env[p] for p in compiled.params])
    calls = record_launch(*recorded)
    assert [c.kernel_name for c in calls] == ["scale_rows_kernel"]
    assert dict(calls[0].kwargs)["BLOCK_0"] == 2
    assert record_launches([recorded, recorded]) == calls  # one launch twice: compiled once
    with pytest.raises(UnsupportedLaunch):
        record_launch(compiled.source, print, [])
    assert job_for_launches([(compiled.source, print, [])], interpret=True) is None
    torch.testing.assert_close(
        scale_rows.bind(x, alpha).run(kc.Config(block_sizes=[2])), _expected(x, alpha)
    )
    assert target.precompile_job(kc.Config(block_sizes=[2])) is not None


def test_precompile_job_of_an_empty_grid_is_none():
    x = torch.empty(0, 5, device=DEVICE)
    target = KernelTarget(scale_rows, (x, 1.0), {})
    assert target.precompile_job(target.space.default()) is None


@pytest.mark.parametrize("fault, error", [("raise", RuntimeError), ("syntax", SyntaxError)])
def test_a_bad_module_fails_the_check(fault, error):
    target = FaultyTarget([fault])
    fn, args = target.precompile_job(kc.Config(block_sizes=[4]))
    with pytest.raises(error):
        fn(*args)


def test_a_call_that_does_not_fit_the_kernel_fails_the_check():
    target = KernelTarget(scale_rows, _args(), {})
    (spec,), _ = job_specs(target.precompile_job(kc.Config(block_sizes=[4])))
    with pytest.raises(TypeError, match="positional"):
        check_launch(spec._replace(args=spec.args[:-1]))


# -- through the tuner and worker processes -------------------------------------------------------


def test_hung_and_crashing_compiles_fail_their_config_only(tmp_path):
    faults = ["hang", "abort", "segfault", "raise", "syntax"]
    target = FaultyTarget(faults)
    tuner = Tuner(
        target,
        cache=SQLiteCache(tmp_path / "autotune.sqlite"),
        workers=3,
        compile_timeout_s=2.0 if interpreting() else 30.0,  # a GPU compile takes ~1 s
        progress=False,
    )
    result = tuner.tune(strategy="random", effort="quick", max_configs=8, budget_s=90)
    assert set(target.planted.values()) == set(faults)
    failed = {f.config: f.error for f in result.failures}
    for config, fault in target.planted.items():
        assert config in failed, f"planted {fault} in {config} did not fail it"
        assert EXPECTED_ERROR[fault] in failed[config], failed[config]
    assert set(failed) == set(target.planted)  # the others compiled and ran
    assert result.time_ms is not None and result.config not in target.planted
    assert result.tried == 8
    assert len(target.jobs) == len(set(target.jobs))  # no config compiled twice
    # this process goes on, and the winner computes the right thing
    x, alpha = _args()
    torch.testing.assert_close(scale_rows.bind(x, alpha).run(result.config), _expected(x, alpha))


@pytest.mark.skipif(interpreting(), reason="compiles for a GPU")
def test_gpu_worker_compile_is_loaded_from_tritons_cache(tmp_path, monkeypatch):
    """The worker's compile lands in Triton's on-disk cache; the first launch here loads it."""
    monkeypatch.setenv("TRITON_CACHE_DIR", str(tmp_path / "triton"))
    config = kc.Config(block_sizes=[2], num_warps=1, num_stages=3)
    target = KernelTarget(scale_rows, _args(), {})
    fn, args = target.precompile_job(config)
    with CompilePool(1, timeout_s=120) as pool:
        pool.submit("job", fn, args)
        (outcome,) = pool.poll(180)
    assert outcome.error is None, outcome.error
    cached = sorted(p.name for p in (tmp_path / "triton").iterdir())
    assert cached, "the worker wrote nothing to Triton's cache"
    x, alpha = _args()
    scale_rows.clear_caches(variants=True)
    out = scale_rows.bind(x, alpha).run(config)
    torch.testing.assert_close(out, _expected(x, alpha))
    assert sorted(p.name for p in (tmp_path / "triton").iterdir()) == cached  # no new compile


# -- the cache, through Kernel.autotune --------------------------------------------------------------


def _tune(**options):  # noqa: ANN003, ANN202
    x, alpha = _args()
    options.setdefault("budget_s", 6.0)
    result = scale_rows.autotune((x, alpha), effort="quick", workers=2, progress=False, **options)
    try:
        torch.testing.assert_close(scale_rows(x, alpha), _expected(x, alpha))
    finally:
        scale_rows.config = None
        scale_rows.clear_caches()
    return result


def test_garbage_cache_file_is_moved_aside_and_rebuilt(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("KCOMPILER_CACHE_DIR", str(tmp_path))
    (tmp_path / "autotune.sqlite").write_bytes(b"this is not a database\0" * 100)
    with caplog.at_level(logging.WARNING, logger="kcompiler.autotune"):
        first = _tune()
    assert "corrupted" in caplog.text
    assert list(tmp_path.glob("autotune.sqlite.corrupt-*"))
    assert first.time_ms is not None and not first.from_cache
    second = _tune()
    assert second.from_cache and second.config == first.config


def test_cache_dir_that_is_a_file_disables_the_cache(tmp_path, monkeypatch, caplog):
    blocker = tmp_path / "not-a-dir"
    blocker.write_bytes(b"\x00garbage")
    monkeypatch.setenv("KCOMPILER_CACHE_DIR", str(blocker))
    with caplog.at_level(logging.WARNING, logger="kcompiler.autotune"):
        result = _tune()
    assert "continuing without caching" in caplog.text
    assert result.time_ms is not None
    assert blocker.read_bytes() == b"\x00garbage"


def test_locked_cache_is_waited_for_then_disabled(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("KCOMPILER_CACHE_DIR", str(tmp_path))
    path = tmp_path / "autotune.sqlite"
    # The default cache for this path, with a short lock wait (10 s by default).
    monkeypatch.setitem(cache_module._DEFAULT_CACHES, path, SQLiteCache(path, timeout_s=0.3))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE other (x)")
    holder.execute("BEGIN EXCLUSIVE")  # another process in the middle of a write
    try:
        with caplog.at_level(logging.WARNING, logger="kcompiler.autotune"):
            result = _tune(budget_s=4.0)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "locked" in caplog.text and "continuing without caching" in caplog.text
    assert result.time_ms is not None
