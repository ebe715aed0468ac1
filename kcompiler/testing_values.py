"""Value regimes, size bands and strata for kernel tests: the inputs standard normal rows miss.

Kernels that are right for ``randn`` rows at scale 1 still go wrong on the inputs real models
feed them, and each regime here stands for one such bug:

- ``large``: values scaled by 50 to 1e4. ``exp`` of an unshifted row overflows, sums of
  squares lose precision; a softmax that forgot to subtract the row max returns NaN.
- ``negative`` / ``positive``: every value of a row has one sign (``|x| + shift``). A max whose
  masked lanes hold 0 instead of -inf is wrong only for all-negative rows; a min, only for
  all-positive ones; a shift of the mean exposes cancellation in a variance.
- ``nonfinite``: a few NaN, +inf and -inf among finite values. The result must match torch's
  (NaN where torch has NaN, the same infinities): an online softmax that rescales by
  ``exp(m_old - m_new)`` with two -inf maxima makes a NaN torch does not.
- ``subnormal``: values below the dtype's smallest normal, which flush-to-zero or an ``eps``
  added at the wrong place turns into another result.
- ``normal``: standard normal, the regime every other test already uses.

Size bands say which extents a dimension may take: ``small`` (1 to 64: off-by-one masks),
``mid`` (65 to 999) and ``wide`` (1001 to 4096: several blocks or chunks, not a power of two),
``pow2`` (2^k - 1, 2^k and 2^k + 1: one lane short of a block, exactly one, one lane into an
extra block).

A ``Stratum`` fixes a regime, a band and a dtype; ``strata(count, seed)`` pairs them so that
``count`` strata (at least as many as regimes and bands) cover every regime and every band.
Tests parametrize over the strata and let hypothesis draw the rest; since hypothesis tries the
simplest example first (and a small example budget may run only that one), a stratum also
carries an ``offset`` that rotates which size, layout and parameter counts as "simplest", so
that the first example of each stratum differs, and another ``seed`` gives other first
examples (``KCOMPILER_TEST_SEED``, read by ``test_seed``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import torch
from hypothesis import settings
from hypothesis import strategies as st

from kcompiler import settings as settings_module

__all__ = [
    "REGIMES",
    "SIZE_BANDS",
    "Stratum",
    "apply_regime",
    "band_sizes",
    "examples_per_stratum",
    "regime_parameters",
    "strata",
    "stratified",
    "test_seed",
]

REGIMES: tuple[str, ...] = ("normal", "large", "negative", "positive", "nonfinite", "subnormal")

SIZE_BANDS: tuple[str, ...] = ("small", "mid", "wide", "pow2")

_BAND_RANGES: dict[str, tuple[int, int]] = {
    "small": (1, 64),
    "mid": (65, 999),
    "wide": (1001, 4096),
}

# 2^k - 1, 2^k, 2^k + 1 for k = 1..12 (3 to 4097; 1 and 2 are in `small`).
_POW2_SIZES: tuple[int, ...] = tuple(
    sorted({n for k in range(1, 13) for n in (2**k - 1, 2**k, 2**k + 1) if n >= 3})
)

# The parameter a regime draws: a scale for `large`, a shift for `negative`/`positive`, the
# fraction of non-finite elements for `nonfinite`.
_PARAMETERS: dict[str, tuple[float, ...]] = {
    "normal": (1.0,),
    "large": (50.0, 300.0, 2000.0, 1e4),
    "negative": (0.5, 4.0, 30.0, 100.0),
    "positive": (0.5, 4.0, 30.0, 100.0),
    "nonfinite": (0.02, 0.2),
    "subnormal": (1.0,),
}


def test_seed() -> int:
    """The seed that rotates strata and first examples: ``KCOMPILER_TEST_SEED`` (default 0).

    Fixed by default so CI runs the same examples every time; a local sweep sets it to
    1, 2, ... to run other ones (``tests/strength/README.md``)."""
    return settings_module.current().test_seed


test_seed.__test__ = False  # type: ignore[attr-defined]  # pytest: not a test


def _rotated(options: Sequence, offset: int) -> tuple:
    k = offset % len(options)
    return tuple(options[k:]) + tuple(options[:k])


def band_sizes(band: str, *, max_side: int = 4097, offset: int = 0) -> st.SearchStrategy[int]:
    """Extents in ``band`` (see ``SIZE_BANDS``) up to ``max_side``; ``offset`` rotates the
    band so that its simplest example (the one hypothesis tries first) is not its lower end.

    A band that ``max_side`` cuts off entirely falls back to its sizes below the cap, and to
    ``small`` when none are left, so a tight numel budget still yields a valid size."""
    if band == "pow2":
        options = [n for n in _POW2_SIZES if n <= max_side]
        if options:
            return st.sampled_from(_rotated(options, offset))
        band = "small"
    if band not in _BAND_RANGES:
        raise ValueError(f"unknown size band {band!r}; known: {SIZE_BANDS}")
    lo, hi = _BAND_RANGES[band]
    hi = min(hi, max_side)
    if hi < lo:
        lo, hi = 1, max(1, min(64, max_side))
    width = hi - lo + 1
    return st.integers(0, width - 1).map(lambda k: lo + (k + offset) % width)


def regime_parameters(regime: str, offset: int = 0) -> st.SearchStrategy[float]:
    """The regime's parameter (scale, shift or non-finite fraction), rotated by ``offset``."""
    if regime not in _PARAMETERS:
        raise ValueError(f"unknown value regime {regime!r}; known: {REGIMES}")
    return st.sampled_from(_rotated(_PARAMETERS[regime], offset))


def apply_regime(
    x: torch.Tensor, regime: str, parameter: float, dtype: torch.dtype, gen: torch.Generator
) -> torch.Tensor:
    """``x`` (float32 standard normal) moved into ``regime``, ready to be cast to ``dtype``.

    The values stay finite in ``dtype`` except for the ``nonfinite`` regime's NaN and
    infinities: a ``large`` scale is capped so that 6 standard deviations fit the dtype."""
    if regime == "normal":
        return x
    if regime == "large":
        cap = torch.finfo(dtype).max / 6 if dtype.is_floating_point else parameter
        return x * min(parameter, cap)
    if regime == "negative":
        return -(x.abs() + parameter)
    if regime == "positive":
        return x.abs() + parameter
    if regime == "subnormal":
        # |x| < 1 lands below the dtype's smallest normal (about two thirds of the values).
        tiny = torch.finfo(dtype).tiny if dtype.is_floating_point else 1.0
        return x * tiny
    if regime == "nonfinite":
        if x.numel() == 0:
            return x
        flat = x.flatten().clone()
        count = max(1, round(parameter * flat.numel()))
        where = torch.randperm(flat.numel(), generator=gen)[:count]
        which = torch.randint(0, 3, (count,), generator=gen)
        specials = torch.tensor([float("nan"), float("inf"), -float("inf")])
        flat[where] = specials[which]
        return flat.reshape(x.shape)
    raise ValueError(f"unknown value regime {regime!r}; known: {REGIMES}")


@dataclass(frozen=True)
class Stratum:
    """One cell of a stratified draw: a value regime, a size band and a dtype, and the
    ``offset`` that rotates which example of the cell hypothesis tries first."""

    regime: str
    band: str
    dtype: torch.dtype
    offset: int

    def __str__(self) -> str:
        return f"{self.regime}-{self.band}-{str(self.dtype).removeprefix('torch.')}"

    def sizes(self, *, max_side: int = 4097) -> st.SearchStrategy[int]:
        """Extents of this stratum's band."""
        return band_sizes(self.band, max_side=max_side, offset=self.offset)

    def parameters(self) -> st.SearchStrategy[float]:
        """This stratum's regime parameter."""
        return regime_parameters(self.regime, self.offset)

    def rotate(self, options: Sequence) -> tuple:
        """``options`` starting at this stratum's offset (for ``st.sampled_from``)."""
        return _rotated(options, self.offset)


def strata(
    count: int = 8,
    *,
    seed: int | None = None,
    regimes: Sequence[str] = REGIMES,
    bands: Sequence[str] = SIZE_BANDS,
    dtypes: Sequence[torch.dtype] = (torch.float32, torch.float16, torch.bfloat16),
    avoid: Collection[tuple[str, torch.dtype]] = (),
) -> list[Stratum]:
    """``count`` strata that cover every regime, band and dtype (when ``count`` is at least
    as large as each list): stratum ``i`` takes the ``(i + a)``-th regime, the ``(i + b)``-th
    band and the ``(i + c)``-th dtype, with ``a, b, c`` and the offsets drawn from ``seed``
    (default ``test_seed()``), so another seed pairs them differently.

    ``avoid`` lists (regime, dtype) pairs no stratum may hold (a platform that cannot run
    them): the dtype rotation ``c`` is the first, in the seed's order, that pairs none."""
    rng = random.Random(test_seed() if seed is None else seed)
    a, b = rng.randrange(len(regimes)), rng.randrange(len(bands))
    rotations = rng.sample(range(len(dtypes)), len(dtypes))
    bad = set(avoid)
    fits = [
        c
        for c in rotations
        if not any(
            (regimes[(i + a) % len(regimes)], dtypes[(i + c) % len(dtypes)]) in bad
            for i in range(count)
        )
    ]
    if not fits:
        raise ValueError(f"no pairing of {count} strata avoids {sorted(map(str, bad))}")
    c = fits[0]
    return [
        Stratum(
            regime=regimes[(i + a) % len(regimes)],
            band=bands[(i + b) % len(bands)],
            dtype=dtypes[(i + c) % len(dtypes)],
            offset=rng.randrange(2**16),
        )
        for i in range(count)
    ]


def examples_per_stratum(max_examples: int, count: int) -> int:
    """A profile's example budget shared among ``count`` strata (at least one each), so a
    stratified test costs about what one unstratified property costs under that profile."""
    return max(1, max_examples // count)


def stratified(cells: Sequence[Stratum]) -> Callable[[Callable], Callable]:
    """Decorate a hypothesis test ``test(stratum, ...)`` (put it above ``@given``) to run once
    per stratum of ``cells``, each with its share of the loaded profile's example budget
    (``examples_per_stratum``), as a pytest parameter named after the stratum."""
    import pytest  # a test-time dependency, like hypothesis

    budget = examples_per_stratum(settings.default.max_examples, len(cells))

    def wrap(test: Callable) -> Callable:
        return pytest.mark.parametrize("stratum", list(cells), ids=str)(
            settings(max_examples=budget)(test)
        )

    return wrap
