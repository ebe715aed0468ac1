"""Where the language functions find the kernel that is being traced or run."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kcompiler.exc import NotInKernel

_state = threading.local()


def current_tracer(what: str) -> Any:
    tracer = getattr(_state, "tracer", None)
    if tracer is None:
        raise NotInKernel(f"{what}() may only be called inside a device loop of a @kc.kernel")
    return tracer


def tracing_now() -> bool:
    """Whether a device loop is being traced (language calls are device code)."""
    return getattr(_state, "tracer", None) is not None


def current_host(what: str) -> Any:
    host = getattr(_state, "host", None)
    if host is None:
        raise NotInKernel(f"{what}() may only be called in the body of a @kc.kernel")
    return host


@contextmanager
def tracing(tracer: Any) -> Iterator[None]:
    old = getattr(_state, "tracer", None)
    _state.tracer = tracer
    try:
        yield
    finally:
        _state.tracer = old


@contextmanager
def hosting(host: Any) -> Iterator[None]:
    old = getattr(_state, "host", None)
    _state.host = host
    try:
        yield
    finally:
        _state.host = old
