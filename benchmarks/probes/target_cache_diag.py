"""Why a binary compiled without the GPU is not what the GPU process's launch loads (GPU only).

tests/gpu/test_gpu_7_target_compile.py's scenario, with its reasons printed: a process that
sees no GPU precompiles softmax for the device's target into a store; the store is installed
into a fresh Triton cache; this process launches the same config. Each entry the launch
compiled anew is printed next to the installed one of the same kernel: the metadata fields
that differ and the start of the diff of their TTIR (the signature's specialization).
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

import kcompiler as kc
from kcompiler.backends.triton.target_compile import install_tree
from kcompiler.kernels.softmax import softmax
from kcompiler.runtime.tuning import device_target

ROOT = Path(__file__).resolve().parents[2]
COMPILE = """
import sys, torch
from kcompiler.config import Config
from kcompiler.kernels.softmax import softmax
x = torch.randn(512, 3000)
(r,) = softmax.precompile(x, configs=[Config(block_sizes=[1], num_warps=8)], target=sys.argv[1],
                          store=sys.argv[2], workers=1)
print(r.ok, r.first_error)
"""


def entries(cache: Path) -> dict[str, tuple[dict, str]]:
    out = {}
    for d in cache.iterdir():
        for f in d.glob("*.json"):
            if not f.name.startswith("__grp__"):
                ttir = next(d.glob("*.ttir"), None)
                out[d.name] = (json.loads(f.read_text()), ttir.read_text() if ttir else "")
    return out


tmp = Path(tempfile.mkdtemp())
store, cache = tmp / "store", tmp / "gpu-cache"
env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TRITON_CACHE_DIR": str(tmp / "cpu-cache")}
env["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
env.pop("TRITON_INTERPRET", None)
done = subprocess.run(
    [sys.executable, "-c", COMPILE, device_target(), str(store)],
    env=env,
    capture_output=True,
    text=True,
    timeout=300,
)
print("compile process:", done.stdout.strip()[-500:], done.stderr.strip()[-1500:])
os.environ["TRITON_CACHE_DIR"] = str(cache)
print("installed:", install_tree(store, cache))
before = entries(cache)
sm = kc.kernel(softmax.fn, config=kc.Config(block_sizes=[1], num_warps=8))
sm(torch.randn(512, 3000, device="cuda"))
torch.cuda.synchronize()
after = entries(cache)
new = {k: v for k, v in after.items() if k not in before}
print("installed entries:", list(before), "new entries:", list(new))
for meta, ttir in new.values():
    for old_meta, old_ttir in before.values():
        if old_meta.get("name") != meta.get("name"):
            continue
        keys = sorted(set(meta) | set(old_meta))
        diff = {k: (old_meta.get(k), meta.get(k)) for k in keys if old_meta.get(k) != meta.get(k)}
        print(meta.get("name"), "metadata differs:", json.dumps(diff, default=str)[:2000])
        lines = difflib.unified_diff(
            old_ttir.splitlines(), ttir.splitlines(), "installed.ttir", "launched.ttir", n=1
        )
        print("\n".join(list(lines)[:60]))
