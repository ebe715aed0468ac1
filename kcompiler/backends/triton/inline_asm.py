"""``tile.inline_asm`` -> ``tl.inline_asm_elementwise``.

Triton maps the asm over the elements of its args after broadcasting them to one shape. The
emitter broadcasts them itself first, as for ``tile.join``: an arg whose dims differ from the
result's gets unit axes prepended (numpy's right alignment) and a ``tl.broadcast_to``, and a
literal (a ``tile.constant``, a Python number in the code) becomes a ``tl.full`` block of its
own element type, because the asm reads registers of that type and Triton takes tensors only.
The args keep their element types: the constraints (``r``, ``h``, ``f``, ``l``) name the
register class each one is read from, so no promotion may change them.

Triton's CPU interpreter cannot run assembly: under it the op is a located ``NeedsGPU`` error
when the code is generated, before any launch.
"""

from __future__ import annotations

from typing import Any

from kcompiler.backends.triton.tl_types import tl_dtype
from kcompiler.dialects import tile as t
from kcompiler.exc import NeedsGPU


def emit_inline_asm(em: Any, op: t.InlineAsmOp) -> None:
    """Bind ``op``'s result to a ``tl.inline_asm_elementwise`` call on emitter ``em``."""
    if em.opts.interpret:
        loc = op.attributes.get("loc")
        raise NeedsGPU(
            "kl.inline_asm_elementwise runs target assembly (inline PTX), which Triton's CPU "
            "interpreter (TRITON_INTERPRET=1) cannot execute: this kernel needs a GPU. Its GPU "
            "code can still be checked here with Kernel.precompile(..., target='sm_90')",
            loc.data if loc is not None else None,  # type: ignore[union-attr]
        )
    out = em.dims(op.result)
    args = []
    for v in op.args:
        dt = t.block_of(v).element_type
        if isinstance(v.owner, t.ConstantOp):
            x = f"tl.full({em.shape_tuple(out)}, {em.name(v)}, {tl_dtype(dt)})"
        elif em.dims(v) != out:
            x = em.align_right(em.name(v), em.dims(v), len(out))
            x = f"tl.broadcast_to({x}, {em.shape_tuple(out)})"
        else:
            x = em.name(v)
        args.append(x)
    em.bind(
        op.result,
        f"tl.inline_asm_elementwise({op.asm.data!r}, {op.constraints.data!r}, "
        f"[{', '.join(args)}], dtype={tl_dtype(op.dtype)}, "
        f"is_pure={op.pure is not None}, pack={op.pack.value.data})",
    )
