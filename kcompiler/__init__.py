"""kcompiler: tile-level Python kernels -> `tile` IR (xDSL) -> passes -> Triton, autotuned.

``import kcompiler as kc`` gives the decorator and configs; ``import kcompiler.language as kl``
gives the kernel language.
"""

from __future__ import annotations

import os as _os

if "TRITON_INTERPRET" not in _os.environ:
    # No GPU: default to Triton's CPU interpreter, which must be chosen before triton loads.
    import sys as _sys

    if "triton" not in _sys.modules:
        import torch as _torch

        if not _torch.cuda.is_available():
            _os.environ["TRITON_INTERPRET"] = "1"

from kcompiler import exc  # noqa: E402
from kcompiler.config import Config  # noqa: E402
from kcompiler.runtime.kernel import Kernel, kernel  # noqa: E402

__all__ = ["Config", "Kernel", "exc", "kernel"]
