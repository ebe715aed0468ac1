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


class InvalidConfig(KCompilerError, ValueError):
    """A Config outside the kernel's config space; the message names the knob."""


class NotInKernel(KCompilerError, RuntimeError):
    """A kcompiler.language function was called outside a kernel."""


class TensorOperationInWrapper(UserWarning):
    """Host code (outside device loops) ran a tensor operation; it runs in PyTorch eagerly."""


class InternalCompilerError(KCompilerError):
    """A bug in kcompiler: an unexpected exception (KeyError, AssertionError, ...) escaped
    while a kernel was traced or compiled. The message starts with the kernel's ``file:line``
    (the line being traced, when known) and asks for a report; ``__cause__`` is the original."""

    def __init__(self, message: str, location: str | None = None):
        self.location = location
        super().__init__(f"{location}: {message}" if location else message)
