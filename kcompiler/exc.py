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


class NoBackward(KCompilerError, RuntimeError):
    """A kernel without a declared backward was called where autograd needs its gradient (grad
    mode on and an argument that requires grad); the message names the kernel and the
    arguments, and says how to declare a backward (``@kernel.register_backward``)."""


class TensorOperationInWrapper(UserWarning):
    """Host code (outside device loops) ran a tensor operation; it runs in PyTorch eagerly."""
