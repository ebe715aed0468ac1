"""The config checks: every knob of a config is validated against what the kernel has and
what Triton and the device accept before anything is generated, with messages that name the
knob and what it accepts (``InvalidConfig``)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

from xdsl.dialects.builtin import ModuleOp

from kcompiler import target
from kcompiler.backends.triton.block_defaults import default_block_sizes
from kcompiler.backends.triton.blocks import largest_block
from kcompiler.backends.triton.shared_memory import shared_memory_bytes
from kcompiler.config import Config
from kcompiler.exc import InvalidConfig, SharedMemoryEstimateWarning
from kcompiler.passes.persistent import PID_TYPES
from kcompiler.target import TRITON_MAX_NUMEL


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
    acf = config.get("advanced_controls_file")
    if acf is not None:
        if not isinstance(acf, str):
            raise InvalidConfig(f"advanced_controls_file = {acf!r}: must be a path (str) or ''")
        if acf and not os.path.isfile(acf):
            raise InvalidConfig(f"advanced_controls_file = {acf!r}: no such file")
    if config.get("num_threads") is not None:
        raise InvalidConfig(
            f"num_threads = {config.get('num_threads')!r}: not supported: num_threads (a knob "
            "of Helion's CuTe backend; the Triton backend sets threads with num_warps)"
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


# The per-loop knobs (``loop_knobs.range_options``) that add shared-memory buffers.
RANGE_BUFFER_KNOBS = ("range_num_stages", "range_unroll_factors", "range_multi_buffers")


def describe_knobs(
    sizes: dict[str, int],
    num_stages: int,
    ranges: dict[str, dict[str, Any]] | None = None,
    *,
    indexing: Any = None,
    reduction_loops: Any = None,
) -> str:
    """``block_sizes {...} with num_stages=N`` and the set knobs that add shared-memory
    buffers (the range_* loop knobs, ``reduction_loops``, tensor-descriptor ``indexing``): how
    a resource message names the config."""
    blocks = {k: v for k, v in sizes.items() if k.startswith("block_")}
    knobs = f"num_stages={num_stages}"
    for field in RANGE_BUFFER_KNOBS:
        values = dict((ranges or {}).get(field) or {})
        if values:
            knobs += f", {field} {values}"
    if reduction_loops is not None:
        knobs += f", reduction_loops={reduction_loops!r}"
    if uses_descriptors(indexing):
        knobs += f", indexing={indexing!r}"
    return f"block_sizes {blocks} with {knobs}"


def uses_descriptors(indexing: Any) -> bool:
    """Whether a Config's ``indexing`` asks for a tensor descriptor (TMA) anywhere."""
    return indexing == "tensor_descriptor" or (
        isinstance(indexing, (list, tuple)) and "tensor_descriptor" in indexing
    )


_WARN_ESTIMATE = (
    "(estimate: pipeline stages x the tiles each loop loads for tl.dot, plus the tiles of "
    "tensor-descriptor loads and stores, an upper bound of Triton's figure)"
)


def check_shared_memory(
    module: ModuleOp,
    sizes: dict[str, int],
    num_stages: int,
    ranges: dict[str, dict[str, Any]],
    *,
    interpret: bool,
    indexing: Any = None,
    reduction_loops: Any = None,
    num_warps: int | None = None,
    pid_type: str | None = None,
    location: str | None = None,
) -> int | None:
    """The estimate of ``backends/triton/shared_memory/`` never refuses a config: it is an
    upper bound of Triton's figure (the pipelined dot operands, tensor-descriptor tiles, loads
    of loops with ``range_num_stages``, reduction scratch), and where it over-shoots it would
    refuse configs the GPU runs. So:

    - GPU code (``interpret=False``): nothing is estimated here; Triton compiles and its own
      figure decides at the variant's first launch, where ``launch_errors`` turns Triton's
      out-of-resources error into an ``InvalidConfig`` naming the knobs;
    - Triton's CPU interpreter has no shared memory: a config over the default GPU's limit
      runs, with one ``SharedMemoryEstimateWarning`` (the caller compiles each variant once)
      naming block_sizes, num_stages and the knobs that add buffers.

    Returns the estimate in bytes when one was made (the interpreter), else None. ``module``:
    the traced IR (``indexing`` and ``reduction_loops`` are the config's fields); ``ranges``:
    as ``loop_knobs.range_options`` gives it; ``location``: the device loop's ``file:line``,
    which starts the warning."""
    if not interpret:
        return None
    per_loop = [dict(ranges.get(f) or {}) for f in RANGE_BUFFER_KNOBS]
    need = shared_memory_bytes(
        module,
        sizes,
        num_stages,
        *per_loop,
        indexing=indexing,
        reduction_loops=reduction_loops,
        num_warps=num_warps,
        pid_type=pid_type,
    )
    limit = shared_memory_limit()
    if need > limit:
        knobs = describe_knobs(
            sizes, num_stages, ranges, indexing=indexing, reduction_loops=reduction_loops
        )
        where = f"{location}: " if location else ""
        warnings.warn(
            f"{where}{knobs} may need up to {need:,} bytes of shared memory {_WARN_ESTIMATE}, over "
            f"the {target.current().name}'s limit of {limit:,} bytes: it runs on Triton's CPU "
            "interpreter; on a GPU, Triton's own figure decides (InvalidConfig at the first "
            "launch if it does not fit)",
            SharedMemoryEstimateWarning,
            stacklevel=2,
        )
    return need
