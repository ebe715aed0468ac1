"""Pass registry and the default pipelines."""

from __future__ import annotations

from collections.abc import Callable

from xdsl.context import Context
from xdsl.dialects.builtin import Builtin
from xdsl.passes import ModulePass

from kcompiler.dialects.tile import Tile
from kcompiler.passes.indexing import IndexingPass
from kcompiler.passes.persistent import PersistentPass
from kcompiler.passes.shape_inference import ShapeInferencePass
from kcompiler.passes.split_reductions import SplitReductionsPass


def all_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """Every pass by its registered name; kc-opt exposes exactly these."""

    return {
        ShapeInferencePass.name: lambda: ShapeInferencePass,
        IndexingPass.name: lambda: IndexingPass,
        SplitReductionsPass.name: lambda: SplitReductionsPass,
        PersistentPass.name: lambda: PersistentPass,
    }


def pass_requirements() -> dict[str, tuple[str, ...]]:
    """Passes each pass needs to have run first, for passes that don't declare ``requires``
    themselves; the pass manager (``pass_manager.py``) orders pipelines by these."""
    return {
        "split-reductions": ("shape-inference",),
        "persistent": ("shape-inference",),
    }


def make_context() -> Context:
    ctx = Context()
    ctx.load_dialect(Builtin)
    ctx.load_dialect(Tile)
    return ctx
