"""A lambda among a kernel's default arguments (Helion's ``epilogue=lambda acc, tile: acc``)
is host code that device code calls: its parameters are its own names, not reads of the
device loop's variables of the same names."""

from __future__ import annotations

from collections.abc import Callable

import torch

import kcompiler as kc
import kcompiler.language as kl


@kc.kernel
def with_epilogue(
    x: torch.Tensor,
    epilogue: Callable[[torch.Tensor, tuple], torch.Tensor] = lambda acc, tile: acc,
) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        acc = x[tile] * 2
        out[tile] = epilogue(acc, (tile,))
    return out


def test_default_lambda_whose_parameters_shadow_device_names() -> None:
    x = torch.randn(37)
    torch.testing.assert_close(with_epilogue(x), x * 2)


def test_a_lambda_argument_is_called_from_device_code() -> None:
    x = torch.randn(37)
    torch.testing.assert_close(with_epilogue(x, lambda acc, tile: acc + 1), x * 2 + 1)


@kc.kernel
def reads_device_name(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        acc = x[tile]
        out[tile] = acc
    return acc  # noqa: F821 - the error under test


def test_a_host_read_of_a_device_name_is_still_refused() -> None:
    import pytest

    with pytest.raises(kc.exc.CompileError, match="'acc' is defined inside a device loop"):
        reads_device_name(torch.randn(5))
