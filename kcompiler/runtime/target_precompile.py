"""``Kernel.precompile``: compile configs for a named GPU target, on this machine or elsewhere.

For each config the host code runs with a launch hook that generates every device loop's GPU
code (even under Triton's interpreter) and records the call its launcher would make
(``backends/triton/precompile.record_launches``); the recorded launches are one job for a
compile backend (``autotune/compile_backends``: ``"local"`` worker processes, or ``"ray"``),
whose workers run ``backends/triton/target_compile.compile_launches`` without
``TRITON_INTERPRET``. Nothing here needs the target's GPU.

Each config's answer is a ``PrecompileRecord``: per launch a ``TargetBinary`` (cubin hash,
registers, spill bytes, shared memory, compile seconds, or the error), and the figures that
decide whether it is worth a benchmark. ``store=`` writes every binary into an artifact store
in Triton's cache format; on the GPU host ``target_compile.install_tree(store)`` (or
``TRITON_CACHE_DIR=<store>`` on the same machine) makes the first launch of each config load
its binary instead of compiling, and so does the tuner's compile step.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kcompiler.autotune.compile_backends import get_compile_backend
from kcompiler.backends.triton.precompile import record_launches
from kcompiler.backends.triton.target_compile import (
    compile_launches,
    install,
    parse_target,
    worker_environment,
)
from kcompiler.config import Config

if TYPE_CHECKING:
    from kcompiler.backends.triton.target_compile import TargetBinary

DEFAULT_TARGET = "sm_90"
DEFAULT_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class PrecompileRecord:
    """One config compiled for ``target``: its launches' binaries, or why it has none."""

    config: Config
    target: str
    binaries: tuple[TargetBinary, ...] = ()
    error: str | None = None
    seconds: float = 0.0  # wall time of the config's compile job

    @property
    def ok(self) -> bool:
        return self.error is None and all(b.ok for b in self.binaries)

    @property
    def sha256(self) -> str | None:
        """The binary's hash; for a config of several launches, the hash of theirs."""
        if not self.ok or not self.binaries:
            return None
        if len(self.binaries) == 1:
            return self.binaries[0].sha256
        return hashlib.sha256(" ".join(b.sha256 or "" for b in self.binaries).encode()).hexdigest()

    def _most(self, field: str) -> int | None:
        values = [getattr(b, field) for b in self.binaries if getattr(b, field) is not None]
        return max(values) if self.ok and values else None

    @property
    def registers(self) -> int | None:
        return self._most("registers")

    @property
    def spill_bytes(self) -> int | None:
        """The largest spill (bytes a thread) of the config's launches."""
        return self._most("spill_bytes")

    @property
    def shared_bytes(self) -> int | None:
        return self._most("shared_bytes")

    @property
    def compile_seconds(self) -> float:
        return sum(b.seconds for b in self.binaries)

    @property
    def first_error(self) -> str | None:
        return self.error or next((b.error for b in self.binaries if b.error), None)

    def install(self, cache_dir: str | os.PathLike[str] | None = None) -> None:
        """Write the binaries into Triton's cache (default: this process's)."""

        for b in self.binaries:
            install(b, cache_dir)


def launch_specs(kernel: Any, args: Sequence[Any], kwargs: dict[str, Any], config: Config):
    """The config's launches as GPU code, recorded as plain-data ``LaunchSpec``s."""

    return record_launches(kernel.generated_launches(args, kwargs, config, interpret=False))


def precompile(
    kernel: Any,
    args: Sequence[Any],
    kwargs: dict[str, Any],
    configs: Sequence[Config | dict[str, Any]] | None,
    target: str = DEFAULT_TARGET,
    backend: str = "local",
    workers: int | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    store: str | os.PathLike[str] | None = None,
) -> list[PrecompileRecord]:
    """Compile ``configs`` (default: the space's default and starts) for ``target``; one
    record per config, in the order given. See the module docstring."""

    parse_target(target)  # a bad name fails here, not in every job
    run = get_compile_backend(backend)
    if configs is None:
        space = kernel.config_space(*args, **kwargs)
        configs = [space.default(), *[c for c in space.starts() if c != space.default()]]
    wanted = [c if isinstance(c, Config) else Config(c) for c in configs]
    records: dict[int, PrecompileRecord] = {}
    jobs = []
    for i, config in enumerate(wanted):
        try:
            specs = launch_specs(kernel, args, kwargs, config)
        except Exception as e:  # a config that does not generate: its record says why
            records[i] = PrecompileRecord(config, target, error=f"{type(e).__name__}: {e}")
            continue
        jobs.append((i, compile_launches, (specs, target)))
    count = workers or min(8, os.cpu_count() or 1)
    for outcome in run(jobs, workers=count, timeout_s=timeout_s, env=worker_environment()):
        i = outcome.key
        if outcome.error is not None:
            records[i] = PrecompileRecord(
                wanted[i], target, error=outcome.error, seconds=outcome.seconds
            )
        else:
            records[i] = PrecompileRecord(
                wanted[i], target, tuple(outcome.result), None, outcome.seconds
            )
        if store is not None and records[i].ok:
            records[i].install(store)
    for i, config in enumerate(wanted):  # a backend that lost a job without an outcome
        records.setdefault(i, PrecompileRecord(config, target, error="no result from the backend"))
    return [records[i] for i in range(len(wanted))]


__all__ = ["DEFAULT_TARGET", "PrecompileRecord", "launch_specs", "precompile"]
