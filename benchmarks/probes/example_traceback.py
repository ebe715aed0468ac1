"""One Helion example, run in this process with its full traceback (the report keeps a line).

python -m benchmarks.probes.example_traceback welford [--helion-repo build/helion]
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import traceback
from pathlib import Path

from benchmarks import helion_examples as report
from benchmarks import helion_shim

parser = argparse.ArgumentParser()
parser.add_argument("name")
parser.add_argument("--helion-repo", type=Path, default=report.DEFAULT_HELION)
opts = parser.parse_args()
staged = Path(tempfile.mkdtemp())
report.stage(report.HelionSource(opts.helion_repo, report.DEFAULT_COMMIT), [opts.name], staged)
sys.path.insert(0, str(staged))
namespace = vars(importlib.import_module("examples." + opts.name.replace("/", ".")))
namespace.setdefault("assert_outputs_close", helion_shim.assert_outputs_close)
namespace.setdefault("DEVICE", helion_shim.DEVICE)
try:
    exec(report.EXAMPLES[opts.name].call or "main()", namespace)
    print("PASS")
except BaseException:  # noqa: BLE001 - the point is to print it
    traceback.print_exc()
