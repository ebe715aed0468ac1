"""Resolve a config against the IR, emit Triton, and load the launcher."""

from __future__ import annotations

import hashlib
import linecache
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from xdsl.dialects.builtin import ModuleOp, StringAttr

from kcompiler import settings, target
from kcompiler.backends.triton.block_defaults import default_block_sizes, default_num_warps
from kcompiler.backends.triton.codegen import CodegenOptions, generate
from kcompiler.config import Config
from kcompiler.dialects import tile as t
from kcompiler.exc import InvalidConfig
from kcompiler.passes.persistent import PID_TYPES


def resolve_block_sizes(module: ModuleOp, config: Config, blocks: Any) -> dict[str, int]:
    """Block size of every symbol: the config's value, else a literal, else the default."""
    sizes = dict(default_block_sizes(module))
    sizes.update(blocks.defaults)
    given = list(config.get("block_sizes") or [])
    for sym in list(sizes) + list(blocks.fixed):
        idx = int(sym.split("_")[1])
        if sym in blocks.fixed:
            sizes[sym] = blocks.fixed[sym]
        elif idx < len(given):
            v = given[idx]
            if not isinstance(v, int) or v <= 0 or v & (v - 1):
                raise InvalidConfig(f"block_sizes[{idx}] = {v!r}: must be a power of two")
            sizes[sym] = v
    return sizes


_LIST_FIELDS = (
    "block_sizes", "reduction_loops", "range_unroll_factors", "range_num_stages",
    "range_multi_buffers", "range_flattens", "range_warp_specializes", "l2_groupings",
    "indexing", "loop_orders", "flatten_loops", "static_ranges", "load_eviction_policies",
)  # fmt: skip


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _power_of_two(v: Any) -> bool:
    return _is_int(v) and v >= 1 and not v & (v - 1)


def _identity_order(v: Any) -> bool:
    return isinstance(v, (list, tuple)) and list(v) == list(range(len(v)))


def _permutation(v: Any) -> bool:
    return (
        isinstance(v, (list, tuple))
        and all(_is_int(i) for i in v)
        and sorted(v) == list(range(len(v)))
    )


# Triton passes maxnreg to ptxas (.maxnreg); these are the register caps Helion searches.
MAXNREG_VALUES = (32, 64, 128, 256)
# tl.load's eviction_policy: "" (the default), "evict_first" or "evict_last", as Helion spells
# them in Config.load_eviction_policies.
EVICTION_POLICIES = ("", "first", "last")

# Per-entry rules of the list fields: (accepts the entry, what it must be). The entries a
# kernel has no loop or access for are checked too, so a bad value is never ignored.
_ENTRY_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "block_sizes": (_power_of_two, "must be a power of two"),
    "reduction_loops": (
        lambda v: v is None or (_is_int(v) and v == 0) or _power_of_two(v),
        "must be None, 0 (no loop) or a power of two",
    ),
    "range_unroll_factors": (lambda v: _is_int(v) and v >= 0, "must be an int >= 0"),
    "range_num_stages": (lambda v: _is_int(v) and v >= 0, "must be an int >= 0"),
    "range_multi_buffers": (
        lambda v: v is None or isinstance(v, bool),
        "must be None, True or False",
    ),
    "range_flattens": (lambda v: v is None or isinstance(v, bool), "must be None, True or False"),
    "range_warp_specializes": (
        lambda v: v is None or isinstance(v, bool),
        "must be None, True or False",
    ),
    "l2_groupings": (lambda v: _is_int(v) and v >= 1, "must be an int >= 1"),
    "loop_orders": (_permutation, "must be a permutation of 0..n-1 (one per multi-dim tile)"),
    "flatten_loops": (lambda v: isinstance(v, bool), "must be True or False"),
    "static_ranges": (lambda v: isinstance(v, bool), "must be True or False"),
    "load_eviction_policies": (
        lambda v: v in EVICTION_POLICIES,
        "must be one of " + ", ".join(repr(p) for p in EVICTION_POLICIES),
    ),
}

# Knobs of Helion's config that kcompiler has no emission for yet: (accepts the entry,
# the value the codegen's behaviour equals). Any other value is refused, never ignored.
_NOT_SUPPORTED: dict[str, tuple[Callable[[Any], bool], str]] = {
    "loop_orders": (_identity_order, "identity orders [0, 1, ...]"),
    "flatten_loops": (lambda v: v is False, "False"),
    "static_ranges": (lambda v: v is False, "False"),
}


def validate_config(config: Config, block_count: int | None = None) -> None:
    """Reject malformed knob values before anything is compiled; messages name the knob and
    what it accepts. Every field of ``KNOWN_FIELDS`` is checked here, except the modes of
    ``indexing``, which passes/indexing.py checks when it reads them.

    ``block_count``: how many block sizes the kernel has (``block_0`` ..., over all its device
    loops); a ``block_sizes`` list longer than that is rejected, as Helion does, rather than
    its extra entries being ignored.
    """
    sizes = config.get("block_sizes")
    if block_count is not None and isinstance(sizes, list) and len(sizes) > block_count:
        raise InvalidConfig(
            f"block_sizes = {sizes!r} has {len(sizes)} entries; this kernel has "
            f"{block_count} block size{'s' if block_count != 1 else ''} (expected at most "
            f"{block_count} entries)"
        )
    for name in _LIST_FIELDS:
        v = config.get(name)
        if name == "indexing" and isinstance(v, str):
            continue  # Helion allows one mode for every access
        if v is not None and not isinstance(v, list):
            raise InvalidConfig(f"{name} = {v!r}: must be a list (one entry per loop or access)")
        rule = _ENTRY_RULES.get(name)
        for i, entry in enumerate(v or ()):
            if rule is not None and not rule[0](entry):
                raise InvalidConfig(f"{name}[{i}] = {entry!r}: {rule[1]}")
            unsupported = _NOT_SUPPORTED.get(name)
            if unsupported is not None and not unsupported[0](entry):
                raise InvalidConfig(
                    f"{name}[{i}] = {entry!r}: not supported yet: {name} (kcompiler emits "
                    f"{unsupported[1]} only)"
                )
    groupings = config.get("l2_groupings") or []
    if len(groupings) > 1:
        raise InvalidConfig(
            f"l2_groupings = {groupings!r}: one entry expected (the grouping of the parallel "
            "grid's two innermost dims)"
        )
    warps = config.get("num_warps")
    if warps is not None and (not _power_of_two(warps) or warps > 32):
        raise InvalidConfig(f"num_warps = {warps!r}: must be a power of two in [1, 32]")
    stages = config.get("num_stages")
    if stages is not None and (not _is_int(stages) or stages < 1):
        raise InvalidConfig(f"num_stages = {stages!r}: must be an integer >= 1")
    maxnreg = config.get("maxnreg")
    if maxnreg is not None and not (_is_int(maxnreg) and maxnreg in MAXNREG_VALUES):
        raise InvalidConfig(
            f"maxnreg = {maxnreg!r}: must be None or one of "
            f"{', '.join(map(str, MAXNREG_VALUES))} (registers per thread)"
        )
    # num_sm_multiplier scales the programs of a persistent pid_type; with the flat grid it
    # has nothing to scale (as in Helion, whose tuner draws it with either pid_type).
    multiplier = config.get("num_sm_multiplier")
    if multiplier is not None and (not _is_int(multiplier) or multiplier < 1):
        raise InvalidConfig(f"num_sm_multiplier = {multiplier!r}: must be an int >= 1")
    pid_type = config.get("pid_type")
    if pid_type is not None and pid_type not in PID_TYPES:
        raise InvalidConfig(f"pid_type = {pid_type!r}: expected one of {', '.join(PID_TYPES)}")


def check_block_numel(module: ModuleOp, sizes: dict[str, int]) -> None:
    """Triton refuses blocks of more than 2**20 elements: say so naming block_sizes."""
    from kcompiler.backends.triton.blocks import largest_block
    from kcompiler.target import TRITON_MAX_NUMEL

    numel = largest_block(module, sizes)
    if numel > TRITON_MAX_NUMEL:
        blocks = {k: v for k, v in sizes.items() if k.startswith("block_")}
        raise InvalidConfig(
            f"block_sizes {blocks} give a block of {numel:,} elements, over Triton's "
            f"maximum of {TRITON_MAX_NUMEL:,}"
        )


def shared_memory_limit() -> int:
    """Bytes of shared memory one program may use: the compile target's (``target.current()``:
    the CUDA device's opt-in maximum, else the default GPU's; the interpreter has none, but
    configs are meant for the GPU)."""
    return target.current().shared_memory_per_block


def check_shared_memory(
    module: ModuleOp,
    sizes: dict[str, int],
    num_stages: int,
    ranges: dict[str, dict[str, Any]],
    *,
    indexing: Any = None,
    reduction_loops: Any = None,
    num_warps: int | None = None,
) -> None:
    """Triton fails to compile a kernel whose shared-memory buffers exceed the device's limit:
    the pipelined dot operands, and the tiles of tensor-descriptor (TMA) loads and stores and
    of loads in loops with ``range_num_stages`` (``shared_memory.py``). Say so naming
    block_sizes and num_stages, and the knobs that add buffers when set. ``module``: the
    traced IR (``indexing`` and ``reduction_loops`` are the config's fields); ``ranges``: as
    ``loop_knobs.range_options`` gives it."""
    from kcompiler.backends.triton.shared_memory import shared_memory_bytes

    per_loop = {
        f: dict(ranges.get(f) or {})
        for f in ("range_num_stages", "range_unroll_factors", "range_multi_buffers")
    }
    need = shared_memory_bytes(
        module,
        sizes,
        num_stages,
        *per_loop.values(),
        indexing=indexing,
        reduction_loops=reduction_loops,
        num_warps=num_warps,
    )
    limit = shared_memory_limit()
    if need > limit:
        blocks = {k: v for k, v in sizes.items() if k.startswith("block_")}
        knobs = f"num_stages={num_stages}"
        for field, values in per_loop.items():
            if values:
                knobs += f", {field} {values}"
        if reduction_loops is not None:
            knobs += f", reduction_loops={reduction_loops!r}"
        tma = indexing == "tensor_descriptor" or (
            isinstance(indexing, (list, tuple)) and "tensor_descriptor" in indexing
        )
        if tma:
            knobs += f", indexing={indexing!r}"
        raise InvalidConfig(
            f"block_sizes {blocks} with {knobs} need about {need:,} bytes of shared memory "
            f"(estimate: pipeline stages x the tiles each loop loads for tl.dot, plus the "
            f"tiles of tensor-descriptor loads and stores), over this device's limit of "
            f"{limit:,} bytes; lower block_sizes or num_stages"
            + (", use smaller reduction_loops chunks or pointer indexing" if tma else "")
        )


def apply_eviction_policies(module: ModuleOp, policies: list[str]) -> None:
    """Record ``Config.load_eviction_policies[i]`` on the i-th ``tile.load`` of each kernel
    (program order of the traced IR, as ``indexing`` numbers its accesses) for the emitter
    (``indexing.emit_load``). A list longer than a kernel's loads is refused, not cut."""
    from kcompiler.backends.triton.indexing import EVICTION_ATTR

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


def compile_module(
    module: ModuleOp,
    config: Config,
    spec: Any,
    blocks: Any,
    interpret: bool,
    error_flag: Any = None,
):
    """The compiled loop of ``module`` for ``config``. ``error_flag``: a function giving the
    ``bounds.ErrorFlag`` its bounds checks set (the kernel's, shared by its variants), called
    only when the code checks an index; None: a new flag."""
    from kcompiler.backends.triton import bounds, indexing
    from kcompiler.backends.triton.loop_knobs import range_options
    from kcompiler.passes.pass_manager import PassManager, pipeline_for_config
    from kcompiler.passes.split_reductions import chunk_symbol, chunks_from_reduction_loops
    from kcompiler.runtime.kernel import CompiledLoop

    validate_config(config, getattr(blocks, "count", None))
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
    check_shared_memory(
        traced,
        sizes,
        num_stages,
        ranges,
        indexing=config.get("indexing"),
        reduction_loops=config.get("reduction_loops"),
        num_warps=num_warps,
    )
    chosen = settings.current()
    options = CodegenOptions(
        block_sizes=sizes,
        num_warps=num_warps,
        num_stages=num_stages,
        int64_indexing=spec.int64_indexing,
        interpret=interpret,
        l2_grouping=int((config.get("l2_groupings") or [1])[0] or 1),
        fp32_dot_precision=chosen.fp32_dot_precision,
        fp8_accumulate=chosen.fp8_accumulate,
        peel_tail=chosen.peel_tail,
        maxnreg=config.get("maxnreg"),
        index_checks=chosen.index_checks,
        **ranges,
    )
    gen = generate(module, options, spec.symbols.sources)
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
    digest = hashlib.sha1(source.encode()).hexdigest()[:12]
    filename = f"<kcompiler {gen.name} {digest}>"
    # Triton's JIT reads the kernel's source through inspect/linecache.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    scope: dict[str, Any] = {"__name__": f"kcompiler_generated_{digest}"}
    errors = None
    if gen.index_sites:
        # One buffer for the kernel and its pointer fallback: both check the same IR loads in
        # the same order, so their sites agree.
        def where(sites: list[Any]) -> list[tuple[Any, ...]]:
            return [(s.location, s.tensor, s.dim, s.write) for s in sites]

        assert fallback is None or where(fallback.index_sites) == where(gen.index_sites)
        flag = error_flag() if error_flag is not None else None
        errors = bounds.ErrorBuffer(gen.index_sites, interpret, flag)
        scope[bounds.ERRORS] = errors.tensor
        scope[bounds.FLAG] = errors.flag.tensor
    if interpret:
        from kcompiler.backends.triton import interpreter

        interpreter.install()  # bfloat16 rounding as on a GPU
    exec(compile(source, filename, "exec"), scope)
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
    return CompiledLoop(source, launcher, gen.launcher_params, sizes, errors)
