"""Where compile jobs run: the local process pool or a Ray cluster, chosen by one setting.

Both backends take the same jobs (a picklable ``fn(*args)``) and give the same
``CompileOutcome`` records through the ``JobPool`` interface, so the tuner and precompile
code never ask which one they hold. ``$KCOMPILER_COMPILE_BACKEND`` (``local`` by default, or
``ray``) or an explicit ``backend=`` argument chooses; ``ray`` joins the cluster named by
``$KCOMPILER_RAY_ADDRESS`` (see ``ray_pool``). The Ray module is imported only when the
``ray`` backend is asked for, so a process that never asks does not import Ray.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable, Sequence
from typing import Protocol

from kcompiler.autotune.compile_pool import CompileOutcome, shared_pool

COMPILE_BACKEND_ENV = "KCOMPILER_COMPILE_BACKEND"
COMPILE_BACKENDS = ("local", "ray")


class JobPool(Protocol):
    """What a search needs from a compile backend (``CompilePool``, ``RayCompilePool``)."""

    max_workers: int
    pending: int  # submitted jobs whose outcome poll() has not returned yet
    in_use: bool  # held by a tuning run

    def submit(
        self,
        key: Hashable,
        fn: Callable[..., object],
        args: tuple,
        timeout_s: float | None = None,
    ) -> None: ...

    def poll(self, timeout: float) -> list[CompileOutcome]: ...

    def cancel(self) -> None: ...

    def close(self) -> None: ...


def compile_backend(given: str | None = None) -> str:
    """``given``, else ``$KCOMPILER_COMPILE_BACKEND``, else ``local``; checked."""
    name = (given or os.environ.get(COMPILE_BACKEND_ENV) or "local").strip().lower()
    if name not in COMPILE_BACKENDS:
        source = "backend" if given else COMPILE_BACKEND_ENV
        raise ValueError(
            f"{source}={name!r}: unknown compile backend; use one of {', '.join(COMPILE_BACKENDS)}"
        )
    return name


def acquire_pool(backend: str, workers: int | None, preload: Sequence[str] = ()) -> JobPool:
    """The process-wide pool of ``backend`` (workers outlive one tuning run).

    ``workers``: the local pool's processes (default: CPU count, at most 8) or the Ray
    pool's actors (default: the cluster's CPUs).
    """
    if compile_backend(backend) == "local":
        return shared_pool(workers or min(os.cpu_count() or 1, 8), preload)
    from kcompiler.autotune.ray_pool import ray_installed, shared_ray_pool

    if not ray_installed():
        raise ImportError(
            "the 'ray' compile backend needs Ray: pip install 'kcompiler[ray]' "
            f"(or unset {COMPILE_BACKEND_ENV} to compile in local processes)"
        )
    return shared_ray_pool(workers, preload)
