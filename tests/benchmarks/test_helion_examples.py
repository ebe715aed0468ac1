"""The Helion-examples report: import rewriting, the shim's comparison, one example end to end.

The end-to-end case writes a tiny example of its own in Helion's spelling (no Helion code is
needed or stored) and runs it through the report's staging and subprocess runner.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest
import torch

from benchmarks import helion_examples as report
from benchmarks.helion_shim import ExampleMismatch, run_example


def test_only_helion_import_lines_change() -> None:
    source = (
        "import helion\n"
        "import helion.language as hl\n"
        "from helion._testing import DEVICE, run_example\n"
        "    from helion._testing import HALF_DTYPE\n"
        "import helion.exc\n"
        "from helion.autotuner import PowerOfTwoFragment\n"
        "x = helion_value  # not an import\n"
    )
    assert report.rewrite_imports(source) == (
        "import kcompiler as helion\n"
        "import kcompiler.language as hl\n"
        "from benchmarks.helion_shim import DEVICE, run_example\n"
        "    from benchmarks.helion_shim import HALF_DTYPE\n"
        "import kcompiler as helion\n"
        "from kcompiler.autotuner import PowerOfTwoFragment\n"
        "x = helion_value  # not an import\n"
    )


def test_run_example_compares_every_kernel_with_the_reference() -> None:
    x = torch.randn(5)
    run_example({"a": lambda v: v * 2, "b": lambda v: v + v}, lambda v: 2 * v, (x,))
    with pytest.raises(ExampleMismatch, match="^b: "):
        run_example({"a": lambda v: v * 2, "b": lambda v: v * 3}, lambda v: 2 * v, (x,))
    x.requires_grad_(True)
    run_example(lambda v: v * v, lambda v: v**2, (x,), bwd=True)
    with pytest.raises(ExampleMismatch):
        run_example(lambda v: v.detach() * v, lambda v: v**2, (x,), bwd=True)


EXAMPLE = """
import torch
import helion
import helion.language as hl
from helion._testing import DEVICE, run_example

@helion.kernel(autotune_baseline_fn=lambda x: x)
def twice(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in hl.tile(x.size(0)):
        out[tile] = x[tile] * {factor}
    return out

def check(n: int) -> None:
    x = torch.randn(n, device=DEVICE)
    run_example(twice, lambda x: x * 2, (x,))
"""


@pytest.mark.parametrize(("factor", "status"), [(2.0, "PASS"), (3.0, "FAIL"), ("y", "ERROR")])
def test_an_example_end_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, factor: object, status: str
) -> None:
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "twice.py").write_text(EXAMPLE.format(factor=factor))
    monkeypatch.setitem(report.EXAMPLES, "twice", report.Example("check(37)"))
    source = report.HelionSource(tmp_path, "unused")
    assert source.listing() == ["twice"]
    staged = tmp_path / "staged"
    report.stage(source, ["twice"], staged)
    assert "import kcompiler as helion" in (staged / "examples" / "twice.py").read_text()
    # run_one is the report's child process: give it a fresh `examples` package and path.
    monkeypatch.setattr(sys, "path", list(sys.path))
    for name in [m for m in sys.modules if m == "examples" or m.startswith("examples.")]:
        monkeypatch.delitem(sys.modules, name)
    report.run_one("twice", staged, tmp_path / "result.json")
    result = (tmp_path / "result.json").read_text()
    assert f'"status": "{status}"' in result, result
    if status == "ERROR":
        assert "examples/twice.py:11" in result and "not defined" in result
    table = report.render({"twice": {"status": status, "detail": "x|y"}}, "0" * 40, "cpu", 9)
    assert f"**{int(status == 'PASS')} of 1 pass**" in table and "x\\|y" in table


def test_a_rendered_table_parses_back() -> None:
    rows = {
        "a": {"status": "PASS", "detail": "", "seconds": "3"},
        "b/c": {"status": "ERROR", "detail": "KeyError: 'x|y'", "seconds": "12"},
        "d": {"status": "SKIP", "detail": "distributed-only", "seconds": ""},
    }
    assert report.parse_table(report.render(rows, "0" * 40, "cpu", 5)) == rows
    rows["a"].update(target="ok 2", target_name="sm_90")
    rows["b/c"].update(target="k: ptxas error", target_name="sm_90")
    table = report.render(rows, "0" * 40, "cpu", 5)
    assert "**1 of 2 compile**" in table
    assert report.parse_table(table) == rows


def test_an_example_s_kernels_compile_for_a_gpu_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--target sm_90: the kernels a passing example called compile for the GPU, here."""
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "twice.py").write_text(EXAMPLE.format(factor=2.0))
    monkeypatch.setitem(report.EXAMPLES, "twice", report.Example("check(37)"))
    staged = tmp_path / "staged"
    report.stage(report.HelionSource(tmp_path, "unused"), ["twice"], staged)
    monkeypatch.setattr(sys, "path", list(sys.path))
    for name in [m for m in sys.modules if m == "examples" or m.startswith("examples.")]:
        monkeypatch.delitem(sys.modules, name)
    report.run_one("twice", staged, tmp_path / "result.json", target="sm_90")
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["status"] == "PASS" and result["target"] == "ok 1", result


GPU_ONLY = """
import torch
import helion
import helion.language as hl
from helion._testing import DEVICE, run_example

@helion.kernel(config=helion.Config(block_sizes=[32]))
def bump(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in hl.tile(x.size(0)):
        out[tile] = hl.inline_asm_elementwise(
            "add.s32 $0, $1, 1;", "=r,r", [x[tile]], dtype=torch.int32, is_pure=True, pack=1
        )
    return out

def check(n: int) -> None:
    x = torch.arange(n, dtype=torch.int32, device=DEVICE)
    run_example(bump, lambda x: x + 1, (x,))
"""


def test_an_example_that_needs_a_gpu_is_skipped_on_the_interpreter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inline PTX cannot run on Triton's interpreter: SKIP with the reason, and with
    --target its kernel, traced up to the NeedsGPU error, still compiles for sm_90."""
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "gpu_only.py").write_text(GPU_ONLY)
    example = report.Example("check(37)\ncheck(41)", needs_gpu="inline PTX")
    monkeypatch.setitem(report.EXAMPLES, "gpu_only", example)
    staged = tmp_path / "staged"
    report.stage(report.HelionSource(tmp_path, "unused"), ["gpu_only"], staged)
    monkeypatch.setattr(sys, "path", list(sys.path))
    for name in [m for m in sys.modules if m == "examples" or m.startswith("examples.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setenv("TRITON_CACHE_DIR", str(tmp_path / "cache"))
    report.run_one("gpu_only", staged, tmp_path / "result.json", target="sm_90")
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["status"] == "SKIP" and result["detail"] == "inline PTX", result
    assert result["target"] == "ok 1", result
    # Off the interpreter (TRITON_INTERPRET unset, as on a GPU) the driver runs as any other's;
    # this process still interprets, so the kernel's NeedsGPU comes through as the ERROR.
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    report.run_one("gpu_only", staged, tmp_path / "result.json")
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["status"] == "ERROR" and "NeedsGPU" in result["detail"], result


PAST_THE_END = """
import torch
import helion
import helion.language as hl
from helion._testing import DEVICE, run_example

@helion.kernel(config=helion.Config(block_sizes=[8]))
def shifted(x: torch.Tensor, start: int) -> torch.Tensor:
    out = torch.zeros_like(x)
    for tile in hl.tile(x.size(0)):
        keep = tile.index + start < x.size(0)
        got = x[tile.index + start]
        out[tile] = torch.where(keep, got, 0.0)
    return out

def check(n: int) -> None:
    x = torch.randn(n, device=DEVICE)
    run_example(lambda x: shifted(x, 3), lambda x: torch.cat([x[3:], x.new_zeros(3)]), (x,))
"""


@pytest.mark.parametrize("env", [(), (("KCOMPILER_OUT_OF_BOUNDS", "warn"),)])
def test_an_example_indexing_past_a_tensor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: tuple[tuple[str, str], ...]
) -> None:
    """By default the read past the tensor is the row's ERROR; an example run with the
    opt-in warn mode passes when its result matches, and its row names the setting and the
    line warned at. The setting does not outlive the example."""
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "shifted.py").write_text(PAST_THE_END)
    monkeypatch.setitem(report.EXAMPLES, "shifted", report.Example("check(37)", env=env))
    staged = tmp_path / "staged"
    report.stage(report.HelionSource(tmp_path, "unused"), ["shifted"], staged)
    monkeypatch.setattr(sys, "path", list(sys.path))
    for name in [m for m in sys.modules if m == "examples" or m.startswith("examples.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.delenv("KCOMPILER_OUT_OF_BOUNDS", raising=False)
    report.run_one("shifted", staged, tmp_path / "result.json")
    result = json.loads((tmp_path / "result.json").read_text())
    if env:
        assert result == {
            "status": "PASS",
            "detail": "KCOMPILER_OUT_OF_BOUNDS=warn; IndexOutOfBoundsWarning at shifted.py:12",
        }
    else:
        assert result["status"] == "ERROR", result
        # Lanes 37..39 of the last tile fail; the one recorded is any of them.
        assert re.match(r"IndexOutOfBounds: shifted.py:12: index 3[789] ", result["detail"])
    assert "KCOMPILER_OUT_OF_BOUNDS" not in os.environ


def strict_causal_kernel(diagonal: int, zero: bool = False) -> object:
    """A stand-in for the example's kernel, computed by torch: the strict-causal attention
    (``diagonal=-1``), the example reference's (``0``: the diagonal kept), or zeros."""
    from benchmarks.helion_checks import strict_causal_reference

    def run(max_seq_len: int, alpha: float, q, k, v, offsets):  # noqa: ANN001, ANN202
        out = strict_causal_reference(q, k, v, offsets, max_seq_len)
        if diagonal == 0:  # add the diagonal's term back
            for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True):
                s = (q[a:b].double() * k[a:b].double()).sum(-1, keepdim=True) * alpha
                out[a:b] += torch.nn.functional.silu(s) / max_seq_len * v[a:b].double()
        return out.float() * (0 if zero else 1)

    return run


def test_the_strict_causal_check_can_fail() -> None:
    """The check the jagged_hstu_attn row adds passes the strict-causal attention and fails
    what the example's own check passes: zeros, and the reference's diagonal-keeping form."""
    from benchmarks.helion_checks import jagged_hstu_causal

    cpu = torch.device("cpu")
    jagged_hstu_causal(strict_causal_kernel(-1), cpu, repeats=2)
    for bad in (strict_causal_kernel(-1, zero=True), strict_causal_kernel(0)):
        with pytest.raises(AssertionError, match="differ from the strict-causal"):
            jagged_hstu_causal(bad, cpu)


def test_the_rows_jagged_hstu_attn_touches_past_its_sequences() -> None:
    """The plain-torch recomputation of the example's indices: a sequence's last q tile runs
    past it unless its length is a multiple of the q block or the longest length; the rows
    past it are the next sequence's first ones, or past the tensor (row 84 of 84) for the last
    one. With the report's lengths every sequence runs past its end."""
    from benchmarks.helion_checks import jagged_hstu_overruns

    got = jagged_hstu_overruns([16, 37, 31], max_seq_len=37, block_q=16, block_kv=32)
    assert got == {"q": [(2, 84)], "kv": [(2, 84)]}
    got = jagged_hstu_overruns([22, 20, 31], max_seq_len=37, block_q=16, block_kv=32)
    assert got["q"] == [(0, r) for r in range(22, 32)] + [(1, r) for r in range(42, 54)] + [(2, 73)]
    assert got["kv"] == got["q"]


def test_an_update_keeps_the_table_s_provenance() -> None:
    rows = {"a": {"status": "PASS", "detail": "", "seconds": "3"}}
    table = report.render(rows, "0" * 40, "cpu", 5, "Rows from a run at abc")
    assert "(time limit 5s each). Rows from a run at abc\n" in table
    again = report.updated_provenance(table, ["a"], "sm_90")
    assert again.startswith("Rows from a run at abc; a rerun with `--update --target sm_90` at ")
    fresh = report.updated_provenance(report.render(rows, "0" * 40, "cpu", 5), ["a"], None)
    assert fresh.startswith("a rerun with `--update` at ") and fresh.endswith(".")
