"""Errors and warnings users see. Every compile error names the kernel source line."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class KCompilerError(Exception):
    """Base of all kcompiler errors."""


class CompileError(KCompilerError):
    """The kernel cannot be compiled as written; the message starts with ``file:line:``."""

    def __init__(self, message: str, location: str | None = None):
        self.location = location
        super().__init__(f"{location}: {message}" if location else message)


class UnsupportedConstruct(CompileError):
    """Python that has no meaning in device code (while loops, try, data-dependent if, ...)."""


class NeedsGPU(UnsupportedConstruct):
    """A construct Triton's CPU interpreter cannot run (inline assembly): the kernel compiles
    and runs on a GPU only; on the CPU its GPU code can still be compiled for a named target
    (``Kernel.precompile(..., target="sm_90")``)."""


class ShapeMismatch(CompileError):
    """Shapes or dtypes that do not fit together."""


class InvalidArgument(KCompilerError, TypeError):
    """A kernel was called with arguments it cannot run on (dtype, device, rank)."""


class UnknownOption(KCompilerError, TypeError):
    """A ``kc.kernel`` option or ``kc.Config`` field that does not exist; the message names it,
    suggests the closest valid names and lists them all."""

    def __init__(self, what: str, name: str, valid: Iterable[str]):
        self.name = name
        self.valid = tuple(valid)
        super().__init__(
            f"unknown {what} {name!r}{did_you_mean(name, self.valid)}; "
            f"valid: {', '.join(self.valid)}"
        )


def did_you_mean(name: str, valid: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the valid name closest to ``name``, else ``''``."""
    close = difflib.get_close_matches(str(name), list(valid), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def not_float(kernel: str, name: str, dtype: object) -> InvalidArgument:
    """The error for an integer or bool tensor given where the torch op a kernel implements
    takes floating-point tensors only (softmax, norms, cross-entropy logits, ...): torch
    raises instead of computing, and so does the kernel, whose float math would otherwise be
    truncated into an integer output."""
    return InvalidArgument(
        f"{kernel}: argument {name!r} has dtype {dtype}; {kernel} takes floating-point "
        f"tensors only (as torch does); cast it first ({name}.float())"
    )


class IndexOutOfBoundsWarning(UserWarning):
    """Under the opt-in ``KCOMPILER_OUT_OF_BOUNDS=warn``, a computed index fell outside its
    tensor: the lanes it addresses read 0 and wrote nothing, the others computed as usual.
    Issued at the indexing expression's source line with the message ``IndexOutOfBounds``
    would carry; by default the call raises that error instead."""


class IndexOutOfBounds(KCompilerError, IndexError):
    """A computed index (a gather, an index loaded from a tensor, a jagged offset) fell outside
    its tensor at run time. The access was masked, so nothing outside the tensor was touched;
    the message names the source line of the indexing expression, the tensor, the bad value
    and the valid range. On a GPU it is raised at the kernel's next call or at
    ``kcompiler.check_errors()``, not by the faulty launch itself."""

    def __init__(
        self,
        message: str,
        location: str | None = None,
        tensor: str | None = None,
        dim: int | None = None,
        value: int | None = None,
        size: int | None = None,
    ):
        super().__init__(message)
        self.location = location
        self.tensor = tensor
        self.dim = dim
        self.value = value
        self.size = size


class InvalidConfig(KCompilerError, ValueError):
    """A Config outside the kernel's config space; the message names the knob."""


class CompileUnderCapture(KCompilerError, RuntimeError):
    """A kernel call during CUDA graph capture needed a variant that was never launched (new
    dtypes, shapes, strides, alignment or scalar values, or the kernel's first call).
    Compiling it and loading its binary allocate pinned memory and load a module, which CUDA
    forbids while a stream captures, and a failed capture leaves the graph unusable: the call
    raises before launching anything. Run the kernel once outside the capture with arguments
    like the captured ones (the warm-up ``torch.cuda.graph``'s documentation asks for)."""


class NotInKernel(KCompilerError, RuntimeError):
    """A kcompiler.language function was called outside a kernel."""


class NoBackward(KCompilerError, RuntimeError):
    """A gradient was asked of the output of a kernel without a declared backward (raised by
    that output's backward), or such a kernel was called in grad mode where its output could
    not carry the refusal (it writes its arguments); the message names the kernel and the
    arguments, and says how to declare a backward (``@kernel.register_backward``)."""


class IgnoredByInterpreter(UserWarning):
    """A config knob that only the GPU toolchain applies (a ptxas control file) was given to a
    kernel running on Triton's CPU interpreter, where it has no effect; said once per value."""


class SharedMemoryEstimateWarning(UserWarning):
    """A config whose estimated shared memory (``backends/triton/shared_memory/``) exceeds
    the default GPU's limit, compiled for Triton's CPU interpreter, which has no such limit: it
    runs here. The estimate is an upper bound, so it never refuses a config; on a GPU, Triton's
    own figure decides (an ``InvalidConfig`` at the variant's first launch when it does not
    fit). Said once per compiled variant."""


class MergedIndexing(UserWarning):
    """A ``Config.indexing`` list numbered Helion's way gives different modes to Helion's
    copies of one access that kcompiler issues once (its chunk loop computes the roots of
    several of Helion's rolled passes); the copy takes one of them, which is named."""


class TensorOperationInWrapper(UserWarning):
    """Host code (outside device loops) ran a tensor operation; it runs in PyTorch eagerly."""


class InternalCompilerError(KCompilerError):
    """A bug in kcompiler: an unexpected exception (KeyError, AssertionError, ...) escaped
    while a kernel was traced or compiled. The message starts with the kernel's ``file:line``
    (the line being traced, when known) and asks for a report; ``__cause__`` is the original."""

    def __init__(self, message: str, location: str | None = None):
        self.location = location
        super().__init__(f"{location}: {message}" if location else message)
