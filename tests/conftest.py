"""Test configuration: the CPU interpreter, and hypothesis profiles (`ci`, `sweep`, `thorough`)."""

from __future__ import annotations

import os

os.environ.setdefault("TRITON_INTERPRET", "1")

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "ci",
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# `ci`'s examples are fixed; `sweep` draws as many, differently for each
# `--hypothesis-seed=N`, for a local sweep over seeds (HYPOTHESIS_PROFILE=sweep).
settings.register_profile(
    "sweep",
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def descriptor_checks(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """What the launcher's tensor-descriptor guard decided, one entry per launch (True: the
    descriptor kernel ran, False: the pointer fallback)."""
    from kcompiler.backends.triton import indexing

    seen: list[bool] = []
    original = indexing.descriptor_check

    def spy(*a, **k):  # noqa: ANN002, ANN003, ANN202
        ok = original(*a, **k)

        def record(args) -> bool:  # noqa: ANN001
            seen.append(ok(args))
            return seen[-1]

        return record

    monkeypatch.setattr(indexing, "descriptor_check", spy)
    return seen
