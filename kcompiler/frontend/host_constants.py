"""Host locals that are compile-time constants of a kernel, read from its source.

Host code runs as ordinary Python, so by the time a device loop launches, ``BC = 16`` and
``n = x.size(0)`` are both plain ints: only the source tells them apart. A size read from a
tensor or passed as an argument is a run-time value (a size symbol, so one compiled variant
serves every value); a value the kernel's own code fixes is a constant, as a literal written
in device code is, and device code must see it as that static size (``x[:, i : i + BC]`` then
has the same shape as ``kl.arange(16)``).

The rule: a host local is a constant when every assignment to it is ``name = expr`` (also
``name: T = expr``, chained targets and a tuple of names from a tuple of exprs) whose ``expr``
is built only from literals, names that are not locals of the kernel (module globals, closure
values), parameters annotated ``kl.constexpr`` and other constant locals, by arithmetic,
comparisons, conditional expressions and ``min``/``max``/``abs``/``int``/``cdiv``/
``next_power_of_2``. Any other binding (a parameter, a ``for`` target, ``+=``, ``with``, an
import, a walrus) makes the name run-time. Closure values read by device code directly count
as constants too, as module globals already do.

A constant's value is part of the specialization key (frontend/specialize.py), so a global
that changes between calls compiles another variant instead of running stale code; int
arguments and sizes stay symbols, so they never key a variant per value.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Callable
from typing import Any

# Functions of constants that give constants: pure, cheap, and common in host size code.
_PURE_BUILTINS = (min, max, abs, int)
_PURE_NAMES = ("cdiv", "next_power_of_2")


def _bindings(body: list[ast.stmt]) -> dict[str, list[ast.expr | None]]:
    """Every name the statements bind, with the expression each binding assigns (None for a
    binding that is not a plain assignment). Nested functions, lambdas and comprehensions
    bind in scopes of their own and are not entered (their names are not host locals)."""
    out: dict[str, list[ast.expr | None]] = {}

    def bind(target: ast.expr, value: ast.expr | None) -> None:
        if isinstance(target, ast.Name):
            out.setdefault(target.id, []).append(value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            elts = value.elts if isinstance(value, (ast.Tuple, ast.List)) else None
            if elts is not None and len(elts) != len(target.elts):
                elts = None
            for i, t in enumerate(target.elts):
                bind(t.value if isinstance(t, ast.Starred) else t, elts[i] if elts else None)
        elif isinstance(target, ast.Starred):
            bind(target.value, None)
        # Attribute and subscript targets bind no name.

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                bind(target, node.value)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            bind(node.target, node.value)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.setdefault(node.name, []).append(None)
            return
        elif isinstance(node, ast.Lambda):
            return
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            # Their loop variables are their own; only a walrus binds in the kernel's scope.
            for sub in ast.walk(node):
                if isinstance(sub, ast.NamedExpr) and isinstance(sub.target, ast.Name):
                    out.setdefault(sub.target.id, []).append(None)
            return
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                out.setdefault((alias.asname or alias.name).split(".")[0], []).append(None)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            for name in node.names:
                out.setdefault(name, []).append(None)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            out.setdefault(node.name, []).append(None)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            out.setdefault(node.name, []).append(None)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            out.setdefault(node.rest, []).append(None)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            out.setdefault(node.id, []).append(None)  # for, with, +=, walrus, del
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            # The targets are recorded; their subscripts and the value may hold lambdas.
            children = [node.value] if node.value is not None else []
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                children.extend(_target_loads(target))
            for child in children:
                visit(child)
            return
        for child in ast.iter_child_nodes(node):
            visit(child)

    for stmt in body:
        visit(stmt)
    return out


def _target_loads(target: ast.expr) -> list[ast.expr]:
    """The expressions an assignment target evaluates (``a[i].b = ...`` reads ``a`` and
    ``i``), whose own bindings (a walrus) still count."""
    if isinstance(target, (ast.Tuple, ast.List)):
        return [e for t in target.elts for e in _target_loads(t)]
    if isinstance(target, ast.Starred):
        return _target_loads(target.value)
    if isinstance(target, ast.Attribute):
        return [target.value]
    if isinstance(target, ast.Subscript):
        return [target.value, target.slice]
    return []


def constant_locals(
    fdef: ast.FunctionDef,
    params: set[str],
    constexprs: frozenset[str],
    resolve: Callable[[ast.expr], Any],
) -> frozenset[str]:
    """The host locals of ``fdef`` (its device loops already cut out) that are compile-time
    constants by the module docstring's rule; ``resolve`` gives the object a global or closure
    name (or ``mod.attr``) refers to, for the calls the rule admits."""
    bindings = _bindings(fdef.body)
    local = set(bindings) | params
    constant = {n for n, values in bindings.items() if n not in params and None not in values}

    def pure_call(node: ast.Call) -> bool:
        if node.keywords or isinstance(node.func, ast.Name) and node.func.id in local:
            return False
        fn = resolve(node.func)
        if fn is None and isinstance(node.func, ast.Name):
            fn = getattr(builtins, node.func.id, None)
        if any(fn is b for b in _PURE_BUILTINS):
            return True
        module = getattr(fn, "__module__", None) or ""
        return getattr(fn, "__name__", None) in _PURE_NAMES and module.split(".")[0] in (
            "kcompiler",
            "triton",
            "helion",
        )

    def is_constant(node: ast.expr) -> bool:
        if isinstance(node, ast.Constant):
            return True
        if isinstance(node, ast.Name):
            if node.id in constexprs:
                return True
            if node.id in local:
                return node.id in constant
            return True  # a module global or closure value, fixed when the kernel is called
        if isinstance(node, ast.BinOp):
            return is_constant(node.left) and is_constant(node.right)
        if isinstance(node, ast.UnaryOp):
            return is_constant(node.operand)
        if isinstance(node, ast.BoolOp):
            return all(is_constant(v) for v in node.values)
        if isinstance(node, ast.Compare):
            return is_constant(node.left) and all(is_constant(c) for c in node.comparators)
        if isinstance(node, ast.IfExp):
            return all(is_constant(n) for n in (node.test, node.body, node.orelse))
        if isinstance(node, ast.Call):
            return pure_call(node) and all(
                not isinstance(a, ast.Starred) and is_constant(a) for a in node.args
            )
        return False

    # Shrink to the fixed point: a name stays constant while every value assigned to it is.
    changed = True
    while changed:
        changed = False
        for name in sorted(constant):
            if not all(v is not None and is_constant(v) for v in bindings[name]):
                constant.discard(name)
                changed = True
    return frozenset(constant)
