"""Host/device split: a kernel function's AST -> a host function + its device loops.

Host code stays ordinary Python: every statement outside device loops runs as written (any
number of them, before, between and after loops). Each top-level ``for ... in kl.tile(...)``
(or ``kl.grid``) is replaced by a call ``__kc_launch__(i, locals())`` that compiles and
launches device loop ``i`` with the host values it reads.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from types import CellType, FunctionType
from typing import Any

import kcompiler.language as kl
from kcompiler.exc import CompileError
from kcompiler.frontend.host_constants import constant_locals
from kcompiler.frontend.specialize import lift_captured_tensors

LAUNCH = "__kc_launch__"


@dataclass
class DeviceLoop:
    index: int
    node: ast.For
    names: list[str]  # every name the loop reads, in order of first use
    # Names the loop calls that may hold a Python function passed in (not a builtin or a
    # module's function): the tensors such a function captures become kernel arguments.
    called: list[str] = dataclasses.field(default_factory=list)
    # Names the loop reads as module globals (no parameter, local or closure variable of the
    # kernel binds them): their values are baked into its code (frontend/global_reads.py).
    globals: list[str] = dataclasses.field(default_factory=list)
    # Attribute names the loop reads (``cfg.SCALE``): of a global bound to a module, they are
    # globals of that module (frontend/global_reads.py).
    attributes: list[str] = dataclasses.field(default_factory=list)


@dataclass
class HostProgram:
    name: str
    make_host: Callable[[Callable[..., None]], Callable[..., Any]]
    loops: list[DeviceLoop]
    filename: str
    line_offset: int
    globals: dict[str, Any]
    source: str
    constexprs: frozenset[str] = frozenset()  # parameters annotated kl.constexpr
    # Host locals and closure values that are compile-time constants (host_constants.py): an
    # int among them is a static size in device code, keyed by value.
    constants: frozenset[str] = frozenset()
    def_line: int = 0  # the line of the kernel's ``def`` in ``filename``


def _is_device_loop(node: ast.stmt, resolve: Callable[[ast.expr], Any]) -> bool:
    if not isinstance(node, ast.For) or not isinstance(node.iter, ast.Call):
        return False

    fn = resolve(node.iter.func)
    return fn in (kl.tile, kl.grid)


def _names_read(node: ast.AST) -> list[str]:
    out: list[str] = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id not in out:
            out.append(sub.id)
    return out


class _SplitDeviceLoops(ast.NodeTransformer):
    def __init__(self, resolve: Callable[[ast.expr], Any], location: Callable[[ast.AST], str]):
        self.resolve = resolve
        self.location = location
        self.loops: list[DeviceLoop] = []

    def visit_For(self, node: ast.For) -> ast.AST:
        if not _is_device_loop(node, self.resolve):
            self.generic_visit(node)
            return node
        if node.orelse:
            raise CompileError("a device loop cannot have an else clause", self.location(node))
        index = len(self.loops)
        called = []
        for sub in ast.walk(node):
            if (
                isinstance(sub, ast.Call)
                and isinstance(sub.func, ast.Name)
                and sub.func.id not in called
                and self.resolve(sub.func) is None  # a parameter or a host local
            ):
                called.append(sub.func.id)
        self.loops.append(DeviceLoop(index, node, _names_read(node), called))
        call = ast.Call(
            func=ast.Name(LAUNCH, ast.Load()),
            args=[ast.Constant(index), ast.Call(ast.Name("locals", ast.Load()), [], [])],
            keywords=[],
        )
        return ast.copy_location(ast.Expr(call), node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        return node  # nested functions are host helpers; leave them alone

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]


def _stored_names(nodes: Any) -> set[str]:
    out: set[str] = set()
    for node in nodes:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                out.add(sub.id)
            elif isinstance(sub, (ast.FunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)):
                names = [a.asname or a.name for a in getattr(sub, "names", [])]
                out.update(n.split(".")[0] for n in names)
                if hasattr(sub, "name") and not isinstance(sub, (ast.Import, ast.ImportFrom)):
                    out.add(sub.name)
    return out


def _host_reads(nodes: list[ast.stmt]) -> list[ast.Name]:
    """The names host statements read, without the kernel's decorators and default values
    (evaluated where the kernel is defined) and without the parameters a lambda or a nested
    function reads inside its own body (``lambda acc, tile: acc`` reads no host ``acc``)."""
    out: list[ast.Name] = []

    def visit(node: ast.AST, bound: frozenset[str]) -> None:
        if isinstance(node, (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            params = [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]
            for default in [*a.defaults, *a.kw_defaults]:
                if default is not None:
                    visit(default, bound)
            for deco in getattr(node, "decorator_list", []):
                visit(deco, bound)
            inner = bound | {x.arg for x in params if x is not None}
            body = node.body if isinstance(node.body, list) else [node.body]
            for stmt in body:
                visit(stmt, inner)
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in bound:
            out.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child, bound)

    for stmt in nodes:
        visit(stmt, frozenset())
    return out


def _check_host_device_names(
    fdef: ast.FunctionDef,
    loops: list[DeviceLoop],
    params: set[str],
    location: Callable[[ast.AST], str],
) -> None:
    """Device loops talk to the host only through tensors: a device loop may not assign a
    host variable (the host would never see the new value), and host code may not read a
    name that only a device loop defines (it does not exist on the host)."""
    host_names = params | _stored_names(fdef.body)
    for loop in loops:
        device_names = _stored_names([loop.node])
        for node in ast.walk(loop.node):
            if (
                isinstance(node, ast.Name)
                and isinstance(node.ctx, ast.Store)
                and node.id in host_names
            ):
                raise CompileError(
                    f"the device loop assigns host variable {node.id!r}; device results reach "
                    "the host only through tensors (store into a tensor instead)",
                    location(node),
                )
        for node in _host_reads(fdef.body):
            if node.id in device_names and node.id not in host_names:
                raise CompileError(
                    f"{node.id!r} is defined inside a device loop and does not exist on the "
                    "host; device results reach the host only through tensors",
                    location(node),
                )


def _cell_values(cells: dict[str, CellType]) -> dict[str, Any]:
    """The values closure ``cells`` hold now (a cell not bound yet is left out)."""
    out = {}
    for name, cell in cells.items():
        try:
            out[name] = cell.cell_contents
        except ValueError:
            pass
    return out


def _constexpr_params(fn: Callable[..., Any]) -> frozenset[str]:
    """Parameters annotated ``kl.constexpr`` (as an object, or a string annotation)."""

    out = set()
    for name, p in inspect.signature(fn).parameters.items():
        a = p.annotation
        if (
            a is kl.constexpr
            or isinstance(a, kl.constexpr)
            or (isinstance(a, str) and a.split(".")[-1].split("[")[0] == "constexpr")
        ):
            out.add(name)
    return frozenset(out)


def parse_kernel(fn: Callable[..., Any]) -> HostProgram:
    try:
        source = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError) as e:
        name = getattr(fn, "__qualname__", None) or repr(fn)
        raise CompileError(
            f"cannot read the source of {name}: {e} (a kernel must be defined in a file, "
            "not typed at an interactive prompt or built with exec)"
        ) from None
    filename = inspect.getsourcefile(fn) or "<kernel>"
    line_offset = fn.__code__.co_firstlineno - 1
    tree = ast.parse(source)
    fdef = next(
        (n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None
    )
    if fdef is None or isinstance(fdef, ast.AsyncFunctionDef):
        name = getattr(fn, "__qualname__", None) or repr(fn)
        raise CompileError(f"{name} is not a plain function (an async def or a lambda?)")

    # The kernel's closure cells: read when a name is resolved or a loop launches, never
    # copied once, so a variable the enclosing function rebinds is seen with its new value.
    cells: dict[str, CellType] = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
    closure = _cell_values(cells)
    fn_globals = fn.__globals__

    def resolve(expr: ast.expr) -> Any:
        if isinstance(expr, ast.Name):
            if expr.id in closure:
                return closure[expr.id]
            return fn_globals.get(expr.id, getattr(__builtins__, expr.id, None))
        if isinstance(expr, ast.Attribute):
            base = resolve(expr.value)
            return getattr(base, expr.attr, None) if base is not None else None
        return None

    def location(node: ast.AST) -> str:
        return f"{filename}:{getattr(node, 'lineno', 0) + line_offset}"

    params = {a.arg for a in fdef.args.args + fdef.args.kwonlyargs + fdef.args.posonlyargs}
    params |= {a.arg for a in (fdef.args.vararg, fdef.args.kwarg) if a is not None}
    splitter = _SplitDeviceLoops(resolve, location)
    fdef.body = [splitter.visit(s) for s in fdef.body]
    _check_host_device_names(fdef, splitter.loops, params, location)
    constexprs = _constexpr_params(fn)
    constants = constant_locals(fdef, params, constexprs, resolve)
    host_locals = params | _stored_names(fdef.body)
    constants |= {n for n in cells if n not in host_locals}
    device_locals = _stored_names(loop.node for loop in splitter.loops)
    # A name the host code declares ``global`` is a module global however it is assigned.
    declared = {n for node in ast.walk(fdef) if isinstance(node, ast.Global) for n in node.names}
    for loop in splitter.loops:
        loop.globals = [
            n
            for n in loop.names
            if n in declared or n not in host_locals | device_locals and n not in cells
        ]
        loop.attributes = sorted(
            {a.attr for a in ast.walk(loop.node) if isinstance(a, ast.Attribute)}
        )
    fdef.decorator_list = []
    fdef.returns = None
    # Defaults are the kernel's own, evaluated where it was defined (``make_host``).
    fdef.args.defaults = []
    fdef.args.kw_defaults = [None] * len(fdef.args.kwonlyargs)
    for a in fdef.args.args + fdef.args.kwonlyargs + fdef.args.posonlyargs:
        a.annotation = None
    for a in (fdef.args.vararg, fdef.args.kwarg):
        if a is not None:
            a.annotation = None

    ast.increment_lineno(fdef, line_offset)
    factory = ast.FunctionDef(
        name="__kc_factory__",
        args=ast.arguments(
            posonlyargs=[],
            args=[ast.arg(LAUNCH)] + [ast.arg(n) for n in cells],
            kwonlyargs=[],
            kw_defaults=[],
            defaults=[],
        ),
        body=[fdef, ast.Return(ast.Name(fdef.name, ast.Load()))],
        decorator_list=[],
        returns=None,
        type_params=[],
    )
    for node in (factory, factory.body[-1], factory.args):
        ast.copy_location(node, fdef)
    module = ast.Module(body=[factory], type_ignores=[])
    ast.fix_missing_locations(module)
    code = compile(module, filename, "exec")
    scope: dict[str, Any] = {}
    exec(code, fn_globals, scope)
    # The host function's code: made once by the factory, then bound to the kernel's own
    # closure cells (and a cell holding the launch) by ``make_host``.
    host_code = scope["__kc_factory__"](None, *[None] * len(cells)).__code__

    calling = {loop.index: loop.called for loop in splitter.loops if loop.called}

    def make_host(launch: Callable[..., None]) -> Callable[..., Any]:
        if cells:
            # Closure variables read only inside a device loop are not in the host function's
            # locals() once the loop is cut out: hand them to the loop's environment, as
            # their cells hold them at this launch.
            inner = launch

            def launch(index: int, env: dict[str, Any]) -> None:
                inner(index, {**_cell_values(cells), **env})

        if calling:
            # A function passed to the kernel and called in a loop (an epilogue) may capture
            # tensors: they travel in the loop's environment as kernel arguments.
            plain = launch

            def launch(index: int, env: dict[str, Any]) -> None:
                called = calling.get(index)
                plain(index, lift_captured_tensors(env, called) if called else env)

        bound = tuple(
            CellType(launch) if name == LAUNCH else cells[name] for name in host_code.co_freevars
        )
        host = FunctionType(host_code, fn_globals, host_code.co_name, fn.__defaults__, bound)
        host.__kwdefaults__ = fn.__kwdefaults__
        return host

    # The device-loop nodes were cut out before increment_lineno: their lines are still
    # relative to the dedented source, hence the offset.
    return HostProgram(
        constexprs=constexprs,
        constants=constants,
        def_line=fdef.lineno,
        name=fn.__name__,
        make_host=make_host,
        loops=splitter.loops,
        filename=filename,
        line_offset=line_offset,
        globals=fn_globals,
        source=source,
    )
