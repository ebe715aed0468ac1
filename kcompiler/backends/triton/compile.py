"""Resolve a config against the IR, emit Triton, and load the launcher."""

from __future__ import annotations

import hashlib
import linecache
from typing import Any

from xdsl.dialects.builtin import ModuleOp

from kcompiler.backends.triton.codegen import CodegenOptions, generate
from kcompiler.config import Config
from kcompiler.exc import InvalidConfig
from kcompiler.passes.block_defaults import default_block_sizes, default_num_warps


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


def compile_module(module: ModuleOp, config: Config, spec: Any, blocks: Any, interpret: bool):
    from kcompiler.runtime.kernel import CompiledLoop

    sizes = resolve_block_sizes(module, config, blocks)
    if config.get("reduction_loops") or config.get("pid_type") not in (None, "flat"):
        from kcompiler.passes.persistent import apply_pid_type
        from kcompiler.passes.split_reductions import apply_reduction_loops

        module = module.clone()  # config-specific rewrites; the chunks are new block symbols
        sizes.update(apply_reduction_loops(module, config.get("reduction_loops")))
        apply_pid_type(module, config.get("pid_type"), config.get("num_sm_multiplier"))
    options = CodegenOptions(
        block_sizes=sizes,
        num_warps=int(config.get("num_warps") or default_num_warps(module, sizes)),
        num_stages=int(config.get("num_stages") or 1),
        int64_indexing=spec.int64_indexing,
        interpret=interpret,
        l2_grouping=int((config.get("l2_groupings") or [1])[0] or 1),
    )
    gen = generate(module, options, spec.symbols.sources)
    digest = hashlib.sha1(gen.source.encode()).hexdigest()[:12]
    filename = f"<kcompiler {gen.name} {digest}>"
    # Triton's JIT reads the kernel's source through inspect/linecache.
    linecache.cache[filename] = (len(gen.source), None, gen.source.splitlines(True), filename)
    scope: dict[str, Any] = {"__name__": f"kcompiler_generated_{digest}"}
    exec(compile(gen.source, filename, "exec"), scope)
    return CompiledLoop(
        gen.source,
        scope[gen.launcher_name],
        gen.launcher_params,
        sizes,
        direct=scope.get(f"direct_{gen.launcher_name}"),
    )
