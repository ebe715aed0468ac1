"""Why a worker's precompile is not what the main process's first launch loads (GPU only).

Runs tests/runtime/test_fault_isolation.py's scenario: a precompile job of ``scale_rows`` in
a worker process fills an empty Triton cache, then this process launches the same config.
When the launch compiles again, prints the metadata JSON of the worker's entry and of the new
one side by side (their keys differ in what Triton specialized on).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

cache = Path(tempfile.mkdtemp()) / "triton"
os.environ["TRITON_CACHE_DIR"] = str(cache)
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "runtime"))

from test_fault_isolation import _args, scale_rows  # noqa: E402

import kcompiler as kc  # noqa: E402
from kcompiler.autotune.compile_pool import CompilePool  # noqa: E402
from kcompiler.runtime.tuning import KernelTarget  # noqa: E402


def entries() -> dict[str, dict]:
    out = {}
    for d in cache.iterdir():
        for f in d.glob("*.json"):
            if not f.name.startswith("__grp__"):
                out[d.name] = json.loads(f.read_text())
    return out


config = kc.Config(block_sizes=[2], num_warps=1, num_stages=3)
fn, args = KernelTarget(scale_rows, _args(), {}).precompile_job(config)
print("job launch specs:", args)
with CompilePool(1, timeout_s=120) as pool:
    pool.submit("job", fn, args)
    (outcome,) = pool.poll(180)
print("worker error:", outcome.error)
before = entries()
kc.kernel(scale_rows.fn, config=config)(*_args())
after = entries()
new = {k: v for k, v in after.items() if k not in before}
print("worker entries:", list(before), "new entries:", list(new))
for name, meta in list(before.items()) + list(new.items()):
    keep = {k: v for k, v in meta.items() if k not in ("asm", "ir_override")}
    print(name, json.dumps(keep, sort_keys=True, default=str)[:1500])
