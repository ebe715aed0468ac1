"""kc-opt: read tile IR, run a pipeline of passes, print IR or the emitted Triton.

    kc-opt kernel.mlir -p shape-inference                 # IR after the pipeline
    kc-opt kernel.mlir -p shape-inference -t triton       # the @triton.jit source (or --emit)
    kc-opt kernel.mlir -t "triton{block-sizes=64,128 num-warps=8}"
    cat kernel.mlir | kc-opt -p shape-inference           # stdin works too

A thin subclass of xDSL's ``xDSLOptMain``: the dialects are ours (plus builtin, func, arith,
scf), the passes are ``kcompiler.passes.pipeline.all_passes()`` read at startup, and one extra
target, ``triton``, runs ``kcompiler.backends.triton.codegen.generate``. Every xdsl-opt flag
works (``--split-input-file``, ``--print-op-generic``, ``--verify-diagnostics``, ...).

Diagnostics are one message on stderr in MLIR's form, located at the op::

    kernel.mlir:12:5: error: 'tile.binary' op result type !tile.block<[], f32> does not match inferred !tile.block<[], i64>
        %b = tile.binary "mul" %a, %n : !tile.block<[], i64>, !tile.block<[], i64> -> !tile.block<[], f32>
        ^~

Each op read from the file carries its ``file:line:col`` (``dialects.diagnostics``
``LocatedParser``). Parse errors, verifier failures (the IR is verified after parsing and after
every pass), errors a pass or the Triton emitter raises about an op, and bad ``-t`` values that
one op makes too large are reported at that op with its source line, never the module; an op a
pass created is reported at its nearest enclosing op from the file. The op of an error is
``OpError.op`` when the raiser says; otherwise it is read off the traceback: the most deeply
nested op held by a local variable of the innermost frame that holds any (``op_of_exception``;
the emitter's ``emit_op(op)``, a pass's loop variable). Bad ``-p`` / ``-t`` options name the pass
or target, the option and what it accepts.

Exit codes: 0 success; 1 a diagnostic (the input or an option is wrong: MLIR's tools exit 1 on
any diagnostic); 2 a malformed command line (argparse's code); 70 (``EX_SOFTWARE`` of
sysexits.h) an internal error: an exception no diagnostic accounts for, a bug in kcompiler,
reported as ``internal error`` at the op being processed with a request to report it. With
``--debug`` internal errors propagate with their Python traceback instead.

Deep nesting: parsing, printing, verifying and most passes recurse once per nested region, so
kc-opt runs on a thread with a large stack and a raised recursion limit, and the parser rejects
ops nested more than ``MAX_NESTING`` (4096) levels deep with a located error. Triton's
emitted kernel is Python, which allows at most 20 statically nested blocks: a deeper loop nest is
a located error of the ``triton`` target.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import NoneType, TracebackType, UnionType
from typing import IO, Any, Union, get_args, get_origin, get_type_hints

from xdsl.context import Context
from xdsl.dialects.builtin import FileLineColLoc, ModuleOp
from xdsl.ir import Dialect, Operation
from xdsl.passes import ModulePass, PassPipeline
from xdsl.printer import Printer
from xdsl.utils.arg_spec import ArgSpec, parse_pipeline, parse_spec
from xdsl.utils.exceptions import ArgSpecParseError, DiagnosticException, ParseError
from xdsl.utils.target import Target
from xdsl.xdsl_opt_main import xDSLOptMain

from kcompiler import target
from kcompiler.backends.triton.block_defaults import default_block_sizes
from kcompiler.backends.triton.blocks import block_elements
from kcompiler.config import Config
from kcompiler.dialects import tile as t
from kcompiler.dialects.diagnostics import (
    LocatedParser,
    OpError,
    op_location,
    source_line_of,
    verify_located,
)
from kcompiler.exc import KCompilerError
from kcompiler.passes import pipeline as pass_registry
from kcompiler.target import TRITON_MAX_NUMEL

EXIT_DIAGNOSTIC = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70

# Per nesting level the parser and printer use a few dozen Python frames; each frame of a
# Python-to-Python call costs little C stack, but calls through C (classmethods, generators,
# ``__init__``) do. MAX_NESTING levels fit with a wide margin in these.
STACK_BYTES = 512 * 1024 * 1024
RECURSION_LIMIT = 200_000

# Warps of one program on the GPU the emitted code is for (kc-opt sees no device).
TRITON_MAX_WARPS = target.DEFAULT.max_threads_per_block // target.DEFAULT.warp_size
PYTHON_MAX_BLOCKS = 20  # statically nested blocks the Python compiler accepts (CO_MAXBLOCKS)


class OptionError(ValueError):
    """A ``-p`` or ``-t`` option that cannot be used; the message names it."""


class Reported(DiagnosticException):
    """A diagnostic already rendered (location, message, source line); printed as is."""

    def __init__(self, text: str, exit_code: int = EXIT_DIAGNOSTIC):
        super().__init__(text)
        self.exit_code = exit_code


class InternalError(Exception):
    """An unexpected exception, rendered as an ``internal error`` at the op being processed."""


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
    derived = set(kernel.slice_widths)  # computed by the launcher from other sizes
    for sym in sorted(syms - blocks - set(sources) - derived):
        if not sym.isdigit():
            sources[sym] = (f"arg_for_{sym}", None)
    return sources


# -- options of passes and targets ----------------------------------------------------------------


def _option_name(field: str) -> str:
    return field.replace("_", "-")


def _accepts(hint: Any) -> tuple[str, Callable[[tuple[Any, ...]], bool]] | None:
    """What an option of type ``hint`` accepts, in words, and a check of its spec values."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, UnionType) and NoneType in args:
        inner = [a for a in args if a is not NoneType]
        if len(inner) == 1 and (sub := _accepts(inner[0])) is not None:
            words, check = sub
            return f"{words}, or nothing", lambda v: not v or check(v)
        return None

    def scalar(kind: type) -> Callable[[Any], bool]:
        if kind is int:
            return lambda x: isinstance(x, int) and not isinstance(x, bool)
        if kind is float:
            return lambda x: isinstance(x, (int, float)) and not isinstance(x, bool)
        return lambda x: isinstance(x, kind)

    names = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}
    if hint in names:
        one = scalar(hint)
        return names[hint], lambda v: len(v) == 1 and one(v[0])
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis and args[0] in names:
        each = scalar(args[0])
        plural = {int: "integers", float: "numbers", bool: "booleans", str: "strings"}[args[0]]
        return f"a comma-separated list of {plural}", lambda v: all(each(x) for x in v)
    return None


def from_spec_checked(cls: type[Any], spec: ArgSpec, what: str) -> Any:
    """``cls.from_spec(spec)`` with errors that name ``what`` (``pass 'x'``, ``-t triton``),
    the option, the value given and what the option accepts; ``OptionError`` otherwise."""
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init and f.name != "name"}
    hints = get_type_hints(cls)
    given = spec.normalize_parameter_names().parameters
    for key, values in given.items():
        if key not in fields:
            known = ", ".join(_option_name(k) for k in fields) or "none"
            close = difflib.get_close_matches(key, list(fields), n=1)
            hint = f"; did you mean '{_option_name(close[0])}'?" if close else ""
            raise OptionError(
                f"{what}: unknown option '{_option_name(key)}'{hint} (options: {known})"
            )
        accepts = _accepts(hints.get(key))
        if accepts is not None and not accepts[1](values):
            text = ",".join(str(v).lower() if isinstance(v, bool) else str(v) for v in values)
            raise OptionError(
                f"{what}: option '{_option_name(key)}' takes {accepts[0]}, got '{text}'"
            )
    try:
        return cls.from_spec(spec)
    except OptionError:
        raise
    except (ValueError, TypeError, DiagnosticException) as e:  # the class's own checks
        raise OptionError(f"{what}: {e}") from None


def _power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


@dataclass(frozen=True)
class TritonTarget(Target):
    """``-t triton``: the Triton source of the module's one kernel, and its launcher.

    Block sizes default to ``default_block_sizes``; ``block-sizes=a,b,...`` sets ``block_i``
    to the i-th value, as ``kc.Config(block_sizes=...)`` does (fewer values than block symbols
    leave the rest at their defaults; more is an error). ``num-warps=0`` means the default for
    the largest block.

    Values Triton would refuse are errors here: block sizes are powers of two from 1 to 2**20
    and no block value may hold more than 2**20 elements; ``num-warps`` is 0 or a power of two
    up to 32; ``num-stages`` is at least 1."""

    name = "triton"

    block_sizes: tuple[int, ...] = ()
    num_warps: int = 0
    num_stages: int = 1
    int64_indexing: bool = False
    interpret: bool = False
    index_checks: bool = True  # bounds-check computed indices (backends/triton/bounds.py)

    def __post_init__(self) -> None:
        for i, size in enumerate(self.block_sizes):
            if not _power_of_two(size) or size > TRITON_MAX_NUMEL:
                raise OptionError(
                    f"-t triton: block-sizes value {size} (for block_{i}): block sizes are "
                    f"powers of two from 1 to {TRITON_MAX_NUMEL} (1, 2, 4, ..., 2**20)"
                )
        if self.num_warps != 0 and (
            not _power_of_two(self.num_warps) or self.num_warps > TRITON_MAX_WARPS
        ):
            raise OptionError(
                f"-t triton: num-warps={self.num_warps}; allowed: 1, 2, 4, 8, 16, 32 "
                "(or 0 for the default)"
            )
        if self.num_stages < 1:
            raise OptionError(f"-t triton: num-stages={self.num_stages}; it must be at least 1")

    def block_values(self, module: ModuleOp) -> dict[str, int]:
        """Every block symbol's size: the defaults, overridden by ``block-sizes``; an
        ``OpError`` when a value is left over or makes some block value too large."""
        sizes = dict(default_block_sizes(module))
        kernels = [op for op in module.ops if isinstance(op, t.KernelOp)]
        indexed = {int(i): s for s in sizes if (i := s.rpartition("_")[2]).isdigit()}
        if self.block_sizes and kernels and len(self.block_sizes) > len(indexed):
            have = ", ".join(indexed[i] for i in sorted(indexed)) or "none"
            raise OpError(
                f"-t triton: block-sizes has {len(self.block_sizes)} values but the kernel has "
                f"{len(indexed)} block symbol{'s' if len(indexed) != 1 else ''} ({have})",
                kernels[0],
            )
        for index, sym in indexed.items():
            if index < len(self.block_sizes):
                sizes[sym] = self.block_sizes[index]
        for kernel in kernels:
            hints = kernel.size_hints
            for op in kernel.walk():
                for r in op.results:
                    if not (isinstance(r.type, t.BlockType) and r.type.known):
                        continue
                    numel = block_elements(r.type.dims, hints, sizes)
                    if numel > TRITON_MAX_NUMEL:
                        used = {d: sizes[d] for d in r.type.dims if d in sizes}
                        raise OpError(
                            f"-t triton: with block sizes {used} this value of shape "
                            f"{list(r.type.dims)} has {numel:,} elements, over Triton's "
                            f"maximum of {TRITON_MAX_NUMEL:,}",
                            op,
                        )
        return sizes

    def emit(self, ctx: Context, module: ModuleOp, output: IO[str]) -> None:
        # Deferred: the compile driver imports Triton (backends/triton/indexing.py), which
        # runs that only print MLIR do without.
        from kcompiler.backends.triton.codegen import CodegenError
        from kcompiler.compiler.driver import CompileSettings, generate_kernel

        sizes = self.block_values(module)
        knobs: dict[str, int] = {"num_stages": self.num_stages}
        if self.num_warps:
            knobs["num_warps"] = self.num_warps
        settings = CompileSettings(interpret=self.interpret, index_checks=self.index_checks)
        try:
            gen, _ = generate_kernel(
                module,
                Config(**knobs),
                sizes,
                settings,
                size_sources(module),
                int64_indexing=self.int64_indexing,
            )
            source = gen.source
        except CodegenError as e:  # a diagnostic like any other (--verify-diagnostics shows it)
            raise DiagnosticException(f"triton: {e}") from e
        try:
            compile(source, "<triton>", "exec")
        except SyntaxError as e:
            raise _unemittable(module, e) from None
        output.write(source)


def _loop_depths(module: ModuleOp) -> list[tuple[int, t.ForOp]]:
    out: list[tuple[int, t.ForOp]] = []
    stack: list[tuple[Operation, int]] = [(module, 0)]
    while stack:
        op, depth = stack.pop()
        if isinstance(op, t.ForOp) and op.parallel is None:  # parallel ones are program ids
            depth += 1
            out.append((depth, op))
        for region in op.regions:
            for block in region.blocks:
                stack.extend((inner, depth) for inner in block.ops)
    return out


def _unemittable(module: ModuleOp, error: SyntaxError) -> DiagnosticException:
    """The emitted Python does not compile: a loop nest deeper than Python allows (located at
    the first loop past the limit; Python says "too many statically nested blocks", or "too
    many levels of indentation" past 100), else an emitter bug."""
    depths = _loop_depths(module)
    deepest = max((d for d, _ in depths), default=0)
    if deepest > PYTHON_MAX_BLOCKS:
        for depth, op in depths:
            if depth > PYTHON_MAX_BLOCKS:
                return OpError(
                    f"-t triton: {deepest} nested tile.for loops; the emitted Triton kernel is "
                    f"Python, which allows at most {PYTHON_MAX_BLOCKS} nested blocks",
                    op,
                )
    raise RuntimeError(f"the emitted Triton source does not compile: {error}") from error


# -- rendering diagnostics -------------------------------------------------------------------------

LINE_WIDTH = 160  # source lines longer than this are cut around the op


@dataclass
class SourceText:
    """The text being processed (one chunk with --split-input-file) and its first line's number."""

    name: str
    lines: list[str]
    first_line: int = 1


def excerpt_line(line: str, col: int, length: int = 1) -> str:
    """``line`` and a marker under ``length`` characters from column ``col`` (0-based): a caret
    and tildes; a line longer than ``LINE_WIDTH`` is cut around the column."""
    line = line.rstrip("\r\n")
    col = max(0, min(col, len(line)))
    length = max(1, length)
    if len(line) > LINE_WIDTH:
        start = max(0, min(col - LINE_WIDTH // 4, len(line) - LINE_WIDTH))
        head = "..." if start else ""
        tail = "..." if start + LINE_WIDTH < len(line) else ""
        length = min(length, start + LINE_WIDTH - col)
        line = head + line[start : start + LINE_WIDTH] + tail
        col = col - start + len(head)
    return f"{line}\n{' ' * col}^{'~' * (length - 1)}"


def _source_excerpt(source: SourceText | None, loc: FileLineColLoc) -> str:
    """The source line of ``loc`` marking the op's first token; "" if not in ``source``."""
    if source is None or loc.filename.data != source.name:
        return ""
    index = loc.line.data - source.first_line
    if not 0 <= index < len(source.lines):
        return ""
    line = source.lines[index]
    col = max(0, loc.column.data - 1)
    rest = line[col:].split(None, 1)
    return excerpt_line(line, col, len(rest[0]) if rest else 1)


def _op_summary(op: Operation) -> str:
    """The op's first printed line (its regions left out), at most LINE_WIDTH characters."""
    clone = op.clone_without_regions()
    text = str(clone)
    clone.erase(safe_erase=False)
    line = text.splitlines()[0] if text else op.name
    return line if len(line) <= LINE_WIDTH else line[: LINE_WIDTH - 3] + "..."


def render(
    severity: str,
    message: str,
    op: Operation | None,
    source: SourceText | None,
    notes: Sequence[str] = (),
) -> str:
    """``file:line:col: severity: message``, the op's source line and notes (MLIR's form)."""
    loc = op_location(op) if op is not None else None
    where = f"{loc.filename.data}:{loc.line.data}:{loc.column.data}" if loc else "kc-opt"
    if op is not None and op.name not in message:
        message = f"'{op.name}' op {message}"
    parts = [f"{where}: {severity}: {message}"]
    if loc is not None:
        excerpt = _source_excerpt(source, loc)
        if excerpt:
            parts.append(excerpt)
    if op is not None:
        if loc is not None and op.location is not loc:
            parts.append(
                "note: the op was created by a pass; the location is its enclosing op's:\n"
                f"  {_op_summary(op)}"
            )
        elif loc is None:
            parts.append(f"note: in this op (no location):\n  {_op_summary(op)}")
        python_line = source_line_of(op)
        if python_line and python_line not in message:
            parts.append(f"note: traced from {python_line}")
    parts.extend(f"note: {n}" for n in notes)
    return "\n".join(parts)


def _depth(op: Operation) -> int:
    n = 0
    while (op := op.parent_op()) is not None:  # type: ignore[assignment]
        n += 1
    return n


def op_of_exception(error: BaseException) -> Operation | None:
    """The op ``error`` was raised about: ``OpError.op``, else the most deeply nested op that
    a local variable refers to in the innermost frame of its traceback holding any op
    (modules left out); the chained exceptions (``raise ... from``) are searched after it."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OpError):
            return current.op
        frames = []
        tb: TracebackType | None = current.__traceback__
        while tb is not None:
            frames.append(tb.tb_frame)
            tb = tb.tb_next
        for frame in reversed(frames):
            ops = [
                v
                for v in frame.f_locals.values()
                if isinstance(v, Operation) and not isinstance(v, ModuleOp)
            ]
            if ops:
                return max(ops, key=_depth)
        current = current.__cause__ or current.__context__
    return None


REPORT = (
    "this is a bug in kcompiler, not in the input: please report it with the input file and "
    "this command line (--debug shows the Python traceback)"
)


# -- the driver ------------------------------------------------------------------------------------


class KcOptMain(xDSLOptMain):
    version_format = "kc-opt (kcompiler) built on xdsl {xdsl_version}"

    def __init__(self, args: Sequence[str] | None = None):
        self.source: SourceText | None = None
        self.current_pass: ModulePass | None = None
        super().__init__(description=__doc__.split("\n")[0], args=args)
        # Check the target's options before reading any input.
        spec = parse_spec(self.args.target)
        factory = self.available_targets[spec.name]  # the name was checked by xDSL
        target = factory()  # type: ignore[call-arg]
        if isinstance(target, type):
            from_spec_checked(target, spec, f"-t {spec.name}")

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
        # Looked up on the module at each call, so a test may register extra passes.
        passes: dict[str, Callable[[], type[ModulePass]]] = pass_registry.all_passes()
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
        arg_parser.add_argument(
            "--debug",
            action="store_true",
            help="let internal errors propagate with their Python traceback",
        )

    # -- pipeline ------------------------------------------------------------------------------------
    def setup_pipeline(self) -> None:
        """The ``-p`` pipeline, each pass built with option errors that name it; the IR is
        verified (``verify_located``) before the first pass and after each one."""
        try:
            specs = list(parse_pipeline(self.args.passes))
        except ArgSpecParseError as e:  # a BaseException in xDSL
            raise OptionError(f"-p: malformed pipeline: {e}") from None
        passes: list[ModulePass] = []
        for spec in specs:
            factory = self.available_passes.get(spec.name)
            if factory is None:
                close = difflib.get_close_matches(spec.name, list(self.available_passes), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                known = ", ".join(sorted(self.available_passes))
                raise OptionError(f"-p: unknown pass '{spec.name}'{hint} (passes: {known})")
            passes.append(from_spec_checked(factory(), spec, f"pass '{spec.name}'"))
        self.pipeline = PassPipeline(tuple(passes), self._between_passes)
        self.pass_timer = time.perf_counter()

    def _between_passes(
        self, previous: ModulePass | None, module: ModuleOp, following: ModulePass | None
    ) -> None:
        if self.args.time_passes and previous is not None:
            print(f"Pass {previous.name} took {time.perf_counter() - self.pass_timer} seconds")
        self.current_pass = None
        if not self.args.disable_verify:
            try:
                verify_located(module)
            except OpError as e:
                if previous is not None:
                    e.add_note(f"the IR stopped verifying after pass '{previous.spec()}'")
                raise
        if previous and following and self.args.print_between_passes:
            print(f"IR after {previous.name}:")
            Printer(stream=sys.stdout).print_op(module)
            print("\n\n\n")
        self.current_pass = following
        self.pass_timer = time.perf_counter()

    # -- the three stages, each turning its errors into located diagnostics ---------------------
    def parse_chunk(
        self, chunk: IO[bytes], file_extension: str, start_offset: int = 0
    ) -> ModuleOp | None:
        if (self.args.frontend or file_extension) != "mlir":
            return super().parse_chunk(chunk, file_extension, start_offset)
        data = chunk.read()
        name = self.get_input_name()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            line = start_offset + data.count(b"\n", 0, e.start) + 1
            col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
            raise Reported(
                f"{name}:{line}:{col}: error: the input is not UTF-8 text "
                f"(byte 0x{data[e.start]:02x}); kc-opt reads MLIR text"
            ) from None
        self.source = SourceText(name, text.split("\n"), start_offset + 1)
        parser = LocatedParser(self.ctx, text, name, line_offset=start_offset)
        try:
            return parser.parse_module(not self.args.no_implicit_module)
        except (ParseError, DiagnosticException):
            raise
        except Exception as e:
            if self.args.debug:
                raise
            loc = parser.location_at(parser.pos)
            raise InternalError(
                f"{loc.filename.data}:{loc.line.data}:{loc.column.data}: internal error: "
                f"parsing failed: {type(e).__name__}: {e}\nnote: {REPORT}"
            ) from e

    def apply_passes(self, prog: ModuleOp) -> None:
        self.current_pass = None
        with _Diagnostics(self, self._pass_context):
            super().apply_passes(prog)

    def _pass_context(self) -> str | None:
        p = self.current_pass
        return f"while running pass '{p.spec()}'" if p is not None else None

    def output_resulting_program(self, prog: ModuleOp) -> str:
        spec = parse_spec(self.args.target)
        # The target's diagnostics name it already ("triton: ...", "-t triton: ...").
        with _Diagnostics(self, lambda: f"while emitting -t {spec.name}", False):
            return super().output_resulting_program(prog)


class _Diagnostics:
    """Turns what escapes a stage into a rendered diagnostic (``Reported``) or, for an
    exception no diagnostic accounts for, an ``InternalError``; ``--debug`` lets those through."""

    def __init__(
        self, main: KcOptMain, context: Callable[[], str | None], note_diagnostics: bool = True
    ):
        self.main = main
        self.context = context  # "while running pass ...": a note on what was going on
        self.note_diagnostics = note_diagnostics  # on diagnostics too, not only internal errors

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: Any
    ) -> bool:
        if error is None or isinstance(error, (Reported, ParseError, KeyboardInterrupt)):
            return False
        if not isinstance(error, Exception):
            return False
        notes = list(getattr(error, "__notes__", ()))
        if isinstance(error, (DiagnosticException, KCompilerError, OptionError)):
            op = op_of_exception(error)
            message = error.message if isinstance(error, OpError) else str(error)
            kept = [n for n in notes if not _is_module_dump([n])]
            where = self.context()
            if where and self.note_diagnostics and not any(where in n for n in kept):
                kept.append(where)
            raise Reported(render("error", message, op, self.main.source, kept)) from None
        if self.main.args.debug:
            return False
        op = op_of_exception(error)
        where = self.context()
        summary = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        text = render(
            "internal error",
            f"{summary}{f' ({where})' if where else ''}",
            op,
            self.main.source,
            [REPORT],
        )
        raise InternalError(text) from None


def _is_module_dump(notes: Sequence[str]) -> bool:
    """xDSL's verifier attaches the whole module, printed, as a note: never shown."""
    return any("\n" in n and ("^^^" in n or "builtin.module" in n) for n in notes)


def _run(argv: Sequence[str] | None) -> int:
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    try:
        KcOptMain(args=argv).run()
    except ParseError as e:
        # MLIR's form, `file:line:col: error: message`, then the line with the span marked.
        return _fail(f"{e.span.get_location()}: error: {e.msg}\n{_span_excerpt(e)}")
    except Reported as e:
        return _fail(str(e), e.exit_code)
    except InternalError as e:
        return _fail(str(e), EXIT_INTERNAL)
    except DiagnosticException as e:
        notes = [n for n in getattr(e, "__notes__", ()) if not _is_module_dump([n])]
        return _fail("\n".join([f"kc-opt: error: {e}", *notes]))
    except ArgSpecParseError as e:  # a malformed -t spec (-p's are OptionErrors)
        return _fail(f"kc-opt: error: -t: malformed target: {e}")
    except (OptionError, UnicodeDecodeError, OSError) as e:
        return _fail(f"kc-opt: error: {e}")
    except ValueError as e:  # xDSL's own checks of the command line (file extension, ...)
        if debug:
            raise
        return _fail(f"kc-opt: error: {e}")
    except SystemExit as e:  # argparse (usage errors, --help, --version)
        return e.code if isinstance(e.code, int) else (0 if e.code is None else EXIT_USAGE)
    except Exception as e:
        if debug:
            raise
        summary = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
        return _fail(f"kc-opt: internal error: {summary}\nnote: {REPORT}", EXIT_INTERNAL)
    return 0


def _span_excerpt(e: ParseError) -> str:
    """The first source line of the error's span, the span marked (to that line's end)."""
    span = e.span
    text = span.input.content
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    start = text.rfind("\n", 0, span.start) + 1
    end = text.find("\n", span.start)
    end = len(text) if end == -1 else end
    length = min(max(1, span.end - span.start), end - span.start) or 1
    return excerpt_line(text[start:end], span.start - start, length)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kc-opt`` script; returns the exit code (see the module docstring).

    The work runs on a thread with a ``STACK_BYTES`` stack under a recursion limit of
    ``RECURSION_LIMIT``, both restored afterwards (tests call ``main`` in-process)."""
    result: list[int] = []
    failure: list[BaseException] = []

    def work() -> None:
        try:
            result.append(_run(argv))
        except BaseException as e:  # noqa: BLE001 - re-raised on the calling thread (--debug)
            failure.append(e)

    old_limit = sys.getrecursionlimit()
    try:
        # A smaller stack (and limit: a RecursionError rather than a crash) where memory is
        # capped; with neither, run here under the default limits.
        for stack, limit in (
            (STACK_BYTES, RECURSION_LIMIT),
            (STACK_BYTES // 8, RECURSION_LIMIT // 8),
        ):
            worker = _start(work, stack, max(old_limit, limit))
            if worker is not None:
                break
        else:
            sys.setrecursionlimit(old_limit)
            return _run(argv)
        try:
            worker.join()
        except KeyboardInterrupt:
            sys.stdout.flush()
            print("kc-opt: interrupted", file=sys.stderr)
            return 130
    finally:
        sys.setrecursionlimit(old_limit)
    if failure:
        raise failure[0]
    return result[0]


def _start(work: Callable[[], None], stack: int, limit: int) -> threading.Thread | None:
    """``work`` started on a daemon thread with a ``stack``-byte stack, under a recursion
    limit of ``limit`` (set before it starts); None if no such thread can be had."""
    try:
        old_stack = threading.stack_size(stack)
    except (ValueError, RuntimeError):
        return None
    try:
        sys.setrecursionlimit(limit)
        worker = threading.Thread(target=work, name="kc-opt", daemon=True)
        worker.start()
        return worker
    except RuntimeError:  # "can't start new thread": the stack could not be mapped
        return None
    finally:
        threading.stack_size(old_stack)


def _fail(message: str, code: int = EXIT_DIAGNOSTIC) -> int:
    sys.stdout.flush()
    print(message.rstrip(), file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
