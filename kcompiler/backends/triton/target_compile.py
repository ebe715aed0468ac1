"""Compile a generated kernel for a named GPU target on any machine, GPU or not.

Triton compiles for a target it is told about: the front end, LLVM and ptxas all run on the
CPU, and only loading the binary needs the device. So a compile job is plain data (a
``precompile.LaunchSpec`` and a target name such as ``"sm_90"``) and its answer is plain data
too (``TargetBinary``): the cubin's hash, ptxas's register, spill and shared-memory figures,
the compile time, or the error; and the files of Triton's cache entry, so that the process
that owns the GPU can load the binary without compiling (``install``).

The compile goes through the kernel's own ``JITFunction.warmup`` with a stand-in driver that
reports the target (``TargetDriver``): Triton then binds the arguments, specializes them and
builds its options exactly as a launch on that device would, so the cache key it writes is
the one the GPU process's first launch looks up. What must also agree between the two
processes is everything else in that key: Triton's version and build, ptxas's version, the
``TRITON_*`` environment variables that invalidate the cache, the kernel's source text and the
launch's arguments (dtype, 16-byte alignment, integer values Triton specializes on).

ptxas statistics: read as the tuner's own GPU compiles read them (``precompile.
compile_with_figures``: the ``-v`` log Triton's ptxas writes anyway, kept beside the cache entry
as ``STATS_FILE``).

This module imports only the standard library and ``precompile`` (itself torch-free) at module
level, so compile-pool workers and Ray workers load it quickly; Triton and torch (the
argument stand-ins' dtypes) are imported by the compile itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from kcompiler import settings
from kcompiler.backends.triton.precompile import (
    STATS_FILE,
    LaunchSpec,
    check_launch,
    compile_with_figures,
    parse_ptxas_log,
    write_atomic,
)
from kcompiler.target import shared_memory_of_capability

_TARGET = re.compile(r"^sm_?(\d+)a?$")


class TargetBinary(NamedTuple):
    """One launch compiled for one target: the figures, or why it did not compile.

    ``registers``/``spill_bytes`` are per thread (ptxas's "Used N registers" and "N bytes spill
    stores"); ``shared_bytes`` is Triton's dynamic shared memory (``metadata.shared``).
    ``cache_hash`` is Triton's cache key digest (``CompiledKernel.hash``); ``files`` the cache
    entry, as (file name, bytes), for ``install``."""

    kernel_name: str
    target: str
    sha256: str | None
    registers: int | None
    spill_bytes: int | None
    shared_bytes: int | None
    seconds: float
    error: str | None = None
    cache_hash: str | None = None
    files: tuple[tuple[str, bytes], ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None


def parse_target(target: str) -> tuple[str, int, int]:
    """``"sm_90"`` (or ``"sm90"``, ``"sm_90a"``) -> Triton's GPUTarget fields (backend,
    compute capability, warp size)."""
    m = _TARGET.match(target.strip().lower())
    if not m:
        raise ValueError(f"unknown compile target {target!r}: expected a CUDA arch like 'sm_90'")
    return "cuda", int(m.group(1)), 32


class TargetDriver:
    """Stands in for Triton's active driver during a compile: it names the target and device
    0, and refuses anything that would need a real device (loading, launching)."""

    def __init__(self, target: Any):
        self.target = target

    def get_current_target(self) -> Any:
        return self.target

    def get_current_device(self) -> int:
        return 0

    def get_current_stream(self, device: int | None = None) -> int:
        return 0

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"compiling for {self.target} without its device: no driver.{name}")


@contextlib.contextmanager
def compiling_for(target: str) -> Iterator[Any]:
    """Within the block the active driver reports ``target``; yields Triton's GPUTarget.

    Raises ``TargetCompileUnavailable`` in a process running Triton's interpreter: Triton
    built its own library functions (``tl.cdiv``, ...) as interpreted ones when it was
    imported, and a compiled kernel cannot call those. Target compiles run in worker
    processes started without ``TRITON_INTERPRET`` (``worker_environment``)."""
    from triton import knobs
    from triton.backends.compiler import GPUTarget
    from triton.runtime.driver import driver

    runtime = getattr(knobs, "runtime", None)
    interpret = getattr(runtime, "interpret", None)
    if interpret is None:  # a Triton without that knob reads the variable itself
        interpret = settings.current().interpret
    if interpret:
        raise TargetCompileUnavailable(
            "cannot compile for a GPU target in a process running Triton's interpreter "
            "(TRITON_INTERPRET=1): run the compile in a worker without it"
        )
    gpu_target = GPUTarget(*parse_target(target))
    # Not ``driver.active``: reading it creates the default driver, which fails without a GPU.
    previous = getattr(driver, "_active", None)
    driver.set_active(TargetDriver(gpu_target))
    try:
        yield gpu_target
    finally:
        driver.set_active(previous)


class TargetCompileUnavailable(RuntimeError):
    """This process cannot compile for a GPU target (it runs Triton's interpreter)."""


def worker_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: this process's environment) for a process that compiles for a
    target: without ``TRITON_INTERPRET``, so its Triton builds compiled kernels."""
    out = dict(os.environ if env is None else env)
    out.pop("TRITON_INTERPRET", None)
    return out


def compile_for_target(
    launch: LaunchSpec, target: str = "sm_90", keep_files: bool = True
) -> TargetBinary:
    """Compile one launch for ``target`` in this process (Triton's cache is used and
    filled). Never raises for a kernel that does not compile: the error is in the record,
    and so is a binary whose shared memory is over the target's limit (the figures kept:
    the device would refuse it at its first launch, ``over_shared_memory``).
    ``keep_files=False`` leaves the cache entry's files out of the record (their IRs run to
    megabytes for large kernels) when only the figures travel back."""
    start = time.perf_counter()
    name = launch.kernel_name
    try:
        with compiling_for(target):
            compiled, stats = compile_with_figures(check_launch(launch), launch)
        binary = _record(name, target, compiled, stats, time.perf_counter() - start)
        binary = binary._replace(error=over_shared_memory(binary.shared_bytes, target))
        return binary if keep_files else binary._replace(files=())
    except TargetCompileUnavailable:
        raise
    except Exception as e:  # a compile error is the job's answer, not the caller's failure
        message = f"{type(e).__name__}: {e}"
        return TargetBinary(
            name, target, None, None, None, None, time.perf_counter() - start, message
        )


def over_shared_memory(shared_bytes: int | None, target: str) -> str | None:
    """Why a binary of ``shared_bytes`` (Triton's figure) cannot launch on ``target``, as
    Triton's OutOfResources says it when the device loads it; None when it fits (or the
    target's limit is not known here: ``kcompiler.target.SHARED_MEMORY_BY_CAPABILITY``)."""
    limit = shared_memory_of_capability(parse_target(target)[1])
    if shared_bytes is None or limit is None or shared_bytes <= limit:
        return None
    return (
        f"OutOfResources: out of resource: shared memory, Required: {shared_bytes}, "
        f"Hardware limit: {limit} ({target})"
    )


def compile_launches(
    launches: Sequence[LaunchSpec], target: str = "sm_90", keep_files: bool = True
) -> list[TargetBinary]:
    """Every launch of one config, in order: a compile-pool or Ray job's whole work."""
    return [compile_for_target(launch, target, keep_files) for launch in launches]


def _record(
    name: str, target: str, compiled: Any, stats: dict[str, int], seconds: float
) -> TargetBinary:
    group = dict(getattr(compiled, "metadata_group", {}) or {})
    cubin = compiled.asm.get("cubin")
    files = tuple(sorted((Path(p).name, Path(p).read_bytes()) for p in group.values()))
    return TargetBinary(
        name,
        target,
        hashlib.sha256(cubin).hexdigest() if cubin else None,
        stats.get("registers"),
        stats.get("spill_bytes"),
        int(compiled.metadata.shared),
        seconds,
        None,
        compiled.hash,
        files,
    )


# -- the GPU process's side: Triton's cache format ----------------------------------------


def cache_entry_name(cache_hash: str) -> str:
    """The directory Triton's FileCacheManager keeps a compile's files in (base32 of the
    key's sha256)."""
    import base64

    return base64.b32encode(bytes.fromhex(cache_hash)).decode().rstrip("=")


def install(binary: TargetBinary, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Write a binary compiled elsewhere into Triton's on-disk cache (``cache_dir``, default:
    the directory Triton uses in this process), so the first launch of that kernel here loads
    it instead of compiling. Returns the entry's directory.

    The entry is what ``triton.compile`` writes: the files (IRs, cubin, metadata JSON) and a
    group file ``__grp__<kernel>.json`` listing their absolute paths, rewritten for this
    machine's directory."""
    if not binary.ok or binary.cache_hash is None or not binary.files:
        raise ValueError(f"{binary.kernel_name}: no binary to install ({binary.error})")
    if cache_dir is None:
        from triton import knobs

        cache_dir = knobs.cache.dir
    entry = Path(cache_dir) / cache_entry_name(binary.cache_hash)
    entry.mkdir(parents=True, exist_ok=True)
    children = {}
    for fname, data in binary.files:
        if fname.startswith("__grp__") or fname == STATS_FILE:
            continue
        write_atomic(entry / fname, data)
        children[fname] = str(entry / fname)
    metadata = next((f for f in children if f.endswith(".json")), None)
    if metadata is None:
        raise ValueError(f"{binary.kernel_name}: the binary's files hold no metadata JSON")
    stats = {"registers": binary.registers, "spill_bytes": binary.spill_bytes}
    write_atomic(entry / STATS_FILE, json.dumps(stats).encode())
    group = json.dumps({"child_paths": children}).encode()
    write_atomic(entry / f"__grp__{metadata}", group)  # written last: it marks the entry whole
    return entry


def install_tree(
    store: str | os.PathLike[str], cache_dir: str | os.PathLike[str] | None = None
) -> int:
    """Install every entry of an artifact store (a directory that ``install`` wrote, copied
    from the compiling machine) into Triton's cache here; returns how many. Group files are
    rewritten for this machine's paths, so the store may have moved."""
    if cache_dir is None:
        from triton import knobs

        cache_dir = knobs.cache.dir
    count = 0
    for entry in sorted(Path(store).iterdir()):
        groups = list(entry.glob("__grp__*.json")) if entry.is_dir() else []
        if len(groups) != 1:
            continue  # not a finished entry (Triton's tmp or lock files, a partial copy)
        target = Path(cache_dir) / entry.name
        target.mkdir(parents=True, exist_ok=True)
        names = json.loads(groups[0].read_text())["child_paths"]
        children = {}
        for fname in names:
            write_atomic(target / fname, (entry / fname).read_bytes())
            children[fname] = str(target / fname)
        if (entry / STATS_FILE).exists():
            write_atomic(target / STATS_FILE, (entry / STATS_FILE).read_bytes())
        group = json.dumps({"child_paths": children}).encode()
        write_atomic(target / groups[0].name, group)
        count += 1
    return count


__all__ = [
    "STATS_FILE",
    "TargetBinary",
    "TargetCompileUnavailable",
    "TargetDriver",
    "cache_entry_name",
    "compile_for_target",
    "compile_launches",
    "compiling_for",
    "install",
    "install_tree",
    "over_shared_memory",
    "parse_ptxas_log",
    "parse_target",
    "worker_environment",
]
