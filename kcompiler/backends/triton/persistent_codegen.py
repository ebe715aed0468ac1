"""Persistent launch schedules (``pid_type``) for the Triton emitter.

The ``persistent`` pass marks the outermost parallel ``tile.for`` with ``pid_type`` and
``num_sm_multiplier``. ``install`` makes an emitter honour them: instead of one program per
tile, ``min(tiles, num_sms * num_sm_multiplier)`` programs loop over tiles, and the usual
tile decoding (``pid`` -> per-loop tile ids) and the body run inside that loop:

    total_tiles = n_0 * n_1 * ...
    # persistent_blocked
    tiles_per_program = tl.cdiv(total_tiles, tl.num_programs(0))
    for pid in tl.range(tl.program_id(0) * tiles_per_program,
                        tl.minimum((tl.program_id(0) + 1) * tiles_per_program, total_tiles)):
        ...                                # the flat kernel's body, unchanged
    # persistent_interleaved
    for pid in tl.range(tl.program_id(0), total_tiles, tl.num_programs(0)):
        ...

Call it in ``codegen.generate`` right before ``return em.generate()``:

    from kcompiler.backends.triton.persistent_codegen import install
    install(em, chain, pid_lines, options.interpret)

where ``pid_lines`` is the list ``generate`` emits before the outermost loop
(``["pid = tl.program_id(0)"]``). It is a no-op for ``flat`` kernels.
"""

from __future__ import annotations

from typing import Any

from xdsl.dialects.builtin import IntegerAttr, StringAttr
from xdsl.ir import Operation, SSAValue

from kcompiler import target
from kcompiler.dialects import tile as t


def num_sms(interpret: bool) -> int:
    """Streaming multiprocessors the persistent grid is sized for (``target.sm_count``)."""
    return target.sm_count(interpret)


def pid_type_of(loop: t.ForOp) -> tuple[str, int]:
    """``(pid_type, num_sm_multiplier)`` as the ``persistent`` pass recorded them."""
    kind = loop.attributes.get("pid_type")
    mult = loop.attributes.get("num_sm_multiplier")
    return (
        kind.data if isinstance(kind, StringAttr) else "flat",
        mult.value.data if isinstance(mult, IntegerAttr) else 1,
    )


def _scalar(em: Any, v: SSAValue) -> str:
    """A loop bound as an in-kernel expression, valid before the outermost loop."""
    bound = t.static_bound(v)
    if isinstance(bound, int):
        return str(bound)
    if isinstance(bound, str):
        return em.size_param(bound)
    return em.name(v)


def header_lines(em: Any, chain: list[t.ForOp], pid_type: str) -> list[str]:
    """The lines that open the persistent tile loop; the last one ends in ``:``."""
    counts: list[str] = []
    for lp in chain:
        blk = lp.block.data
        size = em.dim_size(blk) if not blk.isdigit() else blk
        lo, hi = _scalar(em, lp.lb), _scalar(em, lp.ub)
        counts.append(f"tl.cdiv({hi} - {lo}, {size})" if size != "1" else f"({hi} - {lo})")
    lines = [f"total_tiles = {' * '.join(counts)}"]
    if pid_type == "persistent_blocked":
        lines.append("tiles_per_program = tl.cdiv(total_tiles, tl.num_programs(0))")
        lines.append("first_tile = tl.program_id(0) * tiles_per_program")
        lines.append(
            "for pid in tl.range(first_tile, tl.minimum(first_tile + tiles_per_program, total_tiles)):"
        )
    elif pid_type == "persistent_interleaved":
        lines.append("for pid in tl.range(tl.program_id(0), total_tiles, tl.num_programs(0)):")
    else:
        raise ValueError(f"unknown pid_type {pid_type!r}")
    return lines


def install(
    em: Any, chain: list[t.ForOp], pid_lines: list[str], interpret: bool, sms: int | None = None
) -> None:
    """Make ``em`` emit a persistent schedule when ``chain[0]`` asks for one."""
    if not chain or getattr(em, "_persistent_installed", False):
        return
    em._persistent_installed = True
    pid_type, mult = pid_type_of(chain[0])
    if pid_type == "flat":
        return
    programs = (sms if sms is not None else num_sms(interpret)) * mult
    em.grid_expr = f"min({em.grid_expr}, {programs})"
    inner_emit = em.emit_op

    def emit_op(op: Operation) -> None:
        if op is not chain[0]:
            inner_emit(op)
            return
        for ln in header_lines(em, chain, pid_type):
            em.line(ln)
        saved = list(pid_lines)
        pid_lines[:] = [ln for ln in pid_lines if not ln.startswith("pid = ")]
        em.indent += 1
        try:
            inner_emit(op)
        finally:
            em.indent -= 1
            pid_lines[:] = saved

    em.emit_op = emit_op
