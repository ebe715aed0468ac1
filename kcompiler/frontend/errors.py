"""Telling the user's mistakes from kcompiler's bugs, and saying both in the user's terms.

An exception raised while device code is evaluated either comes from the user's code (a name
that does not exist, a call with the wrong arguments, an attribute a device value does not
have) or from kcompiler's own code that the user's expression called into. The first is a
``CompileError`` at the user's line; the second is a bug, an ``InternalCompilerError``.
Which one is read off the traceback: the deepest frame that belongs either to kcompiler or
to the user (library frames such as torch's or numpy's do not count) owns the exception.
"""

from __future__ import annotations

import inspect
import os
import re
import sysconfig
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from kcompiler.exc import InternalCompilerError, InvalidArgument, KCompilerError

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Kernels shipped with kcompiler are user code as far as their own lines go.
_BUNDLED_KERNELS = os.path.join(_PACKAGE, "kernels")
_LIBRARIES = tuple(
    {os.path.abspath(p) for k in ("stdlib", "platstdlib", "purelib", "platlib")
     if (p := sysconfig.get_paths().get(k))}
)  # fmt: skip

REPORT = (
    "this is a bug in kcompiler, not in your kernel; please report it with the kernel's "
    "source and the arguments it was called with"
)


def _owner(filename: str) -> str:
    """'kcompiler', 'library' or 'user' for a frame's file."""
    path = os.path.abspath(filename)
    if path.startswith(_PACKAGE + os.sep) and not path.startswith(_BUNDLED_KERNELS + os.sep):
        return "kcompiler"
    if filename.startswith("<") or path.startswith(_LIBRARIES):
        return "library"
    return "user"


def raised_by_kcompiler(tb: TracebackType | None, skip: int = 0) -> bool:
    """Whether kcompiler's code owns an exception: among the traceback's frames after the
    first ``skip`` (the caller's own frames), the deepest that is kcompiler's or the user's
    is kcompiler's."""
    owner = "user"
    depth = 0
    while tb is not None:
        if depth >= skip:
            who = _owner(tb.tb_frame.f_code.co_filename)
            if who != "library":
                owner = who
        tb = tb.tb_next
        depth += 1
    return owner == "kcompiler"


# What the proxies of device code are called in messages meant for the user.
_TERMS = [
    (re.compile(r"'TileValue' object"), "a device value"),
    (re.compile(r"'TensorArg' object"), "a tensor argument"),
    (re.compile(r"'TileHandle' object"), "a tile (the loop variable of kl.tile)"),
    (re.compile(r"'TileRequest' object"), "kl.tile(...)"),
    (re.compile(r"\bTileValue\b"), "device value"),
    (re.compile(r"\bTensorArg\b"), "tensor"),
    (re.compile(r"\bTileHandle\b"), "tile"),
    (re.compile(r"\bTileRequest\b"), "kl.tile(...)"),
    (re.compile(r"<value \[[^\]]*\] torch\.(\w+)>"), r"a \1 device value"),
    (re.compile(r"<tensor (\w+)>"), r"tensor '\1'"),
    (re.compile(r"<tile (\w+)>"), "a tile"),
]


def user_terms(message: str) -> str:
    """``message`` with the names and reprs of frontend proxies replaced by what they are to
    the user (a device value, a tensor argument, a tile)."""
    for pattern, text in _TERMS:
        message = pattern.sub(text, message)
    return message


def internal_error(exc: BaseException, location: str | None, doing: str) -> InternalCompilerError:
    """The InternalCompilerError for ``exc``, raised while ``doing`` (e.g. "tracing kernel
    'add'"); chain it with ``raise ... from exc``."""
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return InternalCompilerError(
        f"internal compiler error while {doing} ({detail}); {REPORT}", location
    )


def numpy_arguments(signature: inspect.Signature, args: Any, kwargs: Any) -> list[str]:
    """The parameters bound to numpy arrays in a call (kernels take torch tensors)."""
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        return []
    return [
        name
        for name, value in bound.arguments.items()
        if type(value).__module__ == "numpy" and hasattr(value, "__array__")
    ]


def numpy_argument_error(kernel: str, location: str, names: list[str]) -> InvalidArgument:
    """The error for a kernel called with numpy arrays where it takes torch tensors."""
    listed = ", ".join(repr(n) for n in names)
    plural = "s" if len(names) > 1 else ""
    return InvalidArgument(
        f"{location}: {kernel}: argument{plural} {listed} "
        f"{'are numpy arrays' if plural else 'is a numpy array'}; kernels take torch.Tensor "
        f"arguments: pass torch.from_numpy({names[0]}) (or torch.as_tensor)"
    )


@contextmanager
def internal_errors(location: str | None, doing: str) -> Iterator[None]:
    """Wrap any exception but kcompiler's own errors (and KeyboardInterrupt, SystemExit: not
    Exceptions) in an InternalCompilerError naming ``location``."""
    try:
        yield
    except KCompilerError:
        raise
    except Exception as e:
        raise internal_error(e, location, doing) from e


__all__ = [
    "REPORT",
    "internal_error",
    "internal_errors",
    "numpy_argument_error",
    "numpy_arguments",
    "raised_by_kcompiler",
    "user_terms",
]
