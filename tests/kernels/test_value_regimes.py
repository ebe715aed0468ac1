"""The value regimes, size bands and strata of kcompiler.testing_values do what they say.

A regime that silently produced standard normal rows, or strata that missed a band, would let
the stratified kernel properties pass without testing anything new; these checks are cheap
(no kernel runs).
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import Phase, find, settings
from hypothesis import strategies as st

from kcompiler.testing import assert_matches_torch, tensors
from kcompiler.testing_values import (
    REGIMES,
    SIZE_BANDS,
    apply_regime,
    band_sizes,
    examples_per_stratum,
    strata,
    test_seed,
)

DTYPES = (torch.float32, torch.float16, torch.bfloat16)


def first(strategy: st.SearchStrategy):  # noqa: ANN201
    """The example hypothesis tries first (the simplest one)."""
    return find(
        strategy,
        lambda _: True,
        settings=settings(max_examples=1, phases=[Phase.generate], database=None),
    )


def values(regime: str, dtype: torch.dtype, parameter: float, n: int = 4000) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(8, n, generator=g)
    return apply_regime(x, regime, parameter, dtype, g).to(dtype).float()


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_each_regime_moves_the_values(dtype: torch.dtype) -> None:
    big = values("large", dtype, 1e4)
    assert torch.isfinite(big).all() and big.abs().max() > 1e4  # scaled, still finite
    neg, pos = values("negative", dtype, 0.5), values("positive", dtype, 30.0)
    assert (neg < 0).all() and (pos >= 30).all()  # every row one sign, shifted
    bad = values("nonfinite", dtype, 0.02)
    assert torch.isnan(bad).any() and (bad == float("inf")).any() and (bad == -float("inf")).any()
    assert torch.isfinite(bad).float().mean() > 0.9  # a few specials among finite values
    sub = values("subnormal", dtype, 1.0)
    tiny = torch.finfo(dtype).tiny
    subnormal = (sub != 0) & (sub.abs() < tiny)
    assert subnormal.float().mean() > 0.5, "most values must be subnormal in the dtype"
    assert torch.equal(
        values("normal", dtype, 1.0), values("normal", torch.float32, 1.0).to(dtype).float()
    )


def test_tensors_apply_the_regime_to_every_layout() -> None:
    for layout in ("contiguous", "transposed", "strided", "expanded"):
        x = first(tensors((5, 33), regime="negative", parameter=2.0, layouts=[layout]))
        assert (x <= -2.0).all(), layout
    with pytest.raises(ValueError, match="unknown value regime"):
        tensors((3,), regime="huge")


@pytest.mark.parametrize("band", SIZE_BANDS)
def test_band_sizes_stay_in_their_band(band: str) -> None:
    lo, hi = {"small": (1, 64), "mid": (65, 999), "wide": (1001, 4096), "pow2": (3, 4097)}[band]
    seen = {first(band_sizes(band, offset=k)) for k in range(40)}
    assert all(lo <= n <= hi for n in seen), seen
    assert len(seen) > 5, "offsets must change the first example"
    if band == "pow2":
        assert all(
            min(abs(n - 2 ** (n.bit_length() - 1)), abs(n + 1 - 2 ** n.bit_length())) <= 1
            for n in seen
        )
    capped = first(band_sizes(band, max_side=50, offset=7))
    assert 1 <= capped <= 50


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 17])
def test_strata_cover_every_regime_band_and_dtype(seed: int) -> None:
    cells = strata(8, seed=seed)
    assert {c.regime for c in cells} == set(REGIMES)
    assert {c.band for c in cells} == set(SIZE_BANDS)
    assert {c.dtype for c in cells} == set(DTYPES)
    avoided = strata(8, seed=seed, avoid=[("subnormal", torch.bfloat16)])
    assert not any(c.regime == "subnormal" and c.dtype == torch.bfloat16 for c in avoided)
    assert {c.regime for c in avoided} == set(REGIMES)
    assert {c.dtype for c in avoided} == set(DTYPES)


def test_the_seed_changes_the_strata(monkeypatch: pytest.MonkeyPatch) -> None:
    assert strata(8, seed=5) == strata(8, seed=5)
    assert strata(8, seed=5) != strata(8, seed=6)
    monkeypatch.setenv("KCOMPILER_TEST_SEED", "6")
    assert test_seed() == 6 and strata(8) == strata(8, seed=6)
    monkeypatch.delenv("KCOMPILER_TEST_SEED")
    assert test_seed() == 0


def test_examples_per_stratum() -> None:
    assert examples_per_stratum(8, 8) == 1
    assert examples_per_stratum(3, 8) == 1
    assert examples_per_stratum(200, 8) == 25


def test_nonfinite_outputs_must_match_torch_position_by_position() -> None:
    """NaN where the reference has NaN, the same infinity where it has one; nothing else."""
    want = torch.tensor([float("nan"), float("inf"), -float("inf"), 1.0])
    assert_matches_torch(lambda: want.clone(), lambda: want.clone())
    for got in (
        torch.tensor([1.0, float("inf"), -float("inf"), 1.0]),  # NaN lost
        torch.tensor([float("nan"), -float("inf"), -float("inf"), 1.0]),  # inf's sign
        torch.tensor([float("nan"), float("nan"), -float("inf"), 1.0]),  # inf became NaN
        torch.tensor([float("nan"), float("inf"), -float("inf"), float("nan")]),  # extra NaN
    ):
        with pytest.raises(AssertionError, match="1 of 4 elements differ"):
            assert_matches_torch(lambda got=got: got, lambda: want.clone())
