"""GPU code of a bundled kernel with index checks on and off, compiled for sm_90 on any CPU.

For each config: registers, spill bytes, shared memory (ptxas) and the SASS instruction
count (``cuobjdump -sass`` of the cubin, Triton's bundled tools) of every launch, checks on
then off, so the checks' cost in code can be read where no GPU is lent::

    python -m benchmarks.probes.checks_sass cross_entropy m=16384,n=32768 \\
        '{"block_sizes": [1], "num_warps": 16, "reduction_loops": [8192]}'
    python -m benchmarks.probes.checks_sass cross_entropy m=4096,n=128256 bf16   # default

Run without TRITON_INTERPRET (nothing is launched; the tensors are CPU tensors).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
import triton

from benchmarks import impls, kernels
from kcompiler import settings
from kcompiler.backends.triton.target_compile import compile_launches
from kcompiler.config import Config
from kcompiler.runtime.target_precompile import launch_specs

CUOBJDUMP = Path(triton.__file__).parent / "backends" / "nvidia" / "bin" / "cuobjdump"
INSTRUCTION = re.compile(r"/\*[0-9a-f]{4}\*/")


def sass_count(files: tuple[tuple[str, bytes], ...]) -> int | None:
    cubin = next((data for name, data in files if name.endswith(".cubin")), None)
    if cubin is None:
        return None
    with tempfile.NamedTemporaryFile(suffix=".cubin") as f:
        f.write(cubin)
        f.flush()
        out = subprocess.run([str(CUOBJDUMP), "-sass", f.name], capture_output=True, text=True)
    return sum(1 for line in out.stdout.splitlines() if INSTRUCTION.search(line))


def main() -> None:
    name, shape, *configs = sys.argv[1:]
    dtype = torch.float32
    if configs and configs[0] in ("fp32", "bf16"):
        dtype = torch.bfloat16 if configs.pop(0) == "bf16" else torch.float32
    params = {k: int(v) for k, v in (p.split("=") for p in shape.split(","))}
    args = kernels.KERNELS[name].make_inputs(params, dtype, torch.device("cpu"))
    kernel = impls.make("kcompiler", name, impls.Options())
    if not hasattr(kernel, "config_space"):
        raise SystemExit(f"{name}: the benchmark calls a wrapper, not one kernel (jagged_mean)")
    for text in configs or [None]:
        config = Config(**json.loads(text)) if text else kernel.config_space(*args).default()
        print(f"{name} {params} {config}")
        for checks in (True, False):
            with settings.override(index_checks=checks):
                binaries = compile_launches(launch_specs(kernel, args, {}, config))
            for b in binaries:
                print(
                    f"  checks {'on ' if checks else 'off'} {b.kernel_name}: {b.registers} "
                    f"registers, {b.spill_bytes} B spilled, {b.shared_bytes} B shared, "
                    f"{sass_count(b.files)} SASS instructions{'  ' + b.error if b.error else ''}"
                )


if __name__ == "__main__":
    assert os.environ.get("TRITON_INTERPRET", "0") != "1", "run without TRITON_INTERPRET"
    main()
