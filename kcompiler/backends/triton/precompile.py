"""Compile a config's Triton kernels in a worker process: the autotuner's precompile jobs.

The tuner runs ``precompile(specs, interpret)`` in a killable worker process with a timeout
(``kcompiler.autotune.compile_pool``): a compile that hangs or crashes costs that config only.
A job is plain data, so it pickles: for each launch of the config, the generated module
source and how its ``@triton.jit`` kernel is called (``LaunchSpec``). The call is captured by
running the launcher against a recorder instead of the kernel (``record_launch``), so the
worker reproduces Triton's exact specialization: each tensor argument as its dtype and
whether its pointer is 16-byte aligned, ints by value (Triton specializes on ``== 1`` and on
divisibility by 16), floats, the constexprs, ``num_warps`` and ``num_stages``.

On a GPU the worker calls ``JITFunction.warmup`` with stand-in tensors: Triton compiles and
writes its on-disk cache, and the main process's first launch of that config loads the
binary from there instead of compiling. Under ``TRITON_INTERPRET=1`` nothing is compiled; the
worker still builds the module (Python compile of the source, the kernel and its launcher) and
checks the recorded call against the kernel's signature, so the machinery runs on CPU too.

ptxas's figures come with a GPU compile at no cost: Triton runs ptxas with ``-v`` and drops its
log unless told to print it (``knobs.nvidia.dump_ptxas_log``, not part of Triton's cache key),
so the worker captures that log and returns, per launch, the registers and spill-store bytes a
thread and Triton's shared memory (``compile_with_figures``). The figures are kept beside the
cache entry (``STATS_FILE``), so a later cache hit reports them too; only an entry written
without them runs ptxas once more on its PTX. The tuner reads them before it benchmarks
(``runtime/tuning.KernelTarget.review_compile``).

The worker runs this file as a script (``runpy.run_path``), not as a module of kcompiler: it
needs the standard library and Triton only, while importing kcompiler would pull in torch and
xDSL (seconds per worker process, paid again for each worker that replaces a killed one). So
the job's data is plain tuples, and this file imports nothing else at module level.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import io
import json
import linecache
import os
import re
import runpy
import subprocess
import tempfile
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple


class TensorSpec(NamedTuple):
    """A tensor argument as Triton specializes it."""

    dtype: str  # torch dtype name: "float32", "bfloat16", ...
    aligned: bool = True  # data_ptr() % 16 == 0


class LaunchSpec(NamedTuple):
    """One ``kernel[grid](*args, **kwargs)`` call of a generated module."""

    source: str  # the whole generated module (kernel + launchers)
    kernel_name: str
    args: tuple[Any, ...]  # TensorSpec | int | float | bool | None, in the kernel's order
    kwargs: tuple[tuple[str, Any], ...]  # constexprs by name, num_warps, num_stages


class UnsupportedLaunch(Exception):
    """A launch argument this module cannot describe; the config compiles in-process."""


# -- loading a generated module --------------------------------------------------------------
# The one loader of generated code: the compile driver (kcompiler/compiler/driver.py) loads
# every variant with it, and the worker loads a job's modules with it, so both name a module
# the same way. It lives here because the worker imports nothing of kcompiler (see above).


_GENERATED = "kcompiler_generated_"


def module_names(source: str) -> tuple[str, str]:
    """(digest, module name) of a generated module (Triton keys its cache on the kernel's
    source text and line, not on these)."""
    digest = hashlib.sha1(source.encode()).hexdigest()[:12]
    return digest, f"{_GENERATED}{digest}"


def load_module(
    source: str, kernel_name: str, names: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Execute a generated module and return its globals. It is registered with linecache
    under ``<kcompiler NAME DIGEST>``, because Triton's JIT reads a kernel's source through
    inspect/linecache. ``names``: globals the module's code reads that it does not define
    (the bounds checks' error buffer and flag), set before it runs."""
    digest, modname = module_names(source)
    filename = f"<kcompiler {kernel_name} {digest}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    scope: dict[str, Any] = {"__name__": modname, **(names or {})}
    exec(compile(source, filename, "exec"), scope)
    return scope


# -- main process: what the launcher would pass to Triton ------------------------------------


class _Recorder:
    """Stands in for a ``@triton.jit`` kernel while a launcher runs: records its calls."""

    def __init__(self, name: str, calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]]):
        self.name = name
        self.calls = calls

    def __getitem__(self, grid: Any) -> Any:
        def launch(*args: Any, **kwargs: Any) -> None:
            self.calls.append((self.name, args, kwargs))

        return launch


def _is_kernel(obj: Any) -> bool:
    """A ``@triton.jit`` function (compiled or interpreted)."""
    return type(obj).__name__ in ("JITFunction", "InterpretedFunction") or (
        hasattr(obj, "warmup") and hasattr(obj, "__getitem__") and hasattr(obj, "fn")
    )


class _Rebinder:
    """Copies of a launcher and the functions it closes over, in which every generated
    module's kernels are recorders. Nothing shared is modified, so the real launcher keeps
    working in other threads meanwhile."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.scopes: dict[int, dict[str, Any]] = {}
        self.copies: dict[int, Any] = {}

    def scope(self, g: dict[str, Any]) -> dict[str, Any]:
        if not str(g.get("__name__", "")).startswith(_GENERATED):
            return g
        if id(g) not in self.scopes:
            self.scopes[id(g)] = {
                k: _Recorder(k, self.calls) if _is_kernel(v) else v for k, v in g.items()
            }
        return self.scopes[id(g)]

    def copy(self, fn: Any) -> Any:
        if not isinstance(fn, types.FunctionType):
            return fn
        if id(fn) in self.copies:
            return self.copies[id(fn)]
        closure = None
        if fn.__closure__:
            cells = []
            for cell in fn.__closure__:
                try:
                    cells.append(types.CellType(self.copy(cell.cell_contents)))
                except ValueError:  # an empty cell
                    cells.append(types.CellType())
            closure = tuple(cells)
        new = types.FunctionType(
            fn.__code__, self.scope(fn.__globals__), fn.__name__, fn.__defaults__, closure
        )
        new.__kwdefaults__ = fn.__kwdefaults__
        self.copies[id(fn)] = new
        return new


def record_launch(source: str, launcher: Any, launcher_args: Sequence[Any]) -> list[LaunchSpec]:
    """Run a copy of ``launcher`` (a generated module's ``launch_*`` function, or a wrapper
    around such functions) on ``launcher_args`` with every kernel call recorded, launching
    nothing. ``source`` is that generated module's text. Returns the calls (none when the
    grid is empty); raises UnsupportedLaunch when the launcher reaches no generated module."""
    rebinder = _Rebinder()
    copy = rebinder.copy(launcher)
    if not rebinder.scopes:
        raise UnsupportedLaunch(f"{launcher!r} calls no generated kernel this module knows")
    copy(*launcher_args)
    return [
        LaunchSpec(
            source,
            name,
            tuple(describe(a) for a in args),
            tuple((k, describe(v)) for k, v in sorted(kwargs.items())),
        )
        for name, args, kwargs in rebinder.calls
    ]


def describe(value: Any) -> Any:
    """A picklable, torch-free description of one kernel argument."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)  # BlockSizeInt & co. pickle as plain ints
    if isinstance(value, float):
        return float(value)
    if hasattr(value, "data_ptr") and hasattr(value, "dtype"):
        dtype = str(value.dtype).rpartition(".")[2]
        return TensorSpec(dtype, value.data_ptr() % 16 == 0)
    raise UnsupportedLaunch(f"cannot describe a kernel argument of type {type(value).__name__}")


def record_launches(launches: Sequence[tuple[str, Any, Sequence[Any]]]) -> list[LaunchSpec]:
    """The calls of every ``(module source, launcher, launcher args)`` of one config
    (``record_launch``), each once: a kernel launched twice with one signature compiles once.
    Raises UnsupportedLaunch as ``record_launch`` does."""
    specs: list[LaunchSpec] = []
    for source, launcher, args in launches:
        for spec in record_launch(source, launcher, args):
            if spec not in specs:
                specs.append(spec)
    return specs


def job_for_launches(
    launches: Sequence[tuple[str, Any, Sequence[Any]]], interpret: bool
) -> tuple[Any, tuple[Any, ...]] | None:
    """The tuner's job for ``(module source, launcher, launcher args)`` of each launch of one
    config; None when there is nothing to compile (or a launch cannot be described)."""
    try:
        specs = record_launches(launches)
    except UnsupportedLaunch:
        return None
    return make_job(specs, interpret) if specs else None


_RUN_NAME = "__kcompiler_precompile__"


def make_job(specs: Sequence[LaunchSpec], interpret: bool) -> tuple[Any, tuple[Any, ...]]:
    """``(fn, args)`` for the compile pool: this file run as a script on plain-tuple data."""
    plain = tuple(
        (s.source, s.kernel_name, tuple(_plain(a) for a in s.args), tuple(s.kwargs)) for s in specs
    )
    job: dict[str, Any] = {"JOB": (plain, interpret)}
    if not interpret:
        # A GPU compile needs torch (the stand-in tensors' dtypes): a torch object in the
        # payload makes unpickling import it, which the pool charges to loading the job
        # rather than to the config's compile timeout.
        import torch

        job["TORCH"] = torch.float32
    return runpy.run_path, (__file__, job, _RUN_NAME)


def job_specs(job: tuple[Any, tuple[Any, ...]]) -> tuple[list[LaunchSpec], bool]:
    """The inverse of ``make_job``."""
    plain, interpret = job[1][1]["JOB"]
    return _specs(plain), interpret


def _plain(a: Any) -> Any:
    return tuple(a) if isinstance(a, TensorSpec) else a


def _specs(plain: Sequence[Any]) -> list[LaunchSpec]:
    return [
        LaunchSpec(
            source,
            name,
            tuple(TensorSpec(*a) if isinstance(a, tuple) else a for a in args),
            tuple(tuple(kv) for kv in kwargs),
        )
        for source, name, args, kwargs in plain
    ]


# -- worker process --------------------------------------------------------------------------


class _StandInTensor:
    """What Triton's specialization reads from a tensor (as triton's MockTensor): the dtype
    and the pointer's alignment."""

    def __init__(self, dtype: Any, aligned: bool):
        self.dtype = dtype
        self.shape = [1]
        self._ptr = 0 if aligned else dtype.itemsize

    def data_ptr(self) -> int:
        return self._ptr

    def stride(self) -> tuple[int, ...]:
        return (1,)

    @staticmethod
    def ptr_range() -> int:
        return 0  # as MockTensor: assume a 32-bit pointer range


def check_launch(spec: LaunchSpec) -> Any:
    """Build the module and check the recorded call against the kernel's signature.

    Returns the kernel object (a JITFunction, or Triton's interpreter wrapper)."""
    scope = load_module(spec.source, spec.kernel_name)
    kernel = scope.get(spec.kernel_name)
    launchers = [v for k, v in scope.items() if k.startswith("launch_") and callable(v)]
    if kernel is None or not launchers:
        raise RuntimeError(f"{spec.kernel_name}: the generated module defines no kernel/launcher")
    fn = getattr(kernel, "fn", kernel)
    params = list(inspect.signature(fn).parameters)
    options = {"num_warps", "num_stages", "num_ctas", "maxnreg", "ptx_options"}
    named = [k for k, _ in spec.kwargs if k not in options]
    if len(spec.args) + len(named) != len(params) or set(named) != set(params[len(spec.args) :]):
        raise TypeError(
            f"{spec.kernel_name}: the launch passes {len(spec.args)} positional and {named} "
            f"keyword arguments to a kernel of parameters {params}"
        )
    return kernel


def stand_in_arguments(spec: LaunchSpec) -> list[Any]:
    """The launch's arguments for ``JITFunction.warmup``: tensors as stand-ins that carry
    only what Triton specializes on (dtype, alignment), everything else as recorded."""
    import torch

    return [
        _StandInTensor(getattr(torch, a.dtype), a.aligned) if isinstance(a, TensorSpec) else a
        for a in spec.args
    ]


STATS_FILE = "kcompiler-ptxas.json"  # ptxas's figures, beside the cubin in Triton's cache entry


def parse_ptxas_log(log: str) -> dict[str, int] | None:
    """ptxas ``-v`` figures of the (one) entry function in ``log``; None without them."""
    regs = re.search(r"Used (\d+) registers", log)
    if regs is None:
        return None
    spills = re.search(r"(\d+) bytes spill stores", log)
    stack = re.search(r"(\d+) bytes stack frame", log)
    return {
        "registers": int(regs.group(1)),
        "spill_bytes": int(spills.group(1)) if spills else 0,
        "stack_bytes": int(stack.group(1)) if stack else 0,
    }


def compile_with_figures(kernel: Any, spec: LaunchSpec) -> tuple[Any, dict[str, int]]:
    """Compile one launch (``JITFunction.warmup`` with stand-in arguments, for the active
    driver's target) and return Triton's CompiledKernel with ptxas's figures: from the log of
    this compile, else (a cache hit) from ``STATS_FILE`` beside the entry, else from ptxas run
    on the entry's PTX; empty when none of these is available (a Triton without ptxas logs)."""
    from triton import knobs

    log = io.StringIO()
    nvidia = getattr(knobs, "nvidia", None)
    dump = getattr(nvidia, "dump_ptxas_log", None)
    if dump is not None:
        nvidia.dump_ptxas_log = True
    try:
        with contextlib.redirect_stdout(log):
            compiled = kernel.warmup(*stand_in_arguments(spec), grid=(1,), **dict(spec.kwargs))
    finally:
        if dump is not None:
            nvidia.dump_ptxas_log = dump
    group = dict(getattr(compiled, "metadata_group", {}) or {})
    entry = Path(next(iter(group.values()))).parent if group else None
    stats = parse_ptxas_log(log.getvalue())
    if stats is None and entry is not None and (entry / STATS_FILE).exists():
        stats = json.loads((entry / STATS_FILE).read_text())
    if stats is None:
        try:
            stats = _run_ptxas(compiled)
        except Exception:  # no figures (another Triton's ptxas API): the binary still counts
            stats = {}
    if entry is not None and stats and not (entry / STATS_FILE).exists():
        write_atomic(entry / STATS_FILE, json.dumps(stats).encode())
    return compiled, stats


def _run_ptxas(compiled: Any) -> dict[str, int]:
    """ptxas ``-v`` on the entry's PTX: figures for a cache entry written without them."""
    from triton.backends.nvidia.compiler import get_ptxas, sm_arch_from_capability

    arch = compiled.metadata.target.arch
    try:
        ptxas = get_ptxas(arch).path
    except TypeError:  # Triton versions whose get_ptxas takes no architecture
        ptxas = get_ptxas().path
    with tempfile.TemporaryDirectory() as tmp:
        ptx = Path(tmp) / "k.ptx"
        ptx.write_text(compiled.asm["ptx"])
        out = subprocess.run(
            [ptxas, "-v", f"--gpu-name={sm_arch_from_capability(arch)}", str(ptx)]
            + ["-o", str(Path(tmp) / "k.cubin")],
            capture_output=True,
            text=True,
            check=True,
        )
    stats = parse_ptxas_log(out.stderr + out.stdout)
    if stats is None:
        raise RuntimeError(f"ptxas -v reported no register count:\n{out.stderr[-1000:]}")
    return stats


def write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file and a rename, so a concurrent reader never sees half."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def precompile(specs: Sequence[LaunchSpec], interpret: bool) -> list[dict[str, Any]]:
    """The worker side of a job: compile (GPU) or check (interpreter) every launch. Returns,
    per compiled launch, its figures as plain data (``launch_figures``); none on the
    interpreter."""
    figures: list[dict[str, Any]] = []
    for spec in specs:
        kernel = check_launch(spec)
        if interpret:
            continue  # the interpreter compiles nothing; the module built, the call fits
        compiled, stats = compile_with_figures(kernel, spec)
        figures.append(
            {
                "kernel_name": spec.kernel_name,
                "registers": stats.get("registers"),
                "spill_bytes": stats.get("spill_bytes"),
                "shared_bytes": int(compiled.metadata.shared),
            }
        )
    return figures


FIGURES = "FIGURES"  # the name a finished job's figures have in its result


def launch_figures(result: Any) -> list[dict[str, Any]]:
    """The per-launch figures in a precompile job's result (what ``runpy.run_path`` returned
    to the pool); empty for an interpreter job."""
    figures = result.get(FIGURES) if isinstance(result, dict) else None
    return list(figures or [])


def _finish(figures: list[dict[str, Any]]) -> None:
    """End a worker's job: ``runpy.run_path`` returns a copy of this script's globals, which
    the pool sends back as the job's result. Leave only the figures (modules do not pickle)."""
    scope, name = globals(), FIGURES  # read before the globals go
    scope.clear()
    scope[name] = figures


__all__ = [
    "FIGURES",
    "STATS_FILE",
    "LaunchSpec",
    "TensorSpec",
    "UnsupportedLaunch",
    "check_launch",
    "compile_with_figures",
    "job_for_launches",
    "job_specs",
    "launch_figures",
    "make_job",
    "parse_ptxas_log",
    "precompile",
    "record_launch",
    "record_launches",
    "stand_in_arguments",
    "write_atomic",
]

if __name__ == _RUN_NAME:  # a worker running a job (make_job)
    _plain_specs, _interpret = globals()["JOB"]
    _finish(precompile(_specs(_plain_specs), _interpret))  # nothing runs after this line
