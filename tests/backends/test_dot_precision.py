"""float32 dots follow torch's float32 matmul precision: full float32 by default (as torch's
matmul), TF32 once the user allows it. Seen on the H100: Triton's default (TF32) gave ~1e-3
relative error against torch's float32 matmul."""

from __future__ import annotations

import pytest
import torch

import kcompiler as kc
import kcompiler.runtime.kernel as runtime
from kcompiler.kernels.matmul import matmul


@pytest.fixture
def gpu_codegen(monkeypatch: pytest.MonkeyPatch) -> None:
    # Generate the code a GPU would get (the interpreter takes no input_precision).
    monkeypatch.setattr(runtime, "interpreting", lambda: False)


def _dot_lines(x: torch.Tensor, y: torch.Tensor) -> list[str]:
    fresh = kc.kernel(matmul.fn)
    code = fresh.to_triton_code(x, y, config=kc.Config(block_sizes=[16, 16, 16]))
    return [ln for ln in code.splitlines() if "tl.dot(" in ln]


@pytest.mark.parametrize(
    ("setting", "want"), [("highest", "ieee"), ("high", "tf32"), ("medium", "tf32")]
)
def test_fp32_dot_precision_follows_torch(gpu_codegen: None, setting: str, want: str) -> None:
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision(setting)
    try:
        x, y = torch.randn(32, 32), torch.randn(32, 32)
        (line,) = _dot_lines(x, y)
        assert f'input_precision="{want}"' in line
    finally:
        torch.set_float32_matmul_precision(before)


def test_half_dots_take_no_precision(gpu_codegen: None) -> None:
    x = torch.randn(32, 32, dtype=torch.bfloat16)
    (line,) = _dot_lines(x, x)
    assert "input_precision" not in line


@pytest.mark.parametrize(
    ("mode", "form"),
    [
        ("block", "c{n} + tl.dot(v{a}, v{b})"),
        ("fast", "tl.dot(v{a}, v{b}, c{n})"),
        ("imprecise_acc", "max_num_imprecise_acc=BLOCK_"),
    ],
)
def test_fp8_dot_accumulation_follows_the_setting(
    gpu_codegen: None, monkeypatch: pytest.MonkeyPatch, mode: str, form: str
) -> None:
    from kcompiler.kernels.fp8_gemm import fp8_gemm

    if mode != "imprecise_acc":  # the default
        monkeypatch.setenv("KCOMPILER_FP8_ACCUMULATE", mode)
    x = torch.randn(64, 64).to(torch.float8_e4m3fn)
    y = x.t().contiguous().t()  # K-major already: no k_major launch (there is no GPU here)
    one = torch.tensor(1.0)
    fresh = kc.kernel(fp8_gemm.fn)
    code = fresh.to_triton_code(x, y, one, one, config=kc.Config(block_sizes=[32, 32, 64]))
    (line,) = [ln for ln in code.splitlines() if "tl.dot(" in ln]
    head = form.split("{")[0]
    assert head in line, line
    if mode == "block":
        assert line.count(",") == 1, line  # a fresh accumulator per K block


def test_unknown_fp8_accumulation_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from kcompiler import settings

    monkeypatch.setenv("KCOMPILER_FP8_ACCUMULATE", "sloppy")
    with pytest.raises(ValueError, match="KCOMPILER_FP8_ACCUMULATE='sloppy'.*imprecise_acc"):
        settings.current()
