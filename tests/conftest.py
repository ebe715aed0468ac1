"""Test configuration: the CPU interpreter, and hypothesis profiles (`ci`, `sweep`, `thorough`)."""

from __future__ import annotations

import os

os.environ.setdefault("TRITON_INTERPRET", "1")

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

# Profiles (HYPOTHESIS_PROFILE=...):
# - `ci` (the default): 8 examples per property, derandomized, so every run tries the same
#   inputs. The row-kernel and chunked-reduction properties are stratified
#   (kcompiler.testing_values): one case per stratum (value regime x size band x dtype), the 8
#   examples shared among them, so even ci's few examples span every regime and band.
#   KCOMPILER_TEST_SEED=N (default 0) pairs the strata differently and picks other first
#   examples; ci stays reproducible for a given N.
# - `sweep`: as many examples, not derandomized: `--hypothesis-seed=N` varies the
#   unstratified properties; with KCOMPILER_TEST_SEED=N it is the local sweep over seeds of
#   tests/strength/README.md.
# - `thorough`: 200 examples per property (25 per stratum), random each run; run it before
#   resolving an issue that touches kernels, passes or the testing strategies:
#   HYPOTHESIS_PROFILE=thorough python -m pytest tests/kernels tests/passes (25 times the
#   ci examples of each property: long on two cores, so not in CI).
settings.register_profile(
    "ci",
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under mutmut (tests/strength/run_mutation.py; it sets ``MUTANT_UNDER_TEST`` and runs
    from ``mutants/``, beside its ``mutmut-stats.json``), run a mutant's tests fastest first:
    mutmut passes them in set order and stops at the first failure, so a mutant that the
    FileCheck probe kills in milliseconds need not wait for a kernel test. Elsewhere a no-op."""
    if not os.environ.get("MUTANT_UNDER_TEST") or not os.path.exists("mutmut-stats.json"):
        return
    import json

    with open("mutmut-stats.json") as f:
        durations = json.load(f)["duration_by_test"]
    items.sort(key=lambda item: durations.get(item.nodeid, 0.0))
