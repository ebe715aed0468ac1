"""shape-inference: give every `!tile.block<?>` result its shape and dtype.

The typing rules live on the ops (`infer_type`), so the frontend, the verifiers and this pass
agree by construction. This pass exists for IR that did not come from the frontend (hand
written, or produced by another pass): it walks ops in order, fills unknown result types, and
checks known ones. A mismatch is an ``OpError`` on the op (a ``DiagnosticException``) whose
message starts with the op's Python source line when it has one.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.rewriter import Rewriter

from kcompiler.dialects import tile as t
from kcompiler.dialects.diagnostics import OpError


def _where(op: t.TileOp) -> str:
    loc = op.attributes.get("loc")
    return f"{loc.data}: " if loc is not None else ""  # type: ignore[union-attr]


@dataclass(frozen=True)
class ShapeInferencePass(ModulePass):
    name = "shape-inference"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for inner in op.walk():
            if isinstance(inner, t.ForOp):
                # Loop-carried block arguments follow their initial values.
                for init, arg, res in zip(
                    inner.iter_args, inner.body.block.args[1:], inner.res, strict=True
                ):
                    if arg.type != init.type:
                        Rewriter.replace_value_with_new_type(arg, init.type)
                    if res.type != init.type:
                        Rewriter.replace_value_with_new_type(res, init.type)
            if not isinstance(inner, t.TileOp) or not inner.results:
                continue
            try:
                new = inner.infer_type()
            except t.ShapeError as e:
                raise OpError(f"{_where(inner)}{inner.name}: {e}", inner) from None
            old = inner.results[0].type
            if isinstance(old, t.BlockType) and not old.known:
                Rewriter.replace_value_with_new_type(inner.results[0], new)
            elif old != new:
                raise OpError(
                    f"{_where(inner)}{inner.name}: result type {old} but operands give {new}", inner
                )
