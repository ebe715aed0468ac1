"""Kernel calls during CUDA graph capture (runtime/capture.py), on the CPU interpreter.

No capture runs here: ``capturing`` (backends/triton/bounds.py, as the runtime imports it) is
patched to say one is under way, which is all the runtime asks. What these tests fix: a
warmed-up call launches as it would outside the capture; a call that would compile raises
``CompileUnderCapture`` before launching anything; an error flag set by earlier launches is
kept for the next call outside the capture; ``check_errors`` does not synchronize during
capture. tests/gpu/test_gpu_13_cuda_graphs.py captures and replays real graphs.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F  # noqa: N812

import kcompiler as kc
from kcompiler.backends.triton import bounds
from kcompiler.kernels.embedding import embedding
from kcompiler.kernels.vector_add import vector_add
from kcompiler.runtime import kernel as kernel_module


@pytest.fixture
def capture(monkeypatch: pytest.MonkeyPatch) -> dict[str, bool]:
    """``state["on"]``: whether the runtime and the error checks see a capture under way."""
    state = {"on": False}
    monkeypatch.setattr(kernel_module, "capturing", lambda: state["on"])
    monkeypatch.setattr(bounds, "capturing", lambda: state["on"])
    return state


def test_capturing_is_false_without_a_cuda_context() -> None:
    assert bounds.capturing() is False


def test_first_call_during_capture_raises_before_launching(capture: dict[str, bool]) -> None:
    add = kc.kernel(vector_add.fn)
    x, y = torch.randn(37), torch.randn(37)
    capture["on"] = True
    with pytest.raises(kc.exc.CompileUnderCapture) as info:
        add(x, y)
    message = str(info.value)
    assert "vector_add.py:" in message and "'vector_add'" in message
    assert "x: float32[37] strides (1,)" in message and "y: float32[37]" in message
    assert add.compiled_variants() == [] and add.fast_path_entries() == []
    capture["on"] = False
    torch.testing.assert_close(add(x, y), x + y)


def test_warmed_up_call_runs_during_capture(capture: dict[str, bool]) -> None:
    add = kc.kernel(vector_add.fn)
    x, y = torch.randn(100), torch.randn(100)
    add(x, y)
    misses = add.fast_path_misses
    capture["on"] = True
    # New tensors of the same dtype, shape, strides and alignment: the warm-up's entry.
    for _ in range(3):
        a, b = torch.randn(100), torch.randn(100)
        torch.testing.assert_close(add(a, b), a + b)
    assert add.fast_path_misses == misses


@pytest.mark.parametrize(
    "args, shown",
    [
        (lambda: (torch.randn(101), torch.randn(101)), "x: float32[101]"),
        (lambda: (torch.randn(100).double(), torch.randn(100).double()), "x: float64[100]"),
        # Triton specializes pointers on 16-byte alignment: a new binary, so a miss too.
        (lambda: (torch.randn(101)[1:], torch.randn(100)), "not 16-byte aligned"),
        (lambda: (torch.randn(200)[::2], torch.randn(100)), "strides (2,)"),
    ],
    ids=["shape", "dtype", "alignment", "strides"],
)
def test_call_unlike_every_warm_up_raises_during_capture(
    capture: dict[str, bool], args, shown: str
) -> None:
    add = kc.kernel(vector_add.fn)
    add(torch.randn(100), torch.randn(100))
    variants = len(add.compiled_variants())
    capture["on"] = True
    with pytest.raises(kc.exc.CompileUnderCapture, match=r"Call it once before the capture") as e:
        add(*args())
    assert shown in str(e.value)
    assert len(add.compiled_variants()) == variants
    capture["on"] = False
    x, y = args()
    torch.testing.assert_close(add(x, y), x + y)  # outside the capture it compiles


def _record_failure(k: kc.Kernel, value: int, size: int) -> None:
    """Write what a GPU launch of embedding's one checked site records for ``value``: the
    site's size + 1 and the bad value in the variant's records, and the kernel's flag."""
    (variant,) = k.compiled_variants()
    errors = variant.errors
    # On a GPU the records are read at the next call, not right after the launch.
    errors.eager = False
    errors.tensor[0], errors.tensor[1] = size + 1, value
    errors.flag.tensor[0] = 1


def test_error_flag_set_before_the_capture_waits_for_the_next_call(
    capture: dict[str, bool],
) -> None:
    emb = kc.kernel(embedding.fn)
    w, x = torch.randn(50, 8), torch.randint(0, 50, (4, 9))
    torch.testing.assert_close(emb(x, w), F.embedding(x, w))
    _record_failure(emb, 77, 50)
    capture["on"] = True
    torch.testing.assert_close(emb(x, w), F.embedding(x, w))  # the capture is not aborted
    capture["on"] = False
    with pytest.raises(kc.exc.IndexOutOfBounds, match=r"index 77 .*valid range \[0, 49\]"):
        emb(x, w)
    torch.testing.assert_close(emb(x, w), F.embedding(x, w))  # reported once


@pytest.mark.parametrize("kernel_level", [False, True], ids=["kc", "kernel"])
def test_check_errors_does_not_synchronize_during_capture(
    capture: dict[str, bool], monkeypatch: pytest.MonkeyPatch, kernel_level: bool
) -> None:
    waits: list[None] = []
    monkeypatch.setattr(bounds, "synchronize", lambda: waits.append(None))
    emb = kc.kernel(embedding.fn)
    emb(torch.randint(0, 50, (16,)), torch.randn(50, 8))
    check = emb.check_errors if kernel_level else kc.check_errors
    capture["on"] = True
    check()
    assert waits == []
    _record_failure(emb, -3, 50)
    with pytest.raises(kc.exc.IndexOutOfBounds, match=r"index -3 "):
        check()  # what earlier launches recorded is still reported
    assert waits == []
    capture["on"] = False
    check()
    assert waits == [None]


def test_a_call_through_the_custom_op_is_refused_and_warmed_alike(
    capture: dict[str, bool],
) -> None:
    """Under a dispatch mode the call runs through the kernel's torch.library op
    (runtime/custom_op.py), whose implementation takes the same launch path."""
    from torch.utils.flop_counter import FlopCounterMode

    add = kc.kernel(vector_add.fn)
    x, y = torch.randn(64), torch.randn(64)
    capture["on"] = True
    with FlopCounterMode(display=False), pytest.raises(kc.exc.CompileUnderCapture):
        add(x, y)
    capture["on"] = False
    with FlopCounterMode(display=False):
        add(x, y)
    capture["on"] = True
    with FlopCounterMode(display=False):
        torch.testing.assert_close(add(x, y), x + y)
