"""Where the language functions find the kernel that is being traced or run."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from kcompiler.exc import NotInKernel

# The thread's tracer (``state.tracer``) and host run (``state.host``); Kernel.__call__ sets
# ``state.host`` itself, as ``hosting`` would, on its per-call path.
state = threading.local()


def current_tracer(what: str) -> Any:
    tracer = getattr(state, "tracer", None)
    if tracer is None:
        raise NotInKernel(f"{what}() may only be called inside a device loop of a @kc.kernel")
    return tracer


def tracing_now() -> bool:
    """Whether a device loop is being traced (language calls are device code)."""
    return getattr(state, "tracer", None) is not None


def current_host(what: str) -> Any:
    host = getattr(state, "host", None)
    if host is None:
        raise NotInKernel(f"{what}() may only be called in the body of a @kc.kernel")
    return host


def tracing(tracer: Any) -> AbstractContextManager[None]:
    """``tracer`` is the thread's tracer inside the block."""
    return _bound("tracer", tracer)


def hosting(host: Any) -> AbstractContextManager[None]:
    """``host`` is the thread's host run inside the block."""
    return _bound("host", host)


@contextmanager
def _bound(slot: str, value: Any) -> Iterator[None]:
    """``state.<slot>`` is ``value`` inside the block, and after it what it was before (an
    enclosing use of the slot gets its own value back)."""
    old = getattr(state, slot, None)
    setattr(state, slot, value)
    try:
        yield
    finally:
        setattr(state, slot, old)
