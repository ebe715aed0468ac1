"""Where the language functions find the kernel that is being traced or run."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def tracing(tracer: Any) -> Iterator[None]:
    old = getattr(state, "tracer", None)
    state.tracer = tracer
    try:
        yield
    finally:
        state.tracer = old


@contextmanager
def hosting(host: Any) -> Iterator[None]:
    old = getattr(state, "host", None)
    state.host = host
    try:
        yield
    finally:
        state.host = old
