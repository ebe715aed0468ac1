"""The ``Kernel`` object users call: ties frontend, passes, backend and autotuning together.

A call binds the arguments, runs the host function, and at each device loop looks up (or
builds) the compiled variant for that loop's specialization key and the active config.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

if "TRITON_INTERPRET" not in os.environ:
    # No GPU: default to Triton's CPU interpreter, which must be chosen before triton loads.
    import sys

    import torch

    if "triton" not in sys.modules and not torch.cuda.is_available():
        os.environ["TRITON_INTERPRET"] = "1"

import torch
from xdsl.dialects.builtin import ModuleOp

from kcompiler.config import Config
from kcompiler.exc import CompileError, InvalidArgument
from kcompiler.frontend.host import HostProgram, parse_kernel
from kcompiler.frontend.specialize import BlockSizeInt, SpecializedInt, specialize
from kcompiler.frontend.tracer import BlockAllocator, trace_loop
from kcompiler.language._context import hosting
from kcompiler.runtime import custom_op as _custom_op


@functools.lru_cache(maxsize=1)
def interpreting() -> bool:
    """Triton reads TRITON_INTERPRET once, when it is imported; so do we."""
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


@dataclass
class CompiledLoop:
    source: str
    launcher: Callable[..., Any]
    params: list[str]
    block_sizes: dict[str, int]
    direct: Callable[..., None] | None = None

    def launch(self, env: dict[str, Any]) -> Any:
        """Launch through Triton's JIT; returns its compiled kernel (None when interpreting)."""
        return self.launcher(*[env[p] for p in self.params])


class _Launch:
    """A fast-path entry: the compiled variant, then (after one JIT launch) the compiled
    Triton kernel itself, launched directly on later calls with identical argument metadata."""

    __slots__ = ("compiled", "kernel", "run")

    def __init__(self, compiled: CompiledLoop):
        self.compiled = compiled
        self.kernel: Any = None
        self.run: Any = None

    def __call__(self, env: dict[str, Any]) -> None:
        if self.run is not None:
            try:
                self.run_direct(self.compiled, _current_stream(), env)
                return
            except TypeError:  # this Triton's launcher differs: go back to the JIT for good
                self.run = None
        k = self.compiled.launch(env)
        if (
            DIRECT_LAUNCH
            and self.compiled.direct is not None
            and k is not None
            and hasattr(type(k), "__getitem__")
            and hasattr(k, "function")
        ):
            # CompiledKernel[grid](*args, stream=...) is Triton's own launch of a compiled
            # kernel: it skips the JIT's per-call binding and specialization, keeps the hooks.
            def run(g0: int, g1: int, g2: int, stream: int, *_meta_and_args: Any) -> None:
                k[(g0, g1, g2)](*_meta_and_args[5:], stream=stream)

            self.kernel, self.run = k, run

    def run_direct(self, c: CompiledLoop, stream: int, env: dict[str, Any]) -> None:
        assert c.direct is not None
        c.direct(self.kernel, self.run, stream, *[env[p] for p in c.params])


def _current_stream() -> int:
    return torch.cuda.current_stream().cuda_stream


# Opt-in until measured on a GPU: launch compiled kernels directly on the fast path.
DIRECT_LAUNCH = os.environ.get("KCOMPILER_DIRECT_LAUNCH", "0") == "1"


_MISSING = object()


def _fingerprint(v: Any) -> Any:
    """What a value contributes to the fast-path key; cheap to compute on every call."""
    if isinstance(v, torch.Tensor):
        # data_ptr alignment: Triton specializes pointers on 16-byte alignment.
        return (v.dtype, v.shape, v.stride(), v.device, v.data_ptr() % 16)
    if isinstance(v, (int, str, type(None))) or v is _MISSING:
        return v  # ints: sizes and specialized values; bools too
    if isinstance(v, float):
        return float
    if isinstance(v, (list, tuple)):
        return (type(v), *(_fingerprint(x) for x in v))
    return (type(v), id(v))


class _HostRun:
    """Host-side state of one call: the config and registered block sizes."""

    def __init__(self, kernel: Kernel, config: Config, mode: str):
        self.kernel = kernel
        self.config = config
        self.mode = mode
        self.ordinal = 0
        self.sources: list[str] = []

    def register_block_size(self, lo: Any, hi: Any = None) -> BlockSizeInt:
        extent = int(hi if hi is not None else lo)
        sym = self.kernel.blocks.symbol(("host", self.ordinal))
        self.ordinal += 1
        # The default follows this call's extent; the value reaches codegen through the
        # specialization (Specialization.block_values), so both sides always agree.
        default = min(32, 1 if extent <= 1 else 1 << (extent - 1).bit_length())
        self.kernel.blocks.defaults[sym] = default
        idx = int(sym.split("_")[1])
        sizes = self.config.get("block_sizes") or []
        value = sizes[idx] if idx < len(sizes) else default
        return BlockSizeInt(value, sym)

    def specialize(self, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return SpecializedInt(value)
        if isinstance(value, (tuple, list)):  # torch.Size too: it becomes a plain tuple
            items = [self.specialize(v) for v in value]
            return items if isinstance(value, list) else tuple(items)
        return value

    def launch(self, index: int, env: dict[str, Any]) -> None:
        if self.mode == "fake":  # host code only: the custom op's fake impl, FLOP analysis
            return _custom_op.observe_launch(self, index, env)
        kernel = self.kernel
        # Fast path: the exact same argument metadata as a previous call (shapes, strides,
        # dtypes, scalar types, int values) maps straight to its compiled variant.
        names = kernel.program.loops[index].names
        cx = kernel.program.constexprs
        fp = (
            index,
            self.config,
            *[(n, repr(env[n])) if n in cx else _fingerprint(env[n]) for n in names if n in env],
        )
        entry = kernel._fast.get(fp)
        if entry is None:
            entry = _Launch(kernel._compiled_loop(index, env, self.config))
            if len(kernel._fast) > 4096:
                kernel._fast.clear()
            kernel._fast[fp] = entry
        if self.mode == "code":
            self.sources.append(entry.compiled.source)
            return
        entry(env)


@dataclass
class _BlocksView:
    """What the backend reads of the block allocator: literal and registered block sizes."""

    fixed: dict[str, int]
    defaults: dict[str, int]


class Kernel:
    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        config: Config | None = None,
        configs: Sequence[Config] | None = None,
        static_shapes: bool = False,
        ignore_warnings: Sequence[type] = (),
        autotune_effort: str | None = None,
        autotune_strategy: str | None = None,
        **settings: Any,
    ) -> None:
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.signature = inspect.signature(fn)
        self.config = config if config is None or isinstance(config, Config) else Config(config)
        self.configs = [c if isinstance(c, Config) else Config(c) for c in (configs or [])]
        self.static_shapes = static_shapes
        self.ignore_warnings = tuple(ignore_warnings)
        self.autotune_effort = autotune_effort
        self.autotune_strategy = autotune_strategy
        self.settings = settings
        self._program: HostProgram | None = None
        self.blocks = BlockAllocator()
        self._traced: dict[tuple[Any, ...], tuple[ModuleOp, Any]] = {}
        self._compiled: dict[tuple[Any, ...], CompiledLoop] = {}
        self._fast: dict[tuple[Any, ...], _Launch] = {}
        self._default_config = Config()
        self._host_fn: Callable[..., Any] | None = None
        self._current: _HostRun | None = None

    # -- user surface ------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not torch.compiler.is_compiling() and not torch._C._len_torch_dispatch_stack():
            # No dispatch mode or compiler to honour: skip the custom op's dispatch cost.
            return self._run(args, kwargs, self._choose_config(), "run")
        kid = _custom_op.handle(self)
        if kid is not None:  # through the kernel's torch.library op (runtime/custom_op.py)
            return _custom_op._entry(kid, *args, **kwargs)
        return self._run(args, kwargs, self._choose_config(), "run")

    def autotune(
        self, args: Sequence[Any], kwargs: dict[str, Any] | None = None, **options: Any
    ) -> Any:
        """Search the config space for these arguments; later calls use the best config.

        ``options``: effort ("none" | "quick" | "full"), strategy, budget_s; see
        ``kcompiler.autotune.Tuner``. Returns the TuneResult.
        """
        from kcompiler.runtime.tuning import autotune

        options.setdefault("effort", self.autotune_effort)
        options.setdefault("strategy", self.autotune_strategy)
        result = autotune(self, args, kwargs, **options)
        self.config = result.config
        self._fast.clear()
        return result

    def config_space(self, *args: Any, **kwargs: Any) -> Any:
        """The config space derived from the IR traced for these arguments."""
        from kcompiler.runtime.tuning import build_space

        return build_space(self, self.traced_modules(args, kwargs))

    def traced_modules(
        self, args: Sequence[Any], kwargs: dict[str, Any], config: Config | None = None
    ) -> list[ModuleOp]:
        """The traced IR of each device loop for these arguments (nothing is launched)."""
        modules: list[ModuleOp] = []

        def collect(index: int, env: dict[str, Any]) -> None:
            modules.append(self._trace(index, env)[0])

        host = _HostRun(self, config or self._choose_config(), "code")
        with hosting(host):  # kl.register_block_size needs a host
            self._run_with(args, kwargs, host.config, collect)
        return modules

    def _launch_current(self, index: int, env: dict[str, Any]) -> None:
        run = self._current
        assert run is not None, "device loop launched outside a kernel call"
        run.launch(index, env)

    def to_triton_code(self, *args: Any, config: Config | dict | None = None, **kwargs: Any) -> str:
        cfg = Config(config) if isinstance(config, dict) else (config or self._choose_config())
        host = self._run_host(args, kwargs, cfg, "code")
        return "\n\n".join(host.sources)

    def to_ir(self, *args: Any, config: Config | None = None, **kwargs: Any) -> str:
        """The traced tile IR of every device loop, as MLIR text."""
        return "\n".join(str(m) for m in self.traced_modules(args, kwargs, config))

    def bind(self, *args: Any, **kwargs: Any) -> inspect.BoundArguments:
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as e:
            raise InvalidArgument(f"{self.fn.__name__}: {e}") from None
        bound.apply_defaults()
        return bound

    # -- internals ---------------------------------------------------------------------------
    @property
    def program(self) -> HostProgram:
        if self._program is None:
            self._program = parse_kernel(self.fn)
        return self._program

    def _choose_config(self) -> Config:
        if self.config is not None:
            return self.config
        if self.configs:
            return self.configs[0]
        return self._default_config

    def _check_args(self, arguments: dict[str, Any]) -> None:
        devices = {v.device.type for v in arguments.values() if isinstance(v, torch.Tensor)}
        if len(devices) > 1:
            raise InvalidArgument(
                f"{self.fn.__name__}: tensors on several devices: {sorted(devices)}"
            )
        for name, value in arguments.items():
            if isinstance(value, torch.Tensor):
                if value.device.type not in ("cpu", "cuda"):
                    raise InvalidArgument(
                        f"{self.fn.__name__}: argument {name!r} is on {value.device.type!r}; "
                        "kernels run on CUDA tensors (or CPU tensors under TRITON_INTERPRET=1)"
                    )
                if value.device.type == "cpu" and not interpreting():
                    raise InvalidArgument(
                        f"{self.fn.__name__}: argument {name!r} is on the CPU; kernels run on a GPU "
                        "(or set TRITON_INTERPRET=1 before importing triton to use the interpreter)"
                    )
                if value.device.type == "cuda" and interpreting():
                    raise InvalidArgument(
                        f"{self.fn.__name__}: argument {name!r} is on CUDA but TRITON_INTERPRET=1"
                    )

    def _run_with(
        self,
        args: Sequence[Any],
        kwargs: dict[str, Any],
        config: Config,
        launch: Callable[[int, dict[str, Any]], None],
    ) -> Any:
        if launch != self._launch_current:
            # Code generation, tracing, fake runs: nothing launches, so any device will do
            # (meta tensors included).
            bound = self.bind(*args, **kwargs)
            return self.program.make_host(launch)(*bound.args, **bound.kwargs)
        # The call path: Python binds the arguments itself (the host function has the
        # kernel's signature); only the tensor arguments are checked.
        interp = interpreting()
        for a in (*args, *kwargs.values()):
            if isinstance(a, torch.Tensor) and (a.device.type == "cpu") != interp:
                bound = self.bind(*args, **kwargs)
                self._check_args(bound.arguments)  # raises with the argument's name
        if self._host_fn is None:
            self._host_fn = self.program.make_host(self._launch_current)
        try:
            return self._host_fn(*args, **kwargs)
        except TypeError as e:
            if e.__traceback__ is not None and e.__traceback__.tb_next is None:
                # Raised by the call itself, i.e. binding the arguments failed.
                self.bind(*args, **kwargs)  # raises InvalidArgument with the kernel's name
            raise

    def _run_host(
        self, args: Sequence[Any], kwargs: dict[str, Any], config: Config, mode: str
    ) -> _HostRun:
        host = _HostRun(self, config, mode)
        previous, self._current = self._current, host
        try:
            with hosting(host):
                launch = self._launch_current if mode == "run" else host.launch
                host.result = self._run_with(args, kwargs, config, launch)  # type: ignore[attr-defined]
        finally:
            self._current = previous
        return host

    def _run(self, args: Sequence[Any], kwargs: dict[str, Any], config: Config, mode: str) -> Any:
        return self._run_host(args, kwargs, config, mode).result  # type: ignore[attr-defined]

    def _trace(self, index: int, env: dict[str, Any]) -> tuple[ModuleOp, Any]:
        loop = self.program.loops[index]
        spec = specialize(loop.names, env, self.static_shapes, self.program.constexprs)
        key = (index, spec.key)
        hit = self._traced.get(key)
        if hit is not None:
            return hit
        from kcompiler.passes.pipeline import run_frontend_pipeline

        module = trace_loop(
            kernel_name=f"{self.program.name}_kernel{index}"
            if index
            else f"{self.program.name}_kernel",
            loop=loop.node,
            env=env,
            fn_globals=self.program.globals,
            spec=spec,
            blocks=self.blocks,
            site=index,
            filename=self.program.filename,
            line_offset=self.program.line_offset,
        )
        run_frontend_pipeline(module)
        self._traced[key] = (module, spec)
        return module, spec

    def _compiled_loop(self, index: int, env: dict[str, Any], config: Config) -> CompiledLoop:
        loop = self.program.loops[index]
        spec = specialize(loop.names, env, self.static_shapes, self.program.constexprs)
        ckey = (index, spec.key, config)
        hit = self._compiled.get(ckey)
        if hit is not None:
            return hit
        module, spec = self._trace(index, env)
        from kcompiler.backends.triton.compile import compile_module

        # Registered block sizes take the values the host code saw in this call.
        blocks = _BlocksView(self.blocks.fixed, {**self.blocks.defaults, **spec.block_values})
        compiled = compile_module(module, config, spec, blocks, interpret=interpreting())
        self._compiled[ckey] = compiled
        return compiled


def kernel(
    fn: Callable[..., Any] | None = None, **options: Any
) -> Kernel | Callable[[Callable[..., Any]], Kernel]:
    """Decorator: ``@kc.kernel``, ``@kc.kernel()``, ``@kc.kernel(config=kc.Config(...))``."""
    if fn is not None:
        return Kernel(fn, **options)
    return lambda f: Kernel(f, **options)


__all__ = ["CompileError", "Kernel", "kernel"]
