"""Pass registry and the default pipelines."""

from __future__ import annotations

from collections.abc import Callable

from xdsl.context import Context
from xdsl.dialects.builtin import Builtin, ModuleOp
from xdsl.passes import ModulePass

from kcompiler.dialects.tile import Tile


def all_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """Every pass by its registered name; kc-opt exposes exactly these."""
    from kcompiler.passes.persistent import PersistentPass
    from kcompiler.passes.shape_inference import ShapeInferencePass
    from kcompiler.passes.split_reductions import SplitReductionsPass

    return {
        ShapeInferencePass.name: lambda: ShapeInferencePass,
        SplitReductionsPass.name: lambda: SplitReductionsPass,
        PersistentPass.name: lambda: PersistentPass,
    }


def make_context() -> Context:
    ctx = Context()
    ctx.load_dialect(Builtin)
    ctx.load_dialect(Tile)
    return ctx


def run_frontend_pipeline(module: ModuleOp) -> None:
    """What runs on freshly traced IR before it is cached: inference and verification."""
    from kcompiler.passes.shape_inference import ShapeInferencePass

    ctx = make_context()
    ShapeInferencePass().apply(ctx, module)
    module.verify()
