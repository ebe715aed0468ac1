"""The compile driver: resolve a config against a device loop's traced IR, run the config's
rewrites, check resources, generate Triton and load the launcher.

``compile_loop`` is what a kernel call's slow path runs (through ``Kernel.compile_loop``);
``generate_kernel`` is its code generation step alone, which kc-opt's ``-t triton`` shares.
Everything the result depends on besides the IR and the config is in ``CompileSettings``, so
the runtime can key its cache of variants on it.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, replace
from typing import Any

from xdsl.dialects.builtin import ModuleOp, StringAttr

from kcompiler import settings
from kcompiler.backends.triton import bounds, indexing, interpreter
from kcompiler.backends.triton.block_defaults import default_num_warps
from kcompiler.backends.triton.codegen import CodegenOptions, GeneratedKernel, generate
from kcompiler.backends.triton.indexing import EVICTION_ATTR
from kcompiler.backends.triton.loop_knobs import range_options
from kcompiler.backends.triton.precompile import load_module
from kcompiler.compiler.artifacts import CompiledLoop, CompileRequest
from kcompiler.compiler.checks import (
    check_block_numel,
    check_shared_memory,
    describe_knobs,
    resolve_block_sizes,
    validate_config,
)
from kcompiler.config import Config
from kcompiler.dialects import tile as t
from kcompiler.exc import IgnoredByInterpreter, InvalidConfig
from kcompiler.passes.pass_manager import PassManager, pipeline_for_config
from kcompiler.passes.split_reductions import chunk_symbol, chunks_from_reduction_loops


@dataclass(frozen=True)
class CompileSettings:
    """What a variant's code depends on besides its IR and config: whether it runs on
    Triton's CPU interpreter, and the process-wide settings the code generator follows. The
    defaults are the code generator's (``CodegenOptions``); ``current`` reads them from
    ``kcompiler.settings`` (torch's float32 matmul precision and ``$KCOMPILER_*``) when a
    variant compiles."""

    interpret: bool = False
    fp32_dot_precision: str = "ieee"
    fp8_accumulate: str = "imprecise_acc"
    peel_tail: bool = True
    index_checks: bool = True
    out_of_bounds: str = "error"

    @classmethod
    def current(cls, interpret: bool) -> CompileSettings:
        """The settings that change generated code as they are now (``settings.current()``)."""
        now = settings.current()
        return cls(
            interpret=interpret,
            fp32_dot_precision=now.fp32_dot_precision,
            fp8_accumulate=now.fp8_accumulate,
            peel_tail=now.peel_tail,
            index_checks=now.index_checks,
            out_of_bounds=now.out_of_bounds,
        )


@functools.lru_cache(maxsize=1)
def interpreting() -> bool:
    """Whether kernels run on Triton's CPU interpreter (``TRITON_INTERPRET``), fixed at the
    first call: variants compiled for one mode cannot launch in the other."""
    return settings.current().interpret


def apply_eviction_policies(module: ModuleOp, policies: list[str]) -> None:
    """Record ``Config.load_eviction_policies[i]`` on the i-th ``tile.load`` of each kernel
    (program order of the traced IR, as ``indexing`` numbers its accesses) for the emitter
    (``indexing.emit_load``). A list longer than a kernel's loads is refused, not cut."""
    for kernel in module.ops:
        if not isinstance(kernel, t.KernelOp):
            continue
        loads = [op for op in kernel.walk() if isinstance(op, t.LoadOp)]
        if len(policies) > len(loads):
            raise InvalidConfig(
                f"load_eviction_policies = {policies!r} has {len(policies)} entries but kernel "
                f"@{kernel.sym_name.data} has {len(loads)} load{'s' if len(loads) != 1 else ''}"
            )
        for load, policy in zip(loads, policies):
            if policy:
                load.attributes[EVICTION_ATTR] = StringAttr(policy)


_WARNED_ACF: set[str] = set()


def ptx_options(config: Config, interpret: bool) -> str | None:
    """Triton's ptx_options for ``config``: its ``advanced_controls_file`` as ptxas's
    ``--apply-controls``. Under the interpreter no ptxas runs: a non-empty file is reported
    once per path (``IgnoredByInterpreter``) and the code is generated without it."""
    acf = config.get("advanced_controls_file")
    if not acf:
        return None
    if interpret:
        if acf not in _WARNED_ACF:
            _WARNED_ACF.add(acf)
            warnings.warn(
                f"advanced_controls_file = {acf!r} has no effect on Triton's CPU interpreter "
                "(it is a ptxas control file; it applies on a GPU)",
                IgnoredByInterpreter,
                stacklevel=2,
            )
        return None
    return f"--apply-controls {acf}"


def codegen_options(
    module: ModuleOp,
    config: Config,
    sizes: dict[str, int],
    settings: CompileSettings,
    *,
    int64_indexing: bool = False,
    ranges: dict[str, dict[str, Any]] | None = None,
) -> CodegenOptions:
    """The code generator's options for ``config`` with the block sizes ``sizes`` resolved:
    ``num_warps`` defaults to what the largest block wants, ``num_stages`` to 1."""
    return CodegenOptions(
        block_sizes=sizes,
        num_warps=int(config.get("num_warps") or default_num_warps(module, sizes)),
        num_stages=int(config.get("num_stages") or 1),
        int64_indexing=int64_indexing,
        interpret=settings.interpret,
        l2_grouping=int((config.get("l2_groupings") or [1])[0] or 1),
        fp32_dot_precision=settings.fp32_dot_precision,
        fp8_accumulate=settings.fp8_accumulate,
        peel_tail=settings.peel_tail,
        maxnreg=config.get("maxnreg"),
        ptx_options=ptx_options(config, settings.interpret),
        index_checks=settings.index_checks,
        out_of_bounds=settings.out_of_bounds,
        **(ranges or {}),
    )


def generate_kernel(
    module: ModuleOp,
    config: Config,
    sizes: dict[str, int],
    settings: CompileSettings,
    sources: Any,
    *,
    int64_indexing: bool = False,
    ranges: dict[str, dict[str, Any]] | None = None,
) -> tuple[GeneratedKernel, CodegenOptions]:
    """The Triton module of ``module``'s kernel (``codegen.generate``) and the options it was
    generated with. ``sources``: where each size symbol's value comes from at launch."""
    options = codegen_options(
        module, config, sizes, settings, int64_indexing=int64_indexing, ranges=ranges
    )
    return generate(module, options, sources), options


def compile_loop(
    request: CompileRequest, config: Config, settings: CompileSettings
) -> CompiledLoop:
    """The compiled variant of ``request``'s device loop for ``config``: an ``InvalidConfig``
    names the knob when the config does not fit the kernel (its knobs, Triton's block limit).
    Shared memory is Triton's to judge when the variant first launches on a GPU
    (``launch_errors``); the interpreter runs a config over the estimate with a warning."""
    module, spec, blocks = request.module, request.spec, request.blocks
    validate_config(config, blocks.count)
    traced = module
    sizes = resolve_block_sizes(module, config, blocks)
    ranges = range_options(module, config)  # numbered on the traced IR's sequential loops
    # Config-specific rewrites (indexing modes, chunked reductions, pid_type) as a pipeline
    # on a clone; the traced IR already went through shape-inference.
    pipeline = pipeline_for_config(module, config)
    policies = config.get("load_eviction_policies") or []
    if any(policies):
        module = module.clone()  # the traced IR is shared by every config's variant
        apply_eviction_policies(module, policies)
    if pipeline:
        chunks = chunks_from_reduction_loops(module, config.get("reduction_loops"))
        module = module.clone()
        PassManager(pipeline, done=("shape-inference",)).run(module)
        present = {op.block.data for op in module.walk() if isinstance(op, t.ForOp)}
        sizes.update({chunk_symbol(d): c for d, c in chunks.items() if chunk_symbol(d) in present})
    check_block_numel(module, sizes)
    num_stages = int(config.get("num_stages") or 1)
    num_warps = int(config.get("num_warps") or default_num_warps(module, sizes))
    interpret = settings.interpret
    # Never a refusal: on a GPU, Triton's figure decides at the first launch
    # (launch_errors); on the interpreter, an estimate over the limit warns.
    check_shared_memory(
        traced,
        sizes,
        num_stages,
        ranges,
        interpret=interpret,
        indexing=config.get("indexing"),
        reduction_loops=config.get("reduction_loops"),
        num_warps=num_warps,
        pid_type=config.get("pid_type"),
        location=request.location,
    )
    knobs = describe_knobs(
        sizes,
        num_stages,
        ranges,
        indexing=config.get("indexing"),
        reduction_loops=config.get("reduction_loops"),
    )
    gen, options = generate_kernel(
        module,
        config,
        sizes,
        settings,
        spec.symbols.sources,
        int64_indexing=spec.int64_indexing,
        ranges=ranges,
    )
    source = gen.source
    # Tensor descriptors need arguments with unit last-dim stride and 16-byte alignment: the
    # launcher checks them and otherwise runs the same kernel emitted with pointers.
    guards = indexing.descriptor_guards(module, options)
    fallback = None
    if guards:
        if not interpret:
            indexing.ensure_allocator()
        plain = module.clone()
        for k in plain.ops:
            if isinstance(k, t.KernelOp):
                k.sym_name = StringAttr(f"{k.sym_name.data}_pointers")
        fallback = generate(plain, replace(options, indexing_fallback=True), spec.symbols.sources)
        source += (
            "\n\n# The same kernel with pointers, for arguments tensor descriptors can't take.\n"
        )
        source += fallback.source
    names: dict[str, Any] = {}
    errors = None
    if gen.index_sites:
        # One buffer for the kernel and its pointer fallback: both check the same IR loads in
        # the same order, so their sites agree.
        def where(sites: list[Any]) -> list[tuple[Any, ...]]:
            return [(s.location, s.tensor, s.dim, s.write) for s in sites]

        assert fallback is None or where(fallback.index_sites) == where(gen.index_sites)
        flag = request.error_flag() if request.error_flag is not None else None
        errors = bounds.ErrorBuffer(
            gen.index_sites, interpret, flag, warn=settings.out_of_bounds == "warn"
        )
        names[bounds.ERRORS] = errors.tensor
        names[bounds.FLAG] = errors.flag.tensor
    if interpret:
        interpreter.install()  # bfloat16 rounding as on a GPU
    scope = load_module(source, gen.name, names)
    launcher = scope[gen.launcher_name]
    if fallback is not None:
        scratch = None
        if not interpret:  # the interpreter keeps descriptors in Python, not in scratch
            count = indexing.program_count(module, gen.launcher_params, sizes, spec.symbols.sources)
            scratch = (count, gen.source.count("tl.make_tensor_descriptor("))
        ok = indexing.descriptor_check(
            gen.launcher_params, guards, check_bounds=not interpret, scratch=scratch
        )
        launcher = indexing.guarded(ok, launcher, scope[fallback.launcher_name])
    return CompiledLoop(
        source, launcher, gen.launcher_params, sizes, errors, knobs, request.location
    )
