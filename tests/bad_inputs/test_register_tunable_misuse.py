"""Misuse of ``kl.register_tunable``: each error names the line of the call."""

from __future__ import annotations

import pytest
import torch

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.autotuner import IntegerFragment
from kcompiler.exc import CompileError, UnsupportedConstruct


def _line(fn, marker: str) -> str:
    import inspect

    lines, start = inspect.getsourcelines(fn.fn)
    hit = [start + i for i, s in enumerate(lines) if f"# <- {marker}" in s]
    return f"test_register_tunable_misuse.py:{hit[0]}"


@kc.kernel
def not_a_fragment(x: torch.Tensor) -> torch.Tensor:
    k = kl.register_tunable("misuse_a", 3)  # <- not-a-fragment
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] * k
    return out


@kc.kernel
def field_name(x: torch.Tensor) -> torch.Tensor:
    k = kl.register_tunable("num_warps", IntegerFragment(1, 4))  # <- field-name
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] * k
    return out


@kc.kernel
def two_domains(x: torch.Tensor) -> torch.Tensor:
    k = kl.register_tunable("misuse_b", IntegerFragment(1, 4))
    j = kl.register_tunable("misuse_b", IntegerFragment(1, 8))  # <- two-domains
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] * k * j
    return out


@kc.kernel
def in_device_code(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        k = kl.register_tunable("misuse_c", IntegerFragment(1, 4))  # <- in-device-code
        out[tile] = x[tile] * k
    return out


@pytest.mark.parametrize(
    ("kernel", "marker", "error", "match"),
    [
        (not_a_fragment, "not-a-fragment", CompileError, "must be a fragment"),
        (field_name, "field-name", CompileError, "collides with the Config field"),
        (two_domains, "two-domains", CompileError, "already registered by this kernel"),
        (in_device_code, "in-device-code", UnsupportedConstruct, "declare the tunable in host"),
    ],
)
def test_misuse_names_the_line(kernel, marker, error, match) -> None:
    with pytest.raises(error, match=match) as info:
        kernel(torch.randn(5))
    assert _line(kernel, marker) in str(info.value)


def test_outside_a_kernel() -> None:
    with pytest.raises(kc.exc.NotInKernel, match="kl.register_tunable"):
        kl.register_tunable("misuse_d", IntegerFragment(1, 4))
