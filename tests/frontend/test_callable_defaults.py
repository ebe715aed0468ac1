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


@kc.kernel
def tiled_epilogue(
    x: torch.Tensor,
    epilogue: Callable[[torch.Tensor, tuple], torch.Tensor] = lambda acc, tile: acc,
) -> torch.Tensor:
    out = torch.empty_like(x)
    for tm, tn in kl.tile(x.size()):
        out[tm, tn] = epilogue(x[tm, tn] * 2, (tm, tn))
    return out


def _with_bias(bias: torch.Tensor) -> Callable[[torch.Tensor, tuple], torch.Tensor]:
    return lambda acc, tile: acc + bias[tile[1]]


def _scaled(scale: float) -> Callable[[torch.Tensor, tuple], torch.Tensor]:
    return lambda acc, tile: acc * scale


def test_tensors_in_a_lambdas_closure_are_kernel_arguments() -> None:
    """matmul's ``epilogue=lambda acc, tile: acc + bias[tile[1]]``: the closure's tensor is
    indexed by a tile in device code; each call reads the closure it is given."""
    x = torch.randn(7, 9)
    for _ in range(3):
        bias = torch.randn(9)
        torch.testing.assert_close(tiled_epilogue(x, _with_bias(bias)), x * 2 + bias)
    half = torch.randn(9).half()
    torch.testing.assert_close(
        tiled_epilogue(x, _with_bias(half)), x * 2 + half.float(), atol=1e-3, rtol=1e-3
    )
    y, b = torch.randn(5, 3), torch.randn(3)
    torch.testing.assert_close(tiled_epilogue(y, _with_bias(b)), y * 2 + b)


def test_one_variant_per_lambda_code_and_closure_kind() -> None:
    """Fresh lambdas of one expression whose closures hold tensors of one kind share a
    fast-path entry; a closure float is a baked constant, so each value is its own."""
    x = torch.randn(6, 5)
    tiled_epilogue.clear_caches(variants=True, traces=True)
    for _ in range(3):
        tiled_epilogue(x, _with_bias(torch.randn(5)))
    assert tiled_epilogue.fast_path_stats().entries == 1
    for scale in (2.0, 3.0, 2.0):
        torch.testing.assert_close(tiled_epilogue(x, _scaled(scale)), x * 2 * scale)
    assert tiled_epilogue.fast_path_stats().entries == 3


def test_a_lambdas_default_values_are_part_of_its_key() -> None:
    x = torch.randn(4, 6)
    for scale in (2.0, 5.0):
        got = tiled_epilogue(x, lambda acc, tile, s=scale: acc * s)
        torch.testing.assert_close(got, x * 2 * scale)
