"""One process tuning a small real kernel on the CPU interpreter; run by test_redis_cache.py
as ``python redis_tune_job.py`` with $KCOMPILER_CACHE_URL and $KCOMPILER_CACHE_DIR set. Prints
the TuneResult as one JSON line. The kernel lives in a file (not ``-c``) because kcompiler
reads and hashes its source."""

from __future__ import annotations

import json
import os

os.environ.setdefault("TRITON_INTERPRET", "1")

import torch  # noqa: E402

import kcompiler as kc  # noqa: E402
import kcompiler.language as kl  # noqa: E402


@kc.kernel
def scale(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = x[tile] * 3
    return out


if __name__ == "__main__":
    x = torch.arange(256, dtype=torch.float32)
    result = scale.autotune((x,), effort="quick", budget_s=3.0, workers=1, progress=False)
    torch.testing.assert_close(scale(x), x * 3)
    print(
        json.dumps(
            {
                "from_cache": result.from_cache,
                "tried": result.tried,
                "config": result.config.to_json(),
                "time_ms": result.time_ms,
            }
        )
    )
