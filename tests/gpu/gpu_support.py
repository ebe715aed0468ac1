"""Shared by the tests in tests/gpu: when CUDA tests run, devices to parametrize over, and the
test modules of other folders whose helpers (and GPU-only tests) these tests reuse.

The CUDA tests run only where a GPU is visible and Triton's interpreter is off::

    TRITON_INTERPRET=0 python -m pytest tests/gpu -q -p no:cacheprovider -x

Everywhere else (the CPU CI, which sets TRITON_INTERPRET=1 in tests/conftest.py) they are
collected and skipped. A test parametrized over ``DEVICES`` also runs its ``cpu`` case on the
CPU interpreter, at small sizes, so its logic is exercised without a GPU.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from kcompiler.runtime.kernel import interpreting

ON_GPU = torch.cuda.is_available() and not interpreting()

needs_cuda = pytest.mark.skipif(
    not ON_GPU, reason="needs a CUDA GPU with TRITON_INTERPRET=0 (tests/gpu)"
)
needs_interpreter = pytest.mark.skipif(
    not interpreting(), reason="the cpu case runs on Triton's interpreter (TRITON_INTERPRET=1)"
)

#: ``cuda`` on a GPU run, ``cpu`` (small sizes, the interpreter) on the CPU CI.
DEVICES = [
    pytest.param("cpu", marks=needs_interpreter),
    pytest.param("cuda", marks=[needs_cuda, pytest.mark.gpu]),
]

TESTS = Path(__file__).resolve().parents[1]


def import_test_module(folder: str, name: str):
    """Another folder's test module, under the name pytest itself gives it (rootdir-less
    "prepend" import: the file's basename), so that a session collecting both folders shares
    one module object instead of defining its kernels twice."""
    path = str(TESTS / folder)
    if path not in sys.path:
        sys.path.insert(0, path)
    __import__(name)
    return sys.modules[name]


def to(value, device):
    """``value`` (a tensor, or tuples/lists/dicts of them) on ``device``."""
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, (list, tuple)):
        return type(value)(to(v, device) for v in value)
    if isinstance(value, dict):
        return {k: to(v, device) for k, v in value.items()}
    return value
