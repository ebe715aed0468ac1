"""The ``Kernel`` object users call: ties frontend, passes, backend and autotuning together.

A call binds the arguments, runs the host function, and at each device loop looks up (or
builds) the compiled variant for that loop's specialization key and the active config.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from xdsl.dialects.builtin import ModuleOp

from kcompiler import settings
from kcompiler.autotune import EFFORTS, Tuner
from kcompiler.autotune.strategies import available_strategies
from kcompiler.backends.triton.bounds import ErrorFlag, capturing, check_flags
from kcompiler.backends.triton.launch import WrongDevice, direct_launcher
from kcompiler.compiler import driver
from kcompiler.compiler.artifacts import BlocksView, CompiledLoop, CompileRequest
from kcompiler.compiler.driver import interpreting
from kcompiler.compiler.launch_errors import OutOfResources, invalid_config
from kcompiler.config import Config
from kcompiler.dialects.tile import next_pow2
from kcompiler.exc import (
    CompileError,
    InvalidArgument,
    InvalidConfig,
    KCompilerError,
    UnknownOption,
    UnsupportedConstruct,
    not_float,
)
from kcompiler.frontend.errors import internal_errors, numpy_argument_error, numpy_arguments
from kcompiler.frontend.global_reads import Read, loop_reads, read_values
from kcompiler.frontend.host import HostProgram, parse_kernel
from kcompiler.frontend.specialize import (
    BlockSizeInt,
    Specialization,
    SpecializedInt,
    lifted_names,
    specialize,
)
from kcompiler.frontend.tracer import BlockAllocator, trace_loop
from kcompiler.language._context import hosting, state
from kcompiler.passes.pass_manager import run_frontend_pipeline
from kcompiler.runtime import capture, tunables, tuning
from kcompiler.runtime import custom_op as _custom_op
from kcompiler.runtime.fastpath import REPLAY_TRIES, make_key, make_replay, param_getter, replayable
from kcompiler.runtime.table_configs import TableConfigs, batched_dims
from kcompiler.runtime.target_precompile import precompile

# Launch compiled kernels directly on the fast path (KCOMPILER_DIRECT_LAUNCH=0: always go
# through Triton's JIT). Read once, at import, like custom_op.ENABLED.
DIRECT_LAUNCH = settings.current().direct_launch


_is_compiling = torch.compiler.is_compiling
_dispatch_stack_depth = torch._C._len_torch_dispatch_stack
# Autograd's test at a launch whose fast-path entry has grad_guard set.
_grad_enabled = torch.is_grad_enabled


class FastPathEntry:
    """A fast-path entry (``Kernel.fast_path_entries``): the compiled variant and, after its
    first JIT launch, the direct launch of the Triton kernel that launch compiled
    (backends/triton/launch.py).

    Once the direct launch has run, the entry may *replay* it: the launcher's arguments to the
    direct launch are, for calls sharing the fast-path key, the same sizes, strides, grid and
    constexprs, with only the tensors and float scalars changing (runtime/fastpath.py). The
    replay passes this call's tensors and floats with the recorded constants, skipping the
    launcher (see ``fastpath.make_replay``, which decides when that is sound)."""

    __slots__ = ("allow_direct", "args", "compiled", "direct", "grad_guard", "record", "replay")

    def __init__(self, compiled: CompiledLoop, allow_direct: bool, grad_guard: bool = False):
        self.compiled = compiled
        # Whether the loop reads a tensor that requires grad (the key says so, fastpath.py):
        # such a launch in grad mode is refused (Kernel._refuse_grad). Such entries are never
        # a loop's last hit (_FastPath.last), whose path tests nothing.
        self.grad_guard = grad_guard
        self.allow_direct = allow_direct
        self.direct: Callable[..., None] | None = None
        self.args = param_getter(compiled.params)  # env -> the launcher's arguments
        self.replay: Callable[[dict[str, Any]], None] | None = None
        # Calls left that may record the direct launch for a replay (0: never replay).
        self.record = REPLAY_TRIES if allow_direct and replayable(compiled) else 0

    def __call__(self, env: dict[str, Any]) -> None:
        replay = self.replay
        if replay is not None:
            try:
                return replay(env)
            except WrongDevice:  # another current device: the JIT loads the kernel there
                return self._jit(self.args(env))
        args = self.args(env)
        direct = self.direct
        if direct is not None:
            try:
                if self.record:
                    return self._record(args, direct)
                return self.compiled.launcher(*args, _kc_launch=direct)
            except WrongDevice:
                pass
        self._jit(args)

    def _jit(self, args: tuple[Any, ...]) -> None:
        # The launch through Triton's JIT, which compiles and loads the kernel: where Triton
        # refuses a kernel the device cannot hold (kcompiler/compiler/launch_errors.py).
        compiled = self.compiled
        try:
            k = compiled.launcher(*args)
        except OutOfResources as e:
            raise invalid_config(e, compiled.knobs, compiled.location) from e
        errors = self.compiled.errors
        if errors is not None and errors.eager:  # the interpreter: the launch has finished
            errors.check()
        if self.allow_direct and k is not None and self.direct is None:
            self.direct = direct_launcher(k)

    def _record(self, args: tuple[Any, ...], direct: Callable[..., None]) -> None:
        self.record -= 1
        seen: list[tuple[Any, ...]] = []

        def recording(*launch_args: Any) -> None:
            seen.append(launch_args)
            direct(*launch_args)

        self.compiled.launcher(*args, _kc_launch=recording)
        if len(seen) == 1:
            errors = self.compiled.errors
            constants = (errors.tensor, errors.flag.tensor) if errors is not None else ()
            self.replay = make_replay(self.compiled.params, args, seen[0], direct, constants)
            if self.replay is not None:
                self.record = 0


class _GradNeeded(Exception):
    """Raised by a launch of ``kernel`` (a kernel with a backward) that autograd needs, on the
    direct path; ``Kernel.__call__`` catches it and calls again through the kernel's op."""

    def __init__(self, kernel: Kernel):
        super().__init__(kernel.fn.__name__)
        self.kernel = kernel


class _FastPath(dict):
    """The fast-path entries by key (runtime/fastpath.py), and each device loop's last hit
    (``last``: index -> (key, entry)), which a call whose key equals it takes without hashing
    the key. Clearing the entries clears those too."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        super().__init__()
        self.last: dict[int, tuple[tuple[Any, ...], FastPathEntry]] = {}

    def clear(self) -> None:
        super().clear()
        self.last.clear()


class _HostRun:
    """Host-side state of one call: the config and registered block sizes."""

    __slots__ = ("call", "config", "kernel", "mode", "ordinal", "outer", "result", "sources")

    def __init__(self, kernel: Kernel, config: Config, mode: str, outer: _HostRun | None = None):
        self.kernel = kernel
        self.config = config
        self.mode = mode
        self.ordinal = 0
        self.sources: list[str] = []
        self.call: tuple[Sequence[Any], dict[str, Any]] | None = None  # (args, kwargs)
        self.result: Any = None
        # The direct-path call whose host code made this one (a kernel calling a kernel), if
        # this call is on the direct path too: the calls a _GradNeeded may start again.
        self.outer = outer

    def register_block_size(self, lo: Any, hi: Any = None) -> BlockSizeInt:
        # kl.register_block_size(max) or kl.register_block_size(min, max): the minimum, a
        # power of two, bounds the default, the config space and any config given.
        low, extent = (1, int(lo)) if hi is None else (int(lo), int(hi))
        if low < 1 or next_pow2(low) != low:
            raise InvalidArgument(
                f"kl.register_block_size: the minimum block size must be a power of two, got {low}"
            )
        sym = self.kernel.blocks.symbol(("host", self.ordinal))
        self.ordinal += 1
        # The default follows this call's extent; the value reaches codegen through the
        # specialization (Specialization.block_values), so both sides always agree.
        default = max(low, min(32, next_pow2(extent)))
        self.kernel.blocks.defaults[sym] = default
        if low > 1:
            self.kernel.blocks.minimums[sym] = low
        idx = int(sym.split("_")[1])
        sizes = self.config.get("block_sizes") or []
        value = sizes[idx] if idx < len(sizes) else default
        if value < low:
            raise InvalidConfig(
                f"block_sizes[{idx}]={value} is below the minimum {low} that "
                f"kl.register_block_size({lo}, {hi}) gives it"
            )
        return BlockSizeInt(value, sym)

    def register_tunable(self, name: Any, fragment: Any, where: str) -> Any:
        return tunables.register(self.kernel, self.config, name, fragment, where)

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
        entry = self.kernel._entry(index, env, self.config)
        if self.mode == "code":
            self.sources.append(entry.compiled.source)
            return
        entry(env)


def _fn_name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__name__", type(fn).__name__)


def _no_launch(index: int, env: dict[str, Any]) -> None:
    """A host function's launch that does nothing (Kernel._host_names reads its code)."""


# Settings a kernel takes besides the named parameters of ``Kernel.__init__``, with their
# defaults; they are kept in ``Kernel.settings`` (and copied by code that remakes a kernel).
# Any other keyword is an UnknownOption: a misspelt option is an error, never ignored.
SETTINGS: dict[str, Any] = {
    "custom_op": True,  # False: calls never route through the kernel's torch.library op
    # Parameters that must be floating-point tensors, as the torch op the kernel implements
    # requires (softmax, norms, ...): an integer or bool tensor raises InvalidArgument. Checked
    # on the slow path only: the fast-path key holds every tensor's dtype.
    "float_inputs": (),
    # A config table written by ``python -m kcompiler.aot tune`` (a path or a
    # ``kcompiler.aot.Table``): each call takes its specialization's entry, or the nearest
    # one (kcompiler/runtime/config_table.py has the rule); a table never makes a call tune.
    "configs_table": None,
    # float32 tl.dot precision of this kernel's code (Helion's setting): "ieee", "tf32" or
    # "tf32x3"; None follows torch.backends' float32 matmul precision, as every kernel does.
    "dot_precision": None,
    # Helion's code generator choice: "triton" is the one kcompiler has; any other backend
    # (CuTe, TileIR, Pallas) is refused when the kernel is made.
    "backend": None,
    # kc.aot_kernel's options, Helion's names (kcompiler/aot): ``batched`` marks batch dims,
    # one entry per parameter (a list per tensor: an int marks its dim batched, None not; None
    # for other parameters), which the table's nearest-entry rule does not count; ``key(*args,
    # **kwargs)`` gives what a table's choice depends on (calls with equal keys share it);
    # ``collect_fn``/``measure_fn`` return the calls ``python -m kcompiler.aot tune`` tunes
    # when no --shapes is given.
    "batched": None,
    "key": None,
    "collect_fn": None,
    "measure_fn": None,
}

DOT_PRECISIONS = ("ieee", "tf32", "tf32x3")


# Helion's settings that steer only Helion's own autotuner, its logs and its debug output
# (kcompiler's tuner takes ``autotune_effort``/``autotune_strategy`` and ``Kernel.autotune``'s
# options). A kernel written for Helion passes them; they are accepted by exact name and have
# no effect on the compiled code or the results, so a misspelt name is still an UnknownOption.
HELION_TUNER_SETTINGS = frozenset(
    {
        "autotune_accuracy_check",
        "autotune_adaptive_timeout",
        "autotune_baseline_accuracy_check_fn",
        "autotune_baseline_atol",
        "autotune_baseline_fn",
        "autotune_baseline_rtol",
        "autotune_benchmark_fn",
        "autotune_benchmark_subprocess",
        "autotune_benchmark_timeout",
        "autotune_best_of_k",
        "autotune_budget_seconds",
        "autotune_cache",
        "autotune_compile_timeout",
        "autotune_config_filter",
        "autotune_config_overrides",
        "autotune_ignore_errors",
        "autotune_log",
        "autotune_log_details",
        "autotune_log_level",
        "autotune_max_generations",
        "autotune_precompile",
        "autotune_precompile_jobs",
        "autotune_progress_bar",
        "autotune_random_seed",
        "autotune_rebenchmark_threshold",
        "autotune_search_acf",
        "autotune_seed_configs",
        "force_autotune",
        "print_output_code",
        "print_repro",
        "output_origin_lines",
    }
)


def kernel_options() -> tuple[str, ...]:
    """Every keyword ``kc.kernel(...)`` accepts: the constructor's parameters and SETTINGS."""
    params = inspect.signature(Kernel.__init__).parameters.values()
    named = [p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY]
    return (*named, *SETTINGS)


def _check_autotune_options(effort: str | None, strategy: str | None) -> None:
    """Refuse, when the kernel is made, an effort or strategy name that the tuner would refuse
    only once tuning starts (it still checks ``$KCOMPILER_AUTOTUNE_*`` and the arguments of
    ``Kernel.autotune`` itself)."""
    if effort is not None and effort not in EFFORTS:
        raise UnknownOption("autotune_effort", effort, EFFORTS)
    if isinstance(strategy, str) and strategy not in available_strategies():
        raise UnknownOption("autotune_strategy", strategy, available_strategies())


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
        for name in settings:
            if name not in SETTINGS and name not in HELION_TUNER_SETTINGS:
                raise UnknownOption("kc.kernel option", name, kernel_options())
        if autotune_effort is not None or isinstance(autotune_strategy, str):
            _check_autotune_options(autotune_effort, autotune_strategy)
        backend = settings.get("backend")
        if backend is not None and backend != "triton":
            code = getattr(fn, "__code__", None)
            where = f"{code.co_filename}:{code.co_firstlineno}" if code is not None else None
            raise UnsupportedConstruct(
                f"not supported: backend={backend!r} (kcompiler generates Triton code only; "
                "pass backend='triton' or leave the option out)",
                where,
            )
        if settings.get("batched") is not None:
            batched_dims(_fn_name(fn), inspect.signature(fn), settings["batched"])
        for name in ("key", "collect_fn", "measure_fn"):
            if settings.get(name) is not None and not callable(settings[name]):
                raise InvalidArgument(f"{_fn_name(fn)}: {name} must be a callable")
        precision = settings.get("dot_precision")
        if precision is not None and precision not in DOT_PRECISIONS:
            raise UnknownOption("dot_precision", precision, DOT_PRECISIONS)
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.signature = inspect.signature(fn)
        names = settings.get("float_inputs", ())
        self.float_inputs = (names,) if isinstance(names, str) else tuple(names)
        for name in self.float_inputs:
            if name not in self.signature.parameters:
                raise UnknownOption(
                    f"parameter of {fn.__name__} in float_inputs", name, self.signature.parameters
                )
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
        self._fast = _FastPath()
        self._keys: dict[int, Callable[..., Any]] = {}  # per device loop: its fast-path key
        self._key_reads: dict[int, tuple[Read, ...]] = {}  # the globals each key reads
        # Launches whose key had no fast-path entry yet (counted on the slow path only): a
        # repeated call that adds to it missed the fast path (tests, benchmarks.host_profile).
        self.fast_path_misses = 0
        self.direct_launch = DIRECT_LAUNCH  # False: every launch goes through Triton's JIT
        self._op_id = _custom_op.register(self)  # see runtime/custom_op.py
        self.backward_rule: _custom_op.BackwardRule | None = None  # register_backward
        self._grad_names: list[str] = []  # what the last refused launch read that needs grad
        self._default_config = Config()
        self._host_fn: Callable[..., Any] | None = None
        self._current: _HostRun | None = None
        # Set when a launch of any of this kernel's variants failed a bounds check (bounds.py);
        # made at the first compile.
        self._error_flag: ErrorFlag | None = None
        self.table: Any = None  # kcompiler.aot.TableConfigs, see use_table
        # kl.register_tunable declarations: name -> fragment (runtime/tunables.py).
        self.tunables: dict[str, Any] = {}
        tunables.declare_from_source(fn)
        if settings.get("configs_table") is not None:
            self.use_table(settings["configs_table"])

    # -- user surface ------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _is_compiling() or _dispatch_stack_depth():
            # Through the kernel's torch.library op (runtime/custom_op.py).
            kid = self._op_id
            if _custom_op.wants_grad(args, kwargs):
                return self._call_with_grad(args, kwargs)
            if kid is not None and _custom_op.routing():
                return _custom_op.call_op(kid, *args, **kwargs)
            return self._run(args, kwargs, self.choose_config(args, kwargs), "run")
        # No dispatch mode or compiler to honour: run the host code here, with no dispatcher
        # cost. This is the per-call path; everything it can defer to a fast-path miss, it does.
        # Autograd adds no test here: a launch that reads a tensor requiring grad in grad mode
        # (the fast-path key holds requires_grad) raises NoBackward or, for a kernel with a
        # backward, _GradNeeded, and the call starts again through the op.
        config = self.config
        thread = state
        outer = getattr(thread, "host", None)  # language/_context.hosting, inlined
        if config is None:
            config = self.choose_config(args, kwargs)
        host = _HostRun(self, config, "run", outer)
        host.call = (args, kwargs)
        previous, self._current = self._current, host
        thread.host = host
        try:
            return self._call_host_fn(args, kwargs)
        except _GradNeeded as e:
            if e.kernel is not self:
                raise
        finally:
            thread.host = outer
            self._current = previous
        return self._call_with_grad(args, kwargs)

    def register_backward(
        self,
        backward: Callable[..., Any] | None = None,
        /,
        *,
        setup_context: Callable[[Any, tuple[Any, ...], Any], None] | None = None,
    ) -> Any:
        """Declare this kernel's backward, so that its outputs carry a gradient.

        ``setup_context(ctx, inputs, output)`` runs after the forward: ``inputs`` holds the
        kernel's arguments in parameter order (defaults filled), ``output`` its result as
        returned; it saves what the backward needs (``ctx.save_for_backward(...)`` for tensors,
        attributes for other values; ``ctx.mark_non_differentiable`` for outputs such as saved
        statistics). ``backward(ctx, *grad_outputs)`` gets one gradient per output tensor, in
        result order, and returns one gradient per parameter (a tuple; a dict by name; the bare
        gradient of a one-parameter kernel), None for non-tensors or where none is needed
        (``ctx.needs_input_grad`` is per parameter). Backed by ``torch.library.register_autograd``
        on the kernel's custom op (runtime/custom_op.py), so it works in eager calls,
        ``torch.autograd.gradcheck`` and ``torch.compile``.

        Use as ``@k.register_backward`` or ``@k.register_backward(setup_context=save)``, or
        call ``k.register_backward(fn, setup_context=save)``; returns ``backward``.
        """

        def attach(fn: Callable[..., Any]) -> Callable[..., Any]:
            if not callable(fn) or (setup_context is not None and not callable(setup_context)):
                raise InvalidArgument(
                    f"{self.fn.__name__}.register_backward: backward and setup_context must be "
                    "callables"
                )
            if self._op_id is None:  # calls that need a gradient always go through the op
                self._op_id = _custom_op.register(self, force=True)
            _custom_op.set_backward(self, _custom_op.BackwardRule(fn, setup_context))
            return fn

        return attach if backward is None else attach(backward)

    def _call_with_grad(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """A call autograd records: through the op that carries the kernel's backward, or for a
        kernel without one, its forward-only op (outputs whose backward raises NoBackward)."""
        if not _custom_op.grad_arguments(self, args, kwargs):
            # Only tensors that are no argument (globals, say) require grad: the op's autograd
            # formula cannot see them.
            raise _custom_op.no_backward(self, self._grad_names)
        forward_only = self.backward_rule is None
        if forward_only and self._op_id is None:  # custom_op=False: grad calls still need one
            self._op_id = _custom_op.register(self, force=True)
        if _custom_op.grad_routing():
            if forward_only:
                return _custom_op.call_forward_only(self._op_id, *args, **kwargs)
            return _custom_op.call_op(self._op_id, *args, **kwargs)
        # Inside another kernel's op (its host code calls this kernel): still through this op.
        return _custom_op.dispatch(self, args, kwargs, forward_only)

    def autotune(
        self, args: Sequence[Any], kwargs: dict[str, Any] | None = None, **options: Any
    ) -> Any:
        """Search the config space for these arguments; later calls use the best config.

        ``options``: effort ("none" | "quick" | "full"), strategy, budget_s; see
        ``kcompiler.autotune.Tuner``. Returns the TuneResult.
        """
        valid = [
            p.name
            for f in (tuning.autotune, Tuner.__init__)
            for p in inspect.signature(f).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        ]
        for name in options:
            if name not in valid:
                raise UnknownOption("autotune option", name, valid)
        options.setdefault("effort", self.autotune_effort)
        options.setdefault("strategy", self.autotune_strategy)
        result = tuning.autotune(self, args, kwargs, **options)
        self.config = result.config
        self._fast.clear()
        return result

    def precompile(
        self,
        *args: Any,
        configs: Sequence[Config | dict[str, Any]] | None = None,
        target: str = "sm_90",
        backend: str = "local",
        workers: int | None = None,
        timeout_s: float = 300.0,
        store: str | None = None,
        **kwargs: Any,
    ) -> list[Any]:
        """Compile ``configs`` (default: the config space's default and starts) for these
        arguments and a named GPU target (``"sm_90"``: H100/H200), on a machine with or
        without that GPU; no kernel runs. ``backend``: ``"local"`` (worker processes here) or
        ``"ray"``; ``store``: a directory that receives every binary in Triton's cache format
        (``backends.triton.target_compile.install_tree`` installs it on the GPU host). Returns
        a ``runtime.target_precompile.PrecompileRecord`` per config, in order."""

        return precompile(self, args, kwargs, configs, target, backend, workers, timeout_s, store)

    def use_table(self, table: Any) -> None:
        """Take each call's config from a config table (a path to the JSON that
        ``python -m kcompiler.aot tune`` writes, or a ``kcompiler.aot.Table``); None detaches
        it. An explicit ``config`` (or a tuned one) still wins. See kcompiler/aot."""
        self.table = None if table is None else TableConfigs.attach(self, table)
        self._fast.clear()

    def generated_launches(
        self,
        args: Sequence[Any],
        kwargs: dict[str, Any],
        config: Config,
        interpret: bool | None = None,
    ) -> list[tuple[str, Callable[..., Any], list[Any]]]:
        """Generate and load every device loop's code for these arguments and config,
        launching nothing: per launch, (generated module source, its launcher, the launcher's
        arguments), as ``backends/triton/precompile.job_for_launches`` takes them.
        ``interpret=False`` generates GPU code even under Triton's interpreter (compiling for
        a named target on a machine without it); None: this process's mode."""
        launches: list[tuple[str, Callable[..., Any], list[Any]]] = []

        def collect(index: int, env: dict[str, Any]) -> None:
            c = self.compile_loop(index, env, config, interpret)
            launches.append((c.source, c.launcher, list(param_getter(c.params)(env))))

        with hosting(_HostRun(self, config, "code")):
            self._run_with(args, kwargs, config, collect)
        return launches

    def _flag(self) -> ErrorFlag:
        """The error flag of this kernel's variants, made when the first one needs it."""
        if self._error_flag is None:
            self._error_flag = ErrorFlag(pinned=not interpreting() and torch.cuda.is_available())
        return self._error_flag

    def check_errors(self, sync: bool = True) -> None:
        """Raise ``kc.exc.IndexOutOfBounds`` if a launch of this kernel indexed outside a
        tensor. On a GPU the error otherwise surfaces at the kernel's next call; this waits
        for the GPU first (unless ``sync=False``, or during CUDA graph capture, where it reads
        what earlier launches recorded: runtime/capture.py)."""
        check_flags([self._error_flag] if self._error_flag is not None else [], sync)

    def config_space(self, *args: Any, **kwargs: Any) -> Any:
        """The config space derived from the IR traced for these arguments. Its default is
        made here, so defaults that no halving of block sizes repairs raise ConfigError from
        this call (a space handed to a user is one to draw configs from)."""
        space = tuning.build_space(self, self.traced_modules(args, kwargs))
        space.default()
        return space

    def traced_modules(
        self, args: Sequence[Any], kwargs: dict[str, Any], config: Config | None = None
    ) -> list[ModuleOp]:
        """The traced IR of each device loop for these arguments (nothing is launched)."""
        modules: list[ModuleOp] = []

        def collect(index: int, env: dict[str, Any]) -> None:
            modules.append(self.trace_loop(index, env)[0])

        if config is None:
            config = self.choose_config(args, kwargs)
        host = _HostRun(self, config, "code")
        with hosting(host):  # kl.register_block_size needs a host
            self._run_with(args, kwargs, host.config, collect)
        return modules

    def _launch_current(self, index: int, env: dict[str, Any]) -> None:
        run = self._current
        assert run is not None, "device loop launched outside a kernel call"
        if run.mode != "run":
            return run.launch(index, env)
        flag = self._error_flag  # on a GPU: whether earlier launches failed a bounds check
        if flag is not None and flag.words[0] and not capturing():
            flag.raise_error()  # during capture it stays set for a later call (capture.py)
        key = self._keys.get(index)
        if key is not None:
            fp = key(env, run.config)
            fast = self._fast
            last = fast.last.get(index)  # this loop's last hit: compared, not hashed
            if last is not None and last[0] == fp:
                entry = last[1]  # never one with grad_guard set: see below
                replay = entry.replay  # FastPathEntry.__call__'s first branch, inlined
                if replay is None:
                    return entry(env)
                try:
                    return replay(env)
                except WrongDevice:
                    return entry._jit(entry.args(env))
            entry = fast.get(fp)
            if entry is not None:
                if entry.grad_guard:
                    # Its loop reads a tensor that requires grad: tested here, on every hit, and
                    # never made the loop's last hit, so that the hit above tests nothing.
                    if _grad_enabled():
                        raise self._refuse_grad(index, env)
                    return entry(env)
                fast.last[index] = (fp, entry)
                return entry(env)
        self.fast_path_misses += 1
        # Checked once per fast-path key, not per call: the devices of the arguments (first)
        # and of every other tensor the loop reads.
        names = self._names_read(index, env)
        params = [n for n in self.signature.parameters if n in names]
        if capturing():  # a miss would compile: refused during CUDA graph capture
            where = f"{self.program.filename}:{self.program.def_line}"
            raise capture.compile_refused(self.fn.__name__, where, [*params, *names], env)
        tensors = {n: env[n] for n in (*params, *names) if isinstance(env.get(n), torch.Tensor)}
        self._check_args(tensors)
        for name in self.float_inputs:
            value = env.get(name)
            if isinstance(value, torch.Tensor) and not value.dtype.is_floating_point:
                raise not_float(self.fn.__name__, name, value.dtype)
        entry = self._entry(index, env, run.config)
        if entry.grad_guard and _grad_enabled():
            raise self._refuse_grad(index, env)
        entry(env)

    def _refuse_grad(self, index: int, env: dict[str, Any]) -> Exception:
        """What a launch raises when grad mode is on and its loop reads tensors that require
        grad: autograd needs this call, so it must go through an op with a backward. For a
        kernel with one, _GradNeeded (``__call__`` starts the call again through the op);
        else, or when the call came through ``_run`` (the op path decided already),
        NoBackward naming those tensors."""
        names = [
            n
            for n in self._names_read(index, env)
            if isinstance(env.get(n), torch.Tensor) and env[n].requires_grad
        ]
        self._grad_names = names
        # The outermost direct-path call of a kernel with a backward starts again through its
        # op: its backward covers what the kernels its host code calls compute (a wrapper's).
        # With none, the outermost direct-path call starts again through its forward-only op.
        target = outermost = None
        run = self._current
        while run is not None:
            outermost = run.kernel
            outermost._grad_names = names
            if run.kernel.backward_rule is not None:
                target = run.kernel
            run = run.outer
        if target is None:
            target = outermost
        if target is not None:
            return _GradNeeded(target)
        return _custom_op.no_backward(self, names)

    def _names_read(self, index: int, env: dict[str, Any]) -> list[str]:
        """The names device loop ``index`` reads in ``env``: its own, and the tensors captured
        by the functions it calls, which travel as kernel arguments."""
        loop = self.program.loops[index]
        return [*loop.names, *lifted_names(env, loop.called)] if loop.called else loop.names

    def _entry(self, index: int, env: dict[str, Any], config: Config) -> FastPathEntry:
        """The compiled launch for this loop, environment and config. Calls whose values match
        a previous call's fast-path key (runtime/fastpath.py) share its entry."""
        fp = self.fast_path_key(index, env, config)
        entry = self._fast.get(fp)
        if entry is None:
            names = self._names_read(index, env)
            guard = any(
                isinstance(env.get(n), torch.Tensor) and env[n].requires_grad for n in names
            )
            entry = FastPathEntry(self.compile_loop(index, env, config), self.direct_launch, guard)
            if len(self._fast) > 4096:
                self._fast.clear()
            self._fast[fp] = entry
        return entry

    def to_triton_code(self, *args: Any, config: Config | dict | None = None, **kwargs: Any) -> str:
        chosen = config or self.choose_config(args, kwargs)
        cfg = Config(config) if isinstance(config, dict) else chosen
        host = self._run_host(args, kwargs, cfg, "code")
        return "\n\n".join(host.sources)

    def to_ir(self, *args: Any, config: Config | None = None, **kwargs: Any) -> str:
        """The traced tile IR of every device loop, as MLIR text."""
        return "\n".join(str(m) for m in self.traced_modules(args, kwargs, config))

    def bind(self, *args: Any, **kwargs: Any) -> BoundKernel:
        """This kernel bound to one call's arguments (``InvalidArgument`` if they do not fit
        its signature): what the compiler sees and makes for that call, launching nothing
        unless asked (``BoundKernel.run``)."""
        return BoundKernel(self, args, kwargs)

    def compiled_variants(self) -> list[CompiledLoop]:
        """Every compiled variant made so far: one per device loop, specialization key,
        config and compile setting seen (oldest first)."""
        return list(self._compiled.values())

    def fast_path_entries(self, last_hits: bool = False) -> list[FastPathEntry]:
        """The fast-path entries, one per fast-path key seen (runtime/fastpath.py); with
        ``last_hits``, only each device loop's last hit (the entries repeated calls take
        without hashing their key)."""
        if last_hits:
            return [entry for _, entry in self._fast.last.values()]
        return list(self._fast.values())

    def fast_path_stats(self) -> FastPathStats:
        """Counts of the fast path's state (tests and ``benchmarks.host_profile`` read them)."""
        entries = self._fast.values()
        return FastPathStats(
            entries=len(self._fast),
            last_hits=len(self._fast.last),
            misses=self.fast_path_misses,
            direct=sum(e.direct is not None for e in entries),
            replaying=sum(e.replay is not None for e in entries),
        )

    def fast_path_key(self, index: int, env: dict[str, Any], config: Config) -> tuple[Any, ...]:
        """The fast-path key of device loop ``index`` for the host values ``env`` and
        ``config``: calls with equal keys share one fast-path entry."""
        key = self._keys.get(index)
        reads = self.loop_reads(index)
        known = self._key_reads.get(index, ())
        if key is None or not set(reads) <= set(known):
            # The globals a loop reads follow the functions it calls as bound now: a key that
            # lacks some (a helper rebound to one reading other globals) reads them all from
            # now on.
            loop = self.program.loops[index]
            cx = self.program.constexprs
            reads = tuple(dict.fromkeys((*known, *reads)))
            key = make_key(index, loop.names, cx, self._host_names(), reads)
            self._keys[index] = key
            self._key_reads[index] = reads
            self._fast.last.pop(index, None)
        return key(env, config)

    def loop_reads(self, index: int) -> tuple[Read, ...]:
        """The module globals and closure cells device loop ``index`` reads, directly or
        through the functions it calls as they are bound now (frontend/global_reads.py)."""
        loop = self.program.loops[index]
        return loop_reads(loop.globals, self.program.globals, loop.attributes)

    def clear_caches(self, *, variants: bool = False, traces: bool = False) -> None:
        """Forget the fast-path entries (the next call of each key takes the slow path), and
        with ``variants`` the compiled variants, with ``traces`` the traced IR too (the next
        call compiles, or traces, afresh)."""
        self._fast.clear()
        if variants or traces:
            self._compiled.clear()
        if traces:
            self._traced.clear()

    # -- internals ---------------------------------------------------------------------------
    def _bind_arguments(
        self, args: Sequence[Any], kwargs: dict[str, Any]
    ) -> inspect.BoundArguments:
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as e:
            raise InvalidArgument(f"{self.fn.__name__}: {e}") from None
        bound.apply_defaults()
        return bound

    @property
    def program(self) -> HostProgram:
        if self._program is None:
            self._program = parse_kernel(self.fn)
        return self._program

    def _host_names(self) -> frozenset[str] | None:
        """What a device loop's environment can hold: the host function's ``locals()`` (its
        parameters, local, cell and free variables) and the closure variables ``make_host``
        adds. None when that cannot be read (then the fast-path key looks up every name)."""
        code = getattr(self.program.make_host(_no_launch), "__code__", None)
        closure = getattr(getattr(self.fn, "__code__", None), "co_freevars", None)
        if code is None or closure is None:
            return None
        return frozenset((*code.co_varnames, *code.co_cellvars, *code.co_freevars, *closure))

    def choose_config(
        self, args: Sequence[Any] | None = None, kwargs: dict[str, Any] | None = None
    ) -> Config:
        """The config of a call: ``config``, else the table's for these arguments (when both
        a table and the arguments are given), else ``configs[0]``, else the default."""
        if self.config is not None:
            return self.config
        if self.table is not None and args is not None:
            chosen = self.table.config_for(self, args, kwargs or {})
            if chosen is not None:
                return chosen
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
            bound = self._bind_arguments(args, kwargs)
            try:
                return self.program.make_host(launch)(*bound.args, **bound.kwargs)
            except Exception as e:
                self._refuse_numpy(args, kwargs, e)
                raise
        return self._call_host_fn(args, kwargs)  # the call path, as ``__call__``'s own

    def _call_host_fn(self, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
        """Run the host function that launches through ``_launch_current``; Python binds the
        arguments itself (it has the kernel's signature)."""
        host_fn = self._host_fn
        if host_fn is None:
            host_fn = self._host_fn = self.program.make_host(self._launch_current)
        try:
            return host_fn(*args, **kwargs)
        except Exception as e:
            tb = e.__traceback__
            if isinstance(e, TypeError) and tb is not None and tb.tb_next is None:
                # Raised by the call itself, i.e. binding the arguments failed.
                self._bind_arguments(args, kwargs)  # raises InvalidArgument, naming the kernel
            self._refuse_numpy(args, kwargs, e)
            raise

    def _refuse_numpy(self, args: Sequence[Any], kwargs: dict[str, Any], error: Exception) -> None:
        """Host code failed on a numpy array argument: say that, rather than what numpy or
        torch made of it (only looked at once the host code has raised)."""
        if not isinstance(error, KCompilerError):
            names = numpy_arguments(self.signature, args, kwargs)
            if names:
                where = f"{self.program.filename}:{self.program.def_line}"
                raise numpy_argument_error(self.fn.__name__, where, names) from error

    def _run_host(
        self, args: Sequence[Any], kwargs: dict[str, Any], config: Config, mode: str
    ) -> _HostRun:
        host = _HostRun(self, config, mode)
        host.call = (args, kwargs)
        previous, self._current = self._current, host
        try:
            with hosting(host):
                launch = self._launch_current if mode == "run" else host.launch
                host.result = self._run_with(args, kwargs, config, launch)
        except _GradNeeded as e:
            if e.kernel is not self:
                raise
            # Not the direct path: the caller chose not to go through the op (no argument
            # requires grad), so what requires grad is no argument.
            raise _custom_op.no_backward(self, self._grad_names) from None
        finally:
            self._current = previous
        return host

    def _run(self, args: Sequence[Any], kwargs: dict[str, Any], config: Config, mode: str) -> Any:
        return self._run_host(args, kwargs, config, mode).result

    def loop_specialization(self, index: int, env: dict[str, Any]) -> Specialization:
        """The specialization of device loop ``index`` for the host values ``env``."""
        return specialize(
            self.program.loops[index].names,
            env,
            self.static_shapes,
            self.program.constexprs,
            self.program.constants,
            read_values(self.loop_reads(index)),
        )

    def trace_loop(self, index: int, env: dict[str, Any]) -> tuple[ModuleOp, Any]:
        """The traced IR of device loop ``index`` for the host values ``env`` (after the
        frontend pipeline) and the specialization it was traced for; cached by its key."""
        loop = self.program.loops[index]
        spec = self.loop_specialization(index, env)
        key = (index, spec.key)
        hit = self._traced.get(key)
        if hit is not None:
            return hit
        where = f"{self.program.filename}:{loop.node.lineno + self.program.line_offset}"
        with internal_errors(where, f"tracing kernel {self.program.name!r}"):
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

    def compile_loop(
        self, index: int, env: dict[str, Any], config: Config, interpret: bool | None = None
    ) -> CompiledLoop:
        """The compiled variant of device loop ``index`` for the host values ``env`` and
        ``config`` (cached by specialization key, config and compile settings): traces the
        loop if needed and runs the compile driver (kcompiler/compiler/driver.py).
        ``interpret=False`` generates GPU code even under Triton's interpreter (compiling for a
        named target on a machine without it); None: this process's mode."""
        loop = self.program.loops[index]
        interpret = interpreting() if interpret is None else interpret
        spec = self.loop_specialization(index, env)
        # The settings that change generated code (torch's float32 matmul precision among
        # them, and the mode: interpreter or GPU code) are part of the key; a call whose
        # fast-path entry exists keeps the variant it was made with.
        compile_settings = driver.CompileSettings.current(interpret)
        precision = self.settings.get("dot_precision")
        if precision is not None:
            compile_settings = dataclasses.replace(compile_settings, fp32_dot_precision=precision)
        ckey = (index, spec.key, config, compile_settings)
        hit = self._compiled.get(ckey)
        if hit is not None:
            return hit
        tunables.check_config(self, config)
        module, spec = self.trace_loop(index, env)
        given = config.get("block_sizes")
        call = getattr(self._current, "call", None)
        if isinstance(given, list) and len(given) > self.blocks.count and call is not None:
            # The loops this call has not reached yet may hold the blocks the extra entries
            # are for: trace them all (nothing launches) before judging the config.
            self.traced_modules(*call, config)
        # Registered block sizes take the values the host code saw in this call.
        blocks = BlocksView(
            self.blocks.fixed, {**self.blocks.defaults, **spec.block_values}, self.blocks.count
        )
        where = f"{self.program.filename}:{loop.node.lineno + self.program.line_offset}"
        request = CompileRequest(module, spec, blocks, self._flag, where)
        with internal_errors(where, f"compiling kernel {self.program.name!r} for {config}"):
            compiled = driver.compile_loop(request, config, compile_settings)
        self._compiled[ckey] = compiled
        return compiled


class BoundKernel:
    """A kernel bound to one call's arguments (``Kernel.bind``): the IR it traces, its config
    space, the code and variants each config compiles to, and runs with a chosen config.

    Only ``run`` launches; everything else runs the host code with its device loops skipped
    (any tensors will do, meta tensors included). ``config=None`` means the config the call
    itself would take (``config``: the kernel's, else its table's, else ``configs[0]``, else
    the default). Traces and variants land in the kernel's caches, as a call's would.
    """

    def __init__(self, kernel: Kernel, args: Sequence[Any], kwargs: dict[str, Any]):
        self.kernel = kernel
        self.args = tuple(args)
        self.kwargs = dict(kwargs)
        # Parameter name -> value, defaults filled (raises InvalidArgument when they do not fit).
        self.arguments: dict[str, Any] = dict(kernel._bind_arguments(args, kwargs).arguments)

    def config(self) -> Config:
        """The config this call takes."""
        return self.kernel.choose_config(self.args, self.kwargs)

    def _config(self, config: Config | dict[str, Any] | None) -> Config:
        if config is None:
            return self.config()
        return config if isinstance(config, Config) else Config(config)

    def device_loops(self, config: Config | None = None) -> list[tuple[int, dict[str, Any]]]:
        """(index, host values) of each device loop the call reaches, in launch order."""
        loops: list[tuple[int, dict[str, Any]]] = []
        kernel, cfg = self.kernel, self._config(config)
        with hosting(_HostRun(kernel, cfg, "code")):  # kl.register_block_size needs a host
            kernel._run_with(self.args, self.kwargs, cfg, lambda i, env: loops.append((i, env)))
        return loops

    def traced_modules(self, config: Config | None = None) -> list[ModuleOp]:
        """The traced tile IR of each device loop the call reaches."""
        return self.kernel.traced_modules(self.args, self.kwargs, config)

    def to_ir(self, config: Config | None = None) -> str:
        """``traced_modules`` as MLIR text."""
        return "\n".join(str(m) for m in self.traced_modules(config))

    def config_space(self) -> Any:
        """The config space derived from the traced IR (a ``kcompiler.autotune.ConfigSpace``)."""
        return self.kernel.config_space(*self.args, **self.kwargs)

    def compile(self, config: Config | dict[str, Any] | None = None) -> list[CompiledLoop]:
        """The compiled variant of each device loop the call reaches, for ``config``."""
        cfg = self._config(config)
        return [self.kernel.compile_loop(i, env, cfg) for i, env in self.device_loops(cfg)]

    def generated_launches(
        self, config: Config | None = None
    ) -> list[tuple[str, Callable[..., Any], list[Any]]]:
        """Per launch: (generated module source, its launcher, the launcher's arguments)."""
        return self.kernel.generated_launches(self.args, self.kwargs, self._config(config))

    def to_triton_code(self, config: Config | dict[str, Any] | None = None) -> str:
        """The generated Triton module of each device loop, joined."""
        return self.kernel.to_triton_code(*self.args, config=config, **self.kwargs)

    def run(self, config: Config | dict[str, Any] | None = None) -> Any:
        """Call the kernel with ``config`` instead of the one the call would take (the tuner
        runs candidates so); returns the kernel's result."""
        return self.kernel._run(self.args, self.kwargs, self._config(config), "run")

    def run_host(self, config: Config | None = None) -> Any:
        """Run the host code only: device loops are skipped, each reported to the custom op's
        launch observer (runtime/custom_op.py, whose fake implementation this is); returns
        the host code's result."""
        return self.kernel._run(self.args, self.kwargs, self._config(config), "fake")


@dataclass(frozen=True)
class FastPathStats:
    """A kernel's fast path at one moment (``Kernel.fast_path_stats``)."""

    entries: int  # fast-path keys seen, each with its entry
    last_hits: int  # device loops with a last hit (taken without hashing the key)
    misses: int  # launches that found no entry for their key (``fast_path_misses``)
    direct: int  # entries that launch the compiled kernel directly
    replaying: int  # entries that replay a recorded direct launch


def kernel(
    fn: Callable[..., Any] | None = None, **options: Any
) -> Kernel | Callable[[Callable[..., Any]], Kernel]:
    """Decorator: ``@kc.kernel``, ``@kc.kernel()``, ``@kc.kernel(config=kc.Config(...))``."""
    if fn is not None:
        return Kernel(fn, **options)
    return lambda f: Kernel(f, **options)


__all__ = ["BoundKernel", "CompileError", "FastPathEntry", "FastPathStats", "Kernel", "kernel"]
