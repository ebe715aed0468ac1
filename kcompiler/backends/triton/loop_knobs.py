"""Loop knobs of sequential ``tile.for`` loops, with Helion's names.

``Config.range_unroll_factors[i]``, ``range_num_stages[i]``, ``range_multi_buffers[i]``,
``range_flattens[i]`` and ``range_warp_specializes[i]`` refer to the i-th sequential (non-parallel)
loop of the traced IR, in program order (``sequential_loops``). The Triton backend emits them as
``tl.range`` keyword arguments: ``loop_unroll_factor``, ``num_stages``,
``disallow_acc_multi_buffer`` (= not multi_buffer), ``flatten``, ``warp_specialize``.

Values as in Helion: 0 leaves an int knob to Triton, None a bool one. Loops created by passes
(``split-reductions``' chunk loops) are not numbered: their chunk is ``reduction_loops``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from xdsl.ir import Operation

from kcompiler.dialects import tile as t
from kcompiler.exc import InvalidConfig

INT_FIELDS = ("range_unroll_factors", "range_num_stages")
BOOL_FIELDS = ("range_multi_buffers", "range_flattens", "range_warp_specializes")
RANGE_FIELDS = INT_FIELDS + BOOL_FIELDS


def sequential_loops(module: Operation) -> list[str]:
    """Block symbols of the sequential ``tile.for`` loops, program order, each once."""
    out: list[str] = []
    for op in module.walk():
        if isinstance(op, t.ForOp) and op.parallel is None:
            sym = op.block.data
            if not sym.startswith("rblock_") and sym not in out:
                out.append(sym)
    return out


def range_options(module: Operation, config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{field: {block symbol: value}}`` for the values the config sets (not 0 / None)."""
    loops = sequential_loops(module)
    out: dict[str, dict[str, Any]] = {f: {} for f in RANGE_FIELDS}
    for field in RANGE_FIELDS:
        values = config.get(field)
        if values is None:
            continue
        if not isinstance(values, (list, tuple)):
            raise InvalidConfig(f"{field} must be a list (one entry per sequential loop)")
        for i, v in enumerate(values):
            if i >= len(loops):
                break  # entries of loops another specialization has
            if field in INT_FIELDS:
                if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                    raise InvalidConfig(f"{field}[{i}] = {v!r}: must be an int >= 0")
                if v:
                    out[field][loops[i]] = v
            else:
                if v is not None and not isinstance(v, bool):
                    raise InvalidConfig(f"{field}[{i}] = {v!r}: must be None, True or False")
                if v is not None:
                    out[field][loops[i]] = v
    return out
