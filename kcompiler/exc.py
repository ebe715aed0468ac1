"""Errors and warnings users see. Every compile error names the kernel source line."""

from __future__ import annotations


class KCompilerError(Exception):
    """Base of all kcompiler errors."""


class CompileError(KCompilerError):
    """The kernel cannot be compiled as written; the message starts with ``file:line:``."""

    def __init__(self, message: str, location: str | None = None):
        self.location = location
        super().__init__(f"{location}: {message}" if location else message)


class UnsupportedConstruct(CompileError):
    """Python that has no meaning in device code (while loops, try, data-dependent if, ...)."""


class ShapeMismatch(CompileError):
    """Shapes or dtypes that do not fit together."""


class InvalidArgument(KCompilerError, TypeError):
    """A kernel was called with arguments it cannot run on (dtype, device, rank)."""


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


class NotInKernel(KCompilerError, RuntimeError):
    """A kcompiler.language function was called outside a kernel."""


class TensorOperationInWrapper(UserWarning):
    """Host code (outside device loops) ran a tensor operation; it runs in PyTorch eagerly."""
