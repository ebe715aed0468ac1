"""The pass manager: requirement DAG, ordering, errors, debug verification, replay in kc-opt."""

from __future__ import annotations

import io
import os
from contextlib import redirect_stdout
from dataclasses import dataclass
from typing import ClassVar

import pytest
import torch
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser
from xdsl.passes import ModulePass

import kcompiler as kc
from kcompiler.dialects import tile as t
from kcompiler.kernels.softmax import softmax
from kcompiler.passes.indexing import IndexingPass
from kcompiler.passes.pass_manager import PassManager, PipelineError, pipeline_for_config
from kcompiler.passes.persistent import PersistentPass
from kcompiler.passes.pipeline import all_passes, make_context
from kcompiler.passes.split_reductions import SplitReductionsPass

ISSUE_PIPELINE = (
    "shape-inference,split-reductions{chunk=256},persistent{pid_type=persistent_blocked}"
)


def _softmax_ir(rows: int = 5, cols: int = 1000) -> ModuleOp:
    return Parser(make_context(), softmax.to_ir(torch.randn(rows, cols))).parse_module()


def test_issue_pipeline_parses_in_order() -> None:
    pm = PassManager(ISSUE_PIPELINE)
    assert pm.names == ["shape-inference", "split-reductions", "persistent"]
    assert pm.inserted == ()
    assert isinstance(pm.passes[1], SplitReductionsPass) and pm.passes[1].chunk == (256,)
    assert isinstance(pm.passes[2], PersistentPass)
    assert pm.passes[2].pid_type == "persistent_blocked"
    # The text round-trips: the resolved pipeline parses back to the same passes.
    assert PassManager(str(pm)).passes == pm.passes


def test_requirements_are_inserted_and_ordered_first() -> None:
    pm = PassManager(
        "persistent{pid_type=persistent_interleaved num_sm_multiplier=2},split-reductions"
    )
    assert pm.names == ["shape-inference", "persistent", "split-reductions"]
    assert pm.inserted == ("shape-inference",)
    assert str(pm).startswith("shape-inference,persistent{")
    # Listed after its dependents, a requirement still runs first; listed order otherwise.
    assert PassManager("split-reductions,shape-inference").names == [
        "shape-inference",
        "split-reductions",
    ]
    # Already done (the traced IR went through shape-inference): nothing is inserted.
    assert PassManager("split-reductions", done=["shape-inference"]).names == ["split-reductions"]


def test_runs_before_orders_without_pulling_in() -> None:
    pm = PassManager("split-reductions{chunk=64},indexing{modes=tensor_descriptor}")
    assert pm.names == ["shape-inference", "indexing", "split-reductions"]
    assert PassManager("indexing", done=["shape-inference"]).names == ["indexing"]


def test_repeated_passes_keep_their_listed_order() -> None:
    pm = PassManager("persistent{pid_type=persistent_blocked},persistent{pid_type=flat}")
    assert pm.names == ["shape-inference", "persistent", "persistent"]
    assert [p.pid_type for p in pm.passes[1:]] == ["persistent_blocked", "flat"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "shape-inference,fuse-everything",
            "unknown pass 'fuse-everything' (known passes: indexing,",
        ),
        ("split-reductions{chunk=big}", "pass 'split-reductions': bad options"),
        ("persistent{colour=red}", "pass 'persistent': bad options"),
        ("shape-inference,,persistent", "malformed pipeline"),
    ],
)
def test_bad_pipelines_are_clear_errors(text: str, message: str) -> None:
    with pytest.raises(PipelineError, match=message.replace("(", r"\(").replace("{", r"\{")):
        PassManager(text)


@dataclass(frozen=True)
class _A(ModulePass):
    name = "a"
    requires: ClassVar[tuple[str, ...]] = ("b",)

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        pass


@dataclass(frozen=True)
class _B(ModulePass):
    name = "b"
    requires: ClassVar[tuple[str, ...]] = ("c",)

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        pass


@dataclass(frozen=True)
class _C(ModulePass):
    name = "c"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        pass


@dataclass(frozen=True)
class _Breaks(ModulePass):
    """Leaves a tile.load typed unlike its operands (the verifier catches it)."""

    name = "break-ir"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        from xdsl.rewriter import Rewriter

        for inner in op.walk():
            if isinstance(inner, t.LoadOp):
                Rewriter.replace_value_with_new_type(inner.result, t.BlockType(("7",), t.f32))
                return


def _registry(**extra: type[ModulePass]) -> dict[str, object]:
    reg: dict[str, object] = dict(all_passes())
    for cls in extra.values():
        reg[cls.name] = lambda cls=cls: cls
    return reg


def test_dag_orders_a_chain_and_rejects_cycles() -> None:
    pm = PassManager("a", registry=_registry(a=_A, b=_B, c=_C))  # type: ignore[arg-type]
    assert pm.names == ["c", "b", "a"]
    assert pm.inserted == ("c", "b")  # in run order

    @dataclass(frozen=True)
    class Cyclic(ModulePass):
        name = "c"
        requires: ClassVar[tuple[str, ...]] = ("a",)

        def apply(self, ctx: Context, op: ModuleOp) -> None:
            pass

    with pytest.raises(
        PipelineError, match=r"cycle: (a -> c -> b -> a|c -> b -> a -> c|b -> a -> c -> b)"
    ):
        PassManager("a", registry=_registry(a=_A, b=_B, c=Cyclic))  # type: ignore[arg-type]
    # Through the registry-level table too, and unknown requirement names.
    with pytest.raises(PipelineError, match="cycle"):
        PassManager(
            "persistent",
            requirements={"persistent": ("shape-inference",), "shape-inference": ("persistent",)},
        )
    with pytest.raises(PipelineError, match="requires unknown pass 'typing'"):
        PassManager("persistent", requirements={"persistent": ("typing",)})


def test_debug_verifies_after_each_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    reg = _registry(b=_Breaks)
    module = _softmax_ir()
    PassManager("break-ir", registry=reg, debug=False).run(module)  # type: ignore[arg-type]
    with pytest.raises(PipelineError, match="after pass 'break-ir'.*pipeline: 'break-ir'") as e:
        PassManager("break-ir", registry=reg, debug=True).run(_softmax_ir())  # type: ignore[arg-type]
    # The op that failed, by the Python line it was traced from; no module dump.
    import kcompiler.kernels.softmax as source

    lines = open(source.__file__).read().splitlines()
    line = 1 + next(i for i, text in enumerate(lines) if "softmax(x[tile_n, :]" in text)
    assert f"softmax.py:{line}: 'tile.load' op: result type !tile.block<[7], f32>" in str(e.value)
    assert "builtin.module" not in str(e.value)
    monkeypatch.setenv("KCOMPILER_DEBUG", "1")
    with pytest.raises(PipelineError, match="after pass 'break-ir'"):
        PassManager("break-ir", registry=reg).run(_softmax_ir())  # type: ignore[arg-type]
    # A pipeline that keeps the IR valid runs the same with verification on.
    pm = PassManager(ISSUE_PIPELINE)
    assert pm.debug
    pm.run(_softmax_ir())
    assert [r.spec.split("{")[0] for r in pm.log] == pm.names


def test_pipeline_for_config_is_what_compile_runs() -> None:
    module = _softmax_ir()
    cfg = kc.Config(
        indexing=["tensor_descriptor", "pointer"],
        reduction_loops=[256],
        pid_type="persistent_interleaved",
        num_sm_multiplier=2,
    )
    text = pipeline_for_config(module, cfg)
    assert text == (
        'indexing{modes="tensor_descriptor","pointer"},split-reductions{dim="s1" chunk=256},'
        'persistent{pid_type="persistent_interleaved" num_sm_multiplier=2}'
    )
    pm = PassManager(text, done=["shape-inference"])
    assert [type(p) for p in pm.passes] == [IndexingPass, SplitReductionsPass, PersistentPass]
    assert pipeline_for_config(module, kc.Config(block_sizes=[4])) == ""
    # ... and the kernel compiled through it gives the torch result.
    x = torch.randn(7, 1000)
    saved = softmax.config
    softmax.config = cfg.replace(block_sizes=[4])
    try:
        torch.testing.assert_close(softmax(x), torch.softmax(x, 1))
    finally:
        softmax.config = saved


def test_dumped_ir_replays_in_kc_opt(
    tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from kcompiler.tools.kc_opt import main

    module = _softmax_ir(5, 3000)
    monkeypatch.setenv("KCOMPILER_DUMP_IR", str(tmp_path))
    pm = PassManager(
        'indexing{modes="tensor_descriptor"},split-reductions{chunk=512},persistent',
        done=["shape-inference"],
    )
    pm.run(module)
    (dumped,) = [os.path.join(tmp_path, f) for f in os.listdir(tmp_path)]
    with open(dumped) as f:
        first = f.readline()
    assert first == f"// RUN: kc-opt %s -p '{pm}'\n"
    spec = first.split("-p '", 1)[1].rsplit("'", 1)[0]
    out = io.StringIO()
    with redirect_stdout(out):
        assert main([dumped, "-p", spec]) == 0
    assert out.getvalue().strip() == str(module).strip()
    assert 'indexing = "tensor_descriptor"' in out.getvalue() and "rblock_s1" in out.getvalue()


def test_frontend_pipeline_runs_through_the_manager(monkeypatch: pytest.MonkeyPatch) -> None:
    from kcompiler.passes import pass_manager
    from kcompiler.passes.pass_manager import run_frontend_pipeline

    # Traced first: tracing a kernel the process has not traced yet runs the pipeline too.
    module = _softmax_ir()
    ran: list[list[str]] = []
    original = pass_manager.PassManager.run

    def spy(self: PassManager, module: ModuleOp, ctx: Context | None = None) -> ModuleOp:
        ran.append(self.names)
        return original(self, module, ctx)

    monkeypatch.setattr(pass_manager.PassManager, "run", spy)
    run_frontend_pipeline(module, debug=True)
    assert ran == [["shape-inference"]]
