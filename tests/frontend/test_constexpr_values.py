"""``kl.constexpr(value)`` made in host code or passed at the call: device code sees the
wrapped value, baked into the compiled code, and each value gets its own variant.

A wrapper read as itself would be a Python object that is always true and never equal to
another call's wrapper: ``if flag:`` in device code took the first branch whatever the value
(a silent wrong result), and every call traced again."""

from __future__ import annotations

import torch

import kcompiler as kc
import kcompiler.language as kl


@kc.kernel
def pick_in_body(x: torch.Tensor, flag: bool) -> torch.Tensor:
    take_if = kl.constexpr(flag)
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        if take_if:
            out[tile] = x[tile] + 1.0
        else:
            out[tile] = x[tile] + 2.0
    return out


@kc.kernel
def scale_by(x: torch.Tensor, factor: kl.constexpr) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] * factor
    return out


def test_a_host_constexpr_decides_the_branch_by_its_value() -> None:
    x = torch.zeros(64)
    cfg = kc.Config(block_sizes=[32])
    torch.testing.assert_close(pick_in_body.bind(x, True).run(cfg), x + 1.0)
    torch.testing.assert_close(pick_in_body.bind(x, False).run(cfg), x + 2.0)
    # Through the kernel's own call path (fast path, variant cache) too, in both orders.
    for flag, want in [(False, 2.0), (True, 1.0), (False, 2.0)]:
        torch.testing.assert_close(pick_in_body(x, flag), x + want)


def test_a_constexpr_passed_at_the_call_is_its_value() -> None:
    x = torch.arange(16, dtype=torch.float32)
    torch.testing.assert_close(scale_by(x, kl.constexpr(3.0)), x * 3.0)
    torch.testing.assert_close(scale_by(x, kl.constexpr(0.5)), x * 0.5)
    torch.testing.assert_close(scale_by(x, 2.0), x * 2.0)


def test_equal_wrappers_share_a_variant() -> None:
    x = torch.zeros(32)
    pick_in_body.clear_caches(variants=True, traces=True)
    for flag in (True, False, True, False):
        pick_in_body(x, flag)
    assert len(pick_in_body.compiled_variants()) == 2


def test_the_wrapper_acts_as_its_value_in_host_code() -> None:
    assert not kl.constexpr(False) and kl.constexpr(1)
    assert [10, 20, 30][kl.constexpr(1)] == 20
    assert kl.constexpr(4) == kl.constexpr(4) and hash(kl.constexpr(4)) == hash(kl.constexpr(4))
    assert kl.constexpr(4) != kl.constexpr(5) and kl.constexpr(1) != kl.constexpr(True)
    assert kl.constexpr(0.0) != kl.constexpr(-0.0)
    assert hash(kl.constexpr([1, 2])) == hash(kl.constexpr([1, 2]))
    assert repr(kl.constexpr(2.5)) == "constexpr(2.5)"
