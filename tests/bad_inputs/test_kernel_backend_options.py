"""Helion's kernel options that choose a code generator or a matmul precision: what kcompiler
has is accepted ("triton", dot_precision values), anything else is refused naming the line."""

from __future__ import annotations

import inspect

import pytest
import torch

import kcompiler as kc
import kcompiler.language as kl


def _mul(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty([x.size(0), y.size(1)], dtype=torch.float32)
    for tm, tn in kl.tile([x.size(0), y.size(1)]):
        acc = kl.zeros([tm, tn], dtype=torch.float32)
        for tk in kl.tile(x.size(1)):
            acc = acc + x[tm, tk] @ y[tk, tn]
        out[tm, tn] = acc
    return out


def test_other_backends_are_refused_naming_the_kernel_line() -> None:
    with pytest.raises(kc.exc.UnsupportedConstruct, match=r"not supported: backend='cute'") as e:
        kc.kernel(backend="cute")(_mul)
    line = inspect.getsourcelines(_mul)[1]
    assert f"test_kernel_backend_options.py:{line}" in str(e.value)


def test_triton_backend_is_the_default() -> None:
    x, y = torch.randn(5, 7), torch.randn(7, 3)
    torch.testing.assert_close(kc.kernel(backend="triton")(_mul)(x, y), x @ y)


def test_dot_precision_sets_the_float32_dot_precision() -> None:
    x, y = torch.randn(16, 16), torch.randn(16, 16)
    for precision in ("ieee", "tf32", "tf32x3"):
        k = kc.kernel(dot_precision=precision)(_mul)
        ((source, _, _),) = k.generated_launches((x, y), {}, kc.Config(), interpret=False)
        assert f'input_precision="{precision}"' in source
    with pytest.raises(kc.exc.UnknownOption, match=r"dot_precision 'tf33' \(did you mean"):
        kc.kernel(dot_precision="tf33")(_mul)
