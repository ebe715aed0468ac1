"""Spill-aware tuning (runtime/tuning.KernelTarget): the precompile job compiles GPU code, for
a named target or for the device, and ptxas's spill figure of that compile decides, before any
benchmark, whether the config may be measured. Real sm_90 compiles of one config that spills
(the device's compile stands in with the sm_90 target driver)."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from kcompiler.autotune.compile_backends import get_compile_backend
from kcompiler.backends.triton.precompile import launch_figures, make_job
from kcompiler.backends.triton.target_compile import TargetBinary, worker_environment
from kcompiler.config import Config
from kcompiler.kernels.matmul import matmul_dot
from kcompiler.kernels.softmax import softmax
from kcompiler.runtime import tuning
from kcompiler.runtime.target_precompile import launch_specs
from kcompiler.runtime.tuning import DOT_SPILL_ALLOWANCE, KernelTarget

ROOT = Path(__file__).resolve().parents[2]


def _binary(spill: int, error: str | None = None) -> TargetBinary:
    return TargetBinary("k", "sm_90", "0" * 64, 255, spill, 0, 1.0, error)


def test_the_allowance_depends_on_tile_dot() -> None:
    x = torch.randn(8, 300)
    plain = KernelTarget(softmax, (x,), {}, compile_target="sm_90")
    assert plain.spill_allowance == 0 and plain.compile_env is not None
    assert "TRITON_INTERPRET" not in plain.compile_env
    a = torch.randn(32, 32)
    dot = KernelTarget(matmul_dot, (a, a), {}, compile_target="sm_90")
    assert dot.spill_allowance == DOT_SPILL_ALLOWANCE > 0
    config = dot.space.default()
    assert dot.review_compile(config, [_binary(DOT_SPILL_ALLOWANCE)]) is None
    assert "spills 1024 bytes" in dot.review_compile(config, [_binary(1024)])
    assert "does not compile" in dot.review_compile(config, [_binary(0, "ptxas error")])
    # Rejections depend on the target and the allowance: they key the cache.
    assert plain.cache_key != KernelTarget(softmax, (x,), {}).cache_key
    with pytest.raises(ValueError, match="gfx"):
        KernelTarget(softmax, (x,), {}, compile_target="gfx942")


def test_a_spilling_config_is_rejected_before_its_benchmark(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TRITON_CACHE_DIR", str(tmp_path / "triton"))
    x = torch.randn(16, 8192)
    target = KernelTarget(softmax, (x,), {}, compile_target="sm_90")
    # 8192 fp32 values of a row in one warp's registers: 256 a thread, far beyond 255.
    spilling = Config(block_sizes=[1], num_warps=1, reduction_loops=[None])
    fn, args = target.precompile_job(spilling)
    run = get_compile_backend("local")
    (outcome,) = run([("c", fn, args)], workers=1, timeout_s=300, env=target.compile_env)
    assert outcome.error is None, outcome.error
    (binary,) = outcome.result
    assert binary.ok and binary.spill_bytes > 0
    reason = target.review_compile(spilling, outcome.result)
    assert reason is not None and f"spills {binary.spill_bytes} bytes" in reason
    # ... and the recalibrated register budget keeps it out of the space in the first place.
    assert not target.space.is_valid(spilling)


# Runs a device-compile job (precompile.make_job, interpret=False) in a process without the
# interpreter, with the sm_90 stand-in driver where a GPU host has its real one.
DEVICE_COMPILE = textwrap.dedent(
    """
    import pickle, sys
    from kcompiler.backends.triton.target_compile import compiling_for
    fn, args = pickle.load(sys.stdin.buffer)
    with compiling_for("sm_90"):
        result = fn(*args)
    sys.stdout.buffer.write(pickle.dumps(result))
    """
)


def _device_compile(job: tuple, cache: Path) -> dict:
    env = {**worker_environment(), "TRITON_CACHE_DIR": str(cache)}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", DEVICE_COMPILE],
        input=pickle.dumps(job),
        env=env,
        capture_output=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    return pickle.loads(done.stdout)


def test_the_device_compile_reports_spills_at_no_extra_compile(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(tuning, "device_target", lambda: "sm_90")  # as on an H100
    x = torch.randn(16, 8192)
    target = KernelTarget(softmax, (x,), {})
    # On the device the local workers' own compile is read: no target compile.
    assert target.compile_target is None and target.spill_target == "sm_90"
    spilling = Config(block_sizes=[1], num_warps=1, reduction_loops=[None])
    job = make_job(launch_specs(softmax, (x,), {}, spilling), interpret=False)
    first = _device_compile(job, tmp_path / "triton")
    (figures,) = launch_figures(first)
    assert figures["spill_bytes"] > 0 and figures["registers"] > 0
    # A cache hit compiles nothing and reports the figures kept beside the entry.
    assert launch_figures(_device_compile(job, tmp_path / "triton")) == [figures]
    reason = target.review_compile(spilling, first)
    assert reason is not None and f"spills {figures['spill_bytes']} bytes" in reason
    # The interpreter's jobs carry no figures; the setting turns the check off.
    assert launch_figures({}) == []
    monkeypatch.setenv("KCOMPILER_SPILL_CHECK", "0")
    off = KernelTarget(softmax, (x,), {})
    assert off.spill_target is None and off.review_compile(spilling, first) is None
    assert off.cache_key != target.cache_key
