"""The per-call fast path: its key separates every call that needs another compiled variant,
and calls that share a key share the entry (and give correct results)."""

from __future__ import annotations

import gc
import weakref

import pytest
import torch

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.runtime.fastpath import MISSING, fingerprint, make_key
from kcompiler.runtime.kernel import interpreting


@kc.kernel()
def scale(x: torch.Tensor, factor: float, n_rows: int) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] * factor
    return out


def test_key_separates_what_a_launch_specializes_on() -> None:
    key = make_key(0, ["x", "n", "glob", "C"], constexprs=["C"])
    base = torch.zeros(64)
    cfg = kc.Config(block_sizes=[16])
    k = key({"x": base[:32], "n": 3, "C": 2}, cfg)
    assert k == key({"x": torch.ones(64)[:32], "n": 3, "C": 2}, cfg)  # same metadata
    assert k[4] is MISSING  # a global: not in the host's locals
    others = [
        key({"x": base[:31], "n": 3, "C": 2}, cfg),  # shape
        key({"x": base[::2], "n": 3, "C": 2}, cfg),  # stride
        key({"x": base[1:33], "n": 3, "C": 2}, cfg),  # 16-byte alignment
        key({"x": base[:32].double(), "n": 3, "C": 2}, cfg),  # dtype
        key({"x": base[:32], "n": 4, "C": 2}, cfg),  # an int's value
        key({"x": base[:32], "n": 3, "C": 3}, cfg),  # a constexpr
        key({"x": base[:32], "n": 3, "C": 2, "glob": 1}, cfg),  # a local shadows a global
        key({"x": base[:32], "n": 3, "C": 2}, kc.Config(block_sizes=[32])),  # the config
        make_key(1, ["x", "n", "glob", "C"], ["C"])({"x": base[:32], "n": 3, "C": 2}, cfg),
    ]
    assert all(o != k for o in others)
    assert key({"x": base[:32], "n": 3.0, "C": 2}, cfg) == key(
        {"x": base[:32], "n": 5.0, "C": 2}, cfg
    )  # floats are runtime scalars: their value is not specialized


def test_calls_with_the_same_metadata_share_one_entry() -> None:
    scale.clear_caches()
    a = torch.randn(40)
    torch.testing.assert_close(scale(a, 2.0, 1), a * 2.0)
    b = torch.randn(40)
    torch.testing.assert_close(scale(b, 3.0, 1), b * 3.0)
    assert scale.fast_path_stats().entries == 1
    c = torch.randn(41)[1:]  # same shape, misaligned: another specialization
    torch.testing.assert_close(scale(c, 0.5, 1), c * 0.5)
    assert scale.fast_path_stats().entries == 2
    d = torch.randn(80)[::2]  # strided
    torch.testing.assert_close(scale(d, 1.5, 1), d * 1.5)
    assert scale.fast_path_stats().entries == 3


def test_a_wrong_device_is_caught_on_a_fast_path_miss_with_the_argument_name() -> None:

    if not interpreting():
        pytest.skip("CPU tensors are accepted only under the interpreter")
    scale(torch.randn(8), 1.0, 1)
    entries = scale.fast_path_stats().entries
    for _ in range(2):  # and again: a failed check leaves no entry behind
        with pytest.raises(kc.exc.InvalidArgument, match="argument 'x' is on 'meta'"):
            scale(torch.empty(8, device="meta"), 1.0, 1)
    assert scale.fast_path_stats().entries == entries


def test_fingerprint_keys_tensors_on_16_byte_alignment_not_address():
    """Two tensors of one layout share a key whatever their addresses; a view that starts 4
    bytes into a 16-byte-aligned buffer does not (Triton specializes on 16-byte alignment)."""

    base = torch.zeros(65)
    assert fingerprint(base[:64]) == fingerprint(torch.zeros(65)[:64])
    assert fingerprint(base[1:]) != fingerprint(base[:64])
    assert fingerprint([base[1:]]) != fingerprint([base[:64]])


@kc.kernel
def _affine_from_tuple(x: torch.Tensor, coeffs: tuple) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] * coeffs[0] + coeffs[1]
    return out


def test_floats_inside_a_tuple_argument_are_keyed_by_value() -> None:
    """Device code bakes a tuple's values in; a fast-path hit must not serve (1.0, 0.5)'s
    launch to (2.0, 0.5), nor 1 to 1.0 (another dtype) or 0.0 to -0.0."""
    x = torch.randn(37)
    for coeffs in [(1.0, 0.5), (2.0, 0.5), (2.0, 3.0), (2.0, -0.0), [2.0, 3.0]]:
        got = _affine_from_tuple(x, coeffs)
        torch.testing.assert_close(got, x * coeffs[0] + coeffs[1])


@kc.kernel
def _offset_by_container_kind(x: torch.Tensor, coeffs: tuple | list) -> torch.Tensor:
    # Host code may tell a list from a tuple: the fast path must too.
    shift = 1.0 if isinstance(coeffs, tuple) else 2.0
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] * coeffs[0] + shift
    return out


def test_a_list_and_a_tuple_of_equal_values_are_keyed_apart() -> None:
    x = torch.randn(37)
    torch.testing.assert_close(_offset_by_container_kind(x, (2.0, 0.5)), x * 2.0 + 1.0)
    torch.testing.assert_close(_offset_by_container_kind(x, [2.0, 0.5]), x * 2.0 + 2.0)
    assert fingerprint((2.0, 0.5)) != fingerprint([2.0, 0.5])


class _Params:
    def __init__(self, scale: float):
        self.scale = scale


@kc.kernel
def _scaled_by_attribute(x: torch.Tensor, p: object) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] * p.scale  # type: ignore[attr-defined]
    return out


def test_an_object_made_per_call_is_never_served_another_ones_trace() -> None:
    """Device code bakes in an object's attributes; objects made per call are freed and the
    next one often gets the same address, so keying by id served it the old object's code."""
    x = torch.randn(37)
    for scale in (1.0, 2.0, 3.0, 4.0):
        torch.testing.assert_close(_scaled_by_attribute(x, _Params(scale)), x * scale)
    # Whether an address is reused is up to the allocator; what rules it out is that the keys
    # hold the objects they were made for, so none is freed while its key exists.
    p = _Params(5.0)
    ref = weakref.ref(p)
    torch.testing.assert_close(_scaled_by_attribute(x, p), x * 5.0)
    del p
    gc.collect()
    assert ref() is not None
