"""An opt-in pytest plugin for larger differential-testing campaigns: multiplies every
hypothesis test's example count by ``KCOMPILER_EXAMPLES_SCALE`` (default 5), including the
tests whose ``@settings``/``few_examples(n)`` fix a count, which the ``sweep`` and
``thorough`` profiles leave unchanged. Each scaled test draws at random (not derandomized,
no example database), so ``--hypothesis-seed=N`` picks the campaign::

    HYPOTHESIS_PROFILE=sweep KCOMPILER_EXAMPLES_SCALE=5 PYTHONPATH=$PWD:$PWD/tests/strength \\
        python -m pytest -p no:cacheprovider -p scale_examples -q tests/frontend/test_scans.py \\
        --hypothesis-seed=9

``KCOMPILER_EXAMPLES_CAP`` (default 400) bounds a test's scaled count. Not loaded in CI.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

SCALE = float(os.environ.get("KCOMPILER_EXAMPLES_SCALE", "5"))
CAP = int(os.environ.get("KCOMPILER_EXAMPLES_CAP", "400"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    done: set[int] = set()
    for item in items:
        test = getattr(item, "obj", None)
        if test is None or not hasattr(test, "hypothesis") or id(test) in done:
            continue
        done.add(id(test))
        # hypothesis keeps a test's @settings in this attribute and reads it at each call;
        # it has no public way to change a decorated test's settings.
        current = test._hypothesis_internal_use_settings
        count = min(CAP, max(current.max_examples + 1, int(current.max_examples * SCALE)))
        test._hypothesis_internal_use_settings = settings(
            current, max_examples=count, derandomize=False, database=None
        )
