"""kc-opt: read tile IR, run a pipeline of passes, print IR or the emitted Triton.

    kc-opt kernel.mlir -p shape-inference                 # IR after the pipeline
    kc-opt kernel.mlir -p shape-inference -t triton       # the @triton.jit source (or --emit)
    kc-opt kernel.mlir -t "triton{block-sizes=64,128 num-warps=8}"
    cat kernel.mlir | kc-opt -p shape-inference           # stdin works too

A thin subclass of xDSL's ``xDSLOptMain``: the dialects are ours (plus builtin, func, arith,
scf), the passes are ``kcompiler.passes.pipeline.all_passes()`` read at startup, and one extra
target, ``triton``, runs ``kcompiler.backends.triton.codegen.generate``. Every xdsl-opt flag
works (``--split-input-file``, ``--print-op-generic``, ``--verify-diagnostics``, ...). Bad input
is reported as ``file:line:col`` plus a message on stderr, with exit code 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Dialect
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import ArgSpecParseError, DiagnosticException, ParseError
from xdsl.utils.target import Target
from xdsl.xdsl_opt_main import xDSLOptMain

from kcompiler.dialects import tile as t


def size_sources(module: ModuleOp) -> dict[str, tuple[str, int | None]]:
    """Where the launcher finds each size symbol: ``(tensor arg, dim)`` when some tensor
    argument has that symbol as a dim, else ``(f"arg_for_{sym}", None)``, an extra launcher
    parameter that stands for the value."""
    kernels = [op for op in module.ops if isinstance(op, t.KernelOp)]
    if not kernels:
        return {}
    kernel = kernels[0]
    sources: dict[str, tuple[str, int | None]] = {}
    for name, arg in zip(kernel.names, kernel.body.block.args):
        if isinstance(arg.type, t.TensorType):
            for i, d in enumerate(arg.type.dims):
                if not d.isdigit():
                    sources.setdefault(d, (name, i))
    blocks = {op.block.data for op in kernel.walk() if isinstance(op, t.ForOp)}
    syms: set[str] = set()
    syms.update(kernel.size_hints)
    for op in kernel.walk():
        if isinstance(op, t.SizeOp):
            syms.add(op.sym.data)
        for r in op.results:
            if isinstance(r.type, t.BlockType) and r.type.known:
                syms.update(r.type.dims)
    for sym in sorted(syms - blocks - set(sources)):
        if not sym.isdigit():
            sources[sym] = (f"arg_for_{sym}", None)
    return sources


@dataclass(frozen=True)
class TritonTarget(Target):
    """``-t triton``: the Triton source of the module's one kernel, and its launcher.

    Block sizes default to ``default_block_sizes``; ``block-sizes=a,b,...`` sets ``block_i``
    to the i-th value, as ``kc.Config(block_sizes=...)`` does. ``num-warps=0`` means the
    default for the largest block."""

    name = "triton"

    block_sizes: tuple[int, ...] = ()
    num_warps: int = 0
    num_stages: int = 1
    int64_indexing: bool = False
    interpret: bool = False
    index_checks: bool = True  # bounds-check computed indices (backends/triton/bounds.py)

    def emit(self, ctx: Context, module: ModuleOp, output: IO[str]) -> None:
        from kcompiler.backends.triton.codegen import CodegenError, CodegenOptions, generate
        from kcompiler.passes.block_defaults import default_block_sizes, default_num_warps

        sizes = dict(default_block_sizes(module))
        for sym in sizes:
            _, _, index = sym.rpartition("_")
            if index.isdigit() and int(index) < len(self.block_sizes):
                sizes[sym] = self.block_sizes[int(index)]
        options = CodegenOptions(
            block_sizes=sizes,
            num_warps=self.num_warps or default_num_warps(module, sizes),
            num_stages=self.num_stages,
            int64_indexing=self.int64_indexing,
            interpret=self.interpret,
            index_checks=self.index_checks,
        )
        try:
            output.write(generate(module, options, size_sources(module)).source)
        except CodegenError as e:  # a diagnostic like any other (--verify-diagnostics shows it)
            raise DiagnosticException(f"triton: {e}") from None


class KcOptMain(xDSLOptMain):
    version_format = "kc-opt (kcompiler) built on xdsl {xdsl_version}"

    def __init__(self, args: Sequence[str] | None = None):
        super().__init__(description=__doc__.split("\n")[0], args=args)

    def register_all_dialects(self) -> None:
        def dialect(module: str, name: str) -> Callable[[], Dialect]:
            def load() -> Dialect:
                import importlib

                return getattr(importlib.import_module(module), name)

            return load

        self.ctx.register_dialect("builtin", dialect("xdsl.dialects.builtin", "Builtin"))
        self.ctx.register_dialect("func", dialect("xdsl.dialects.func", "Func"))
        self.ctx.register_dialect("arith", dialect("xdsl.dialects.arith", "Arith"))
        self.ctx.register_dialect("scf", dialect("xdsl.dialects.scf", "Scf"))
        self.ctx.register_dialect("tile", lambda: t.Tile)

    def register_all_passes(self) -> None:
        from kcompiler.passes.pipeline import all_passes

        passes: dict[str, Callable[[], type[ModulePass]]] = all_passes()
        for name, factory in passes.items():
            self.register_pass(name, factory)

    def register_all_targets(self) -> None:
        from xdsl.targets.mlir import MLIRTarget

        self.available_targets["mlir"] = lambda: MLIRTarget
        self.available_targets["triton"] = lambda: TritonTarget

    def register_all_arguments(self, arg_parser: argparse.ArgumentParser) -> None:
        super().register_all_arguments(arg_parser)
        arg_parser.add_argument(
            "--emit",
            dest="target",
            default=argparse.SUPPRESS,
            help="the same as -t/--target (mlir, triton)",
        )

    def apply_passes(self, prog: ModuleOp) -> None:
        # The pipeline verifies around every pass; with no pass, verify what was parsed.
        if not self.pipeline.passes and not self.args.disable_verify:
            prog.verify()
        super().apply_passes(prog)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kc-opt`` script; returns the exit code (1 on any diagnostic)."""
    try:
        KcOptMain(args=argv).run()
    except ParseError as e:
        # MLIR's form, `file:line:col: error: message`, then the line with the span marked.
        context = str(e).partition("\n")[2]
        return _fail(f"{e.span.get_location()}: error: {e.msg}\n{context}")
    except DiagnosticException as e:
        notes = "".join(f"\n{n}" for n in getattr(e, "__notes__", ()))
        return _fail(f"kc-opt: error: {e}{notes}")
    except ArgSpecParseError as e:  # a malformed -p/-t spec (a BaseException in xDSL)
        return _fail(f"kc-opt: error: {e}")
    except (ValueError, OSError) as e:  # unknown pass or target option, unreadable file
        return _fail(f"kc-opt: error: {e}")
    return 0


def _fail(message: str) -> int:
    sys.stdout.flush()
    print(message.rstrip(), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
