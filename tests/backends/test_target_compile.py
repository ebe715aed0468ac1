"""Compiling for a named GPU target on the CPU (backends/triton/target_compile.py,
runtime/target_precompile.py): Triton's sm_90 compile in worker processes, ptxas figures, an
artifact store that another process's Triton cache loads without compiling.

Two real sm_90 compiles (vector_add, two configs); everything else reuses their cache. What
stays unverified without a GPU -- that a CUDA launch on an H100/H200 looks up the same key and
runs the stored cubin -- is tests/gpu/test_gpu_7_target_compile.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from target_cache_probe import compile_and_report_cache_hits

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.autotune.compile_backends import get_compile_backend
from kcompiler.backends.triton import target_compile as tc
from kcompiler.config import Config
from kcompiler.kernels.vector_add import vector_add
from kcompiler.runtime.target_precompile import launch_specs

PTXAS_LOG = """\
ptxas info    : Compiling entry function 'k' for 'sm_90a'
ptxas info    : Function properties for k
    1056 bytes stack frame, 1024 bytes spill stores, 992 bytes spill loads
ptxas info    : Used 255 registers, used 1 barriers, 1056 bytes cumulative stack size
"""


def test_ptxas_log_figures() -> None:
    assert tc.parse_ptxas_log(PTXAS_LOG) == {
        "registers": 255,
        "spill_bytes": 1024,
        "stack_bytes": 1056,
    }
    assert tc.parse_ptxas_log("ptxas fatal: no input") is None


def test_target_names() -> None:
    assert tc.parse_target("sm_90") == ("cuda", 90, 32)
    assert tc.parse_target("sm90a") == ("cuda", 90, 32)
    with pytest.raises(ValueError, match="sm_90"):
        tc.parse_target("gfx942")
    x = torch.randn(100)
    with pytest.raises(ValueError, match="gfx942"):
        vector_add.precompile(x, x, target="gfx942")


def test_an_interpreting_process_refuses_to_compile() -> None:
    spec = launch_specs(
        vector_add, (torch.randn(64), torch.randn(64)), {}, Config(block_sizes=[64])
    )[0]
    with pytest.raises(tc.TargetCompileUnavailable, match="TRITON_INTERPRET"):
        tc.compile_for_target(spec, "sm_90")


@pytest.fixture
def triton_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh Triton cache for this process's workers: compiles really happen."""
    monkeypatch.setenv("TRITON_CACHE_DIR", str(tmp_path / "compiling"))
    return tmp_path / "compiling"


def test_precompile_store_round_trip(tmp_path: Path, triton_cache: Path) -> None:
    x, y = torch.randn(5000), torch.randn(5000)
    configs = [
        Config(block_sizes=[1024], num_warps=4),
        Config(block_sizes=[256], num_warps=2),
    ]
    store = tmp_path / "store"
    records = vector_add.precompile(
        x, y, configs=configs, target="sm_90", workers=2, store=str(store)
    )
    assert [r.config for r in records] == configs
    for r in records:
        assert r.ok, r.first_error
        assert r.target == "sm_90"
        assert len(r.sha256) == 64 and r.registers > 0 and r.spill_bytes == 0
        assert r.shared_bytes == 0 and r.compile_seconds > 0
        (binary,) = r.binaries
        assert dict(binary.files)[f"{binary.kernel_name}.cubin"]
    assert records[0].sha256 != records[1].sha256

    # The store is Triton's cache format: one entry per binary, named by its cache hash.
    entries = {p.name for p in store.iterdir()}
    assert entries == {tc.cache_entry_name(r.binaries[0].cache_hash) for r in records}

    # Another machine's cache (here: another directory): installed, then looked up by a
    # worker compiling the same launch for the same target -- a hit, the same cubin.
    elsewhere = tmp_path / "gpu-host-cache"
    assert tc.install_tree(store, elsewhere) == 2
    entry = elsewhere / tc.cache_entry_name(records[0].binaries[0].cache_hash)
    (group,) = entry.glob("__grp__*.json")
    paths = json.loads(group.read_text())["child_paths"].values()
    assert all(Path(p).parent == entry and Path(p).exists() for p in paths)

    spec = launch_specs(vector_add, (x, y), {}, configs[0])[0]
    env = {**tc.worker_environment(), "TRITON_CACHE_DIR": str(elsewhere)}
    run = get_compile_backend("local")
    (outcome,) = run(
        [("probe", compile_and_report_cache_hits, (spec, "sm_90"))],
        workers=1,
        timeout_s=120,
        env=env,
    )
    assert outcome.error is None, outcome.error
    binary, hits = outcome.result
    assert hits == [True], "Triton compiled instead of loading the installed entry"
    assert binary.sha256 == records[0].sha256
    assert (binary.registers, binary.spill_bytes) == (records[0].registers, 0)


@kc.kernel
def _half_running_sum(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty([x.size(0)], dtype=x.dtype, device=x.device)
    for tile_m in kl.tile(x.size(0)):
        acc = kl.zeros([tile_m], dtype=x.dtype)
        for tile_n in kl.tile(x.size(1)):
            acc = acc + x[tile_m, tile_n].sum(1)
        out[tile_m] = acc
    return out


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_loop_carried_values_compile_for_the_gpu(
    triton_cache: Path, dtype: torch.dtype
) -> None:
    """A half-precision value carried through a loop keeps one type across iterations (float32,
    as the body computes it): the interpreter would accept a bf16 start re-assigned a float32
    value, Triton's GPU compiler refuses it."""
    x = torch.randn(64, 300, dtype=dtype)
    (record,) = _half_running_sum.precompile(
        x, configs=[Config(block_sizes=[16, 64], num_warps=4)], target="sm_90", workers=1
    )
    assert record.ok, record.first_error


@kc.kernel
def _segment_rows_twice(x: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    out = torch.zeros_like(x)
    for g in kl.grid(offsets.size(0) - 1):
        start = offsets[g]
        rows = offsets[g + 1] - start
        if rows != 0:
            for tile_m, tile_n in kl.tile([rows, x.size(1)]):
                out[start + tile_m.index, tile_n] = x[start + tile_m.index, tile_n] * 2
    return out


def test_an_index_check_inside_a_data_dependent_branch_compiles_for_the_gpu(
    triton_cache: Path,
) -> None:
    """The hoisted check of ``x[start + tile.index, ...]`` is computed from scalars only when
    it sits in a branch on a loaded value: its failure flag is 0-d, and the GPU compiler
    rejects ``tl.max`` of a 0-d value (Helion's grouped_gemm hit it on the H200)."""
    x = torch.randn(40, 24)
    offsets = torch.tensor([0, 7, 7, 40])
    torch.testing.assert_close(_segment_rows_twice(x, offsets), x * 2)
    (record,) = _segment_rows_twice.precompile(
        x, offsets, configs=[Config(block_sizes=[16, 32], num_warps=4)], target="sm_90", workers=1
    )
    assert record.ok, record.first_error
