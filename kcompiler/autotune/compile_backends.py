"""Where compile jobs run: named backends that take picklable jobs and stream outcomes back.

A job is ``(key, fn, args)``: a top-level function and plain-data arguments (for target
compiles, ``backends/triton/target_compile.compile_launches`` on ``LaunchSpec``s and a target
name). A backend runs ``fn(*args)`` somewhere else and yields one ``CompileOutcome`` per job as
it finishes (not in submission order), with the function's return value in ``result`` or the
error. The caller's process never compiles.

Backends: ``"local"`` (a ``CompilePool`` of worker processes on this machine). Others register
with ``register_compile_backend``; ``"ray"`` is looked up in ``kcompiler.autotune.ray_compile``
when that optional module is installed (it registers itself on import).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import Any, Protocol

from kcompiler.autotune.compile_pool import CompileOutcome, CompilePool

CompileJob = tuple[Hashable, Callable[..., Any], tuple[Any, ...]]


class CompileBackend(Protocol):
    def __call__(
        self,
        jobs: Sequence[CompileJob],
        *,
        workers: int,
        timeout_s: float,
        env: dict[str, str] | None = None,
    ) -> Iterator[CompileOutcome]:
        """Run every job (each with ``timeout_s``) on up to ``workers`` workers whose
        environment is ``env`` (None: this process's); yield outcomes as they finish."""
        ...


def run_local(
    jobs: Sequence[CompileJob],
    *,
    workers: int,
    timeout_s: float,
    env: dict[str, str] | None = None,
) -> Iterator[CompileOutcome]:
    """The jobs in a private ``CompilePool`` of this machine, closed when they are done."""
    with CompilePool(workers, timeout_s, env=env) as pool:
        for key, fn, args in jobs:
            pool.submit(key, fn, args)
        while pool.pending:
            yield from pool.poll(timeout_s)


_BACKENDS: dict[str, CompileBackend] = {"local": run_local}
_OPTIONAL = {"ray": "kcompiler.autotune.ray_compile"}


def register_compile_backend(name: str, backend: CompileBackend) -> None:
    _BACKENDS[name] = backend


def get_compile_backend(name: str) -> CompileBackend:
    """The backend called ``name``; ValueError naming the known ones otherwise."""
    if name not in _BACKENDS and name in _OPTIONAL:
        try:
            importlib.import_module(_OPTIONAL[name])
        except ImportError as e:
            raise ValueError(
                f"compile backend {name!r} is not available here ({e}); "
                f"install its extra: pip install -e '.[{name}]'"
            ) from e
    if name not in _BACKENDS:
        known = sorted(set(_BACKENDS) | set(_OPTIONAL))
        raise ValueError(f"unknown compile backend {name!r}; known: {known}")
    return _BACKENDS[name]


__all__ = ["CompileBackend", "CompileJob", "get_compile_backend", "register_compile_backend"]
