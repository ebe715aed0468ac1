"""Planted bugs the suite must catch: the test-strength check (tests/strength/README.md).

Each plant is one plausible bug, written as a text replacement in one source file, with the
test files that must fail once it is planted. ``python tests/strength/test_plants.py`` copies
the package and tests into a temporary directory, plants each bug in turn, runs its tests
there and reports which plants survived (exit status 1 if any did). Under pytest this module
only checks that every plant still applies (its text occurs exactly once), so a refactor that
moves the code makes this test fail instead of silently retiring the plant.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Plant:
    name: str
    path: str  # relative to the repository root
    old: str
    new: str
    tests: tuple[str, ...]  # pytest node ids or files; at least one must fail


PLANTS: tuple[Plant, ...] = (
    Plant(
        "online softmax never rescales half-precision rows",
        "kcompiler/passes/split_reductions.py",
        '                alpha = add(t.UnaryOp("exp", add(t.BinaryOp("sub", a_old, a_new))))\n',
        '                alpha = add(t.UnaryOp("exp", add(t.BinaryOp("sub", a_old, a_new))))\n'
        "                if isinstance(r.sub.lhs.owner, t.CastOp):  # half rows were widened\n"
        '                    alpha = add(t.UnaryOp("exp", add(t.BinaryOp("sub", a_new, a_new))))\n',
        ("tests/passes/test_split_reductions.py",),
    ),
    Plant(
        "the tuner's wrong-result gate is disabled",
        "kcompiler/runtime/tuning.py",
        "            if not outputs_match(got, want):\n",
        "            if False and not outputs_match(got, want):\n",
        ("tests/autotune/test_tuning_end_to_end.py",),
    ),
    Plant(
        "the tuning cache key leaves out the dtype",
        "kcompiler/runtime/tuning.py",
        "            return (tuple(a.shape), str(a.dtype), tuple(a.stride()), a.device.type)\n",
        "            return (tuple(a.shape), tuple(a.stride()), a.device.type)\n",
        ("tests/autotune/test_tuning_end_to_end.py",),
    ),
    Plant(
        "softmax is lowered without subtracting the row max",
        "kcompiler/frontend/tracer.py",
        '        shifted = self.binary("sub", x, m)\n',
        "        shifted = x\n",
        ("tests/kernels/test_reference_kernels.py::test_row_kernels_in_every_value_regime",),
    ),
    Plant(
        "masked lanes of a max reduction hold 0 instead of -inf",
        "kcompiler/backends/triton/codegen.py",
        "            neutral = self._NEUTRAL[kind]\n",
        '            neutral = "0.0" if kind == "max" else self._NEUTRAL[kind]\n',
        ("tests/kernels/test_reference_kernels.py::test_row_kernels_in_every_value_regime",),
    ),
)


@pytest.mark.parametrize("plant", PLANTS, ids=lambda p: p.name)
def test_plant_still_applies(plant: Plant) -> None:
    text = (ROOT / plant.path).read_text()
    assert text.count(plant.old) == 1, (
        f"the code of plant {plant.name!r} moved: update tests/strength/test_plants.py"
    )
    for test in plant.tests:
        assert (ROOT / test.split("::")[0]).is_file(), f"{test} does not exist"


def run_plant(plant: Plant, workers: str = "2") -> tuple[bool, float]:
    """(caught, seconds): plant the bug in a copy of the tree and run its tests there."""
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kc-plant-") as tmp:
        for part in ("kcompiler", "tests", "tools", "pyproject.toml"):
            src = ROOT / part
            (shutil.copytree if src.is_dir() else shutil.copy)(src, Path(tmp) / part)
        target = Path(tmp) / plant.path
        text = target.read_text()
        assert text.count(plant.old) == 1, plant.name
        target.write_text(text.replace(plant.old, plant.new))
        env = dict(os.environ, PYTHONPATH=tmp, HYPOTHESIS_PROFILE="ci")
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-n", workers]
            + list(plant.tests),
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    # -x under xdist exits 2 (interrupted) after the first failure: read pytest's summary line.
    caught = re.search(r"\b\d+ failed\b", proc.stdout) is not None
    return caught, time.monotonic() - start


def main() -> int:
    survived = 0
    for plant in PLANTS:
        caught, seconds = run_plant(plant)
        survived += not caught
        print(f"{'caught  ' if caught else 'SURVIVED'} {seconds:6.1f} s  {plant.name}", flush=True)
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
