"""``Config(advanced_controls_file=...)``: a ptxas control file, passed to Triton's CUDA backend
as ``ptx_options="--apply-controls <file>"``; on the interpreter it has no effect, which is
said once per file (never silently dropped)."""

from __future__ import annotations

import warnings

import pytest
import torch

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.exc import IgnoredByInterpreter, InvalidConfig


@kc.kernel
def add_one(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] + 1
    return out


def test_gpu_code_passes_the_file_to_ptxas(tmp_path) -> None:
    acf = tmp_path / "controls.acf"
    acf.write_text("")
    x = torch.randn(37)
    cfg = kc.Config(advanced_controls_file=str(acf))
    ((source, _, _),) = add_one.generated_launches((x,), {}, cfg, interpret=False)
    assert f"ptx_options={'--apply-controls ' + str(acf)!r}" in source
    ((plain, _, _),) = add_one.generated_launches((x,), {}, kc.Config(), interpret=False)
    assert "ptx_options" not in plain


def test_empty_file_means_none() -> None:
    x = torch.randn(37)
    ((source, _, _),) = add_one.generated_launches(
        (x,), {}, kc.Config(advanced_controls_file=""), interpret=False
    )
    assert "ptx_options" not in source


def test_interpreter_warns_once_and_runs(tmp_path) -> None:
    acf = tmp_path / "once.acf"
    acf.write_text("")
    x = torch.randn(37)
    cfg = kc.Config(advanced_controls_file=str(acf))
    with pytest.warns(IgnoredByInterpreter, match="once.acf.*no effect"):
        torch.testing.assert_close(add_one.bind(x).run(cfg), x + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", IgnoredByInterpreter)
        y = torch.randn(5)
        torch.testing.assert_close(add_one.bind(y).run(cfg), y + 1)


def test_missing_file_is_refused() -> None:
    with pytest.raises(InvalidConfig, match="no such file"):
        add_one.bind(torch.randn(5)).run(kc.Config(advanced_controls_file="/nope/x.acf"))
