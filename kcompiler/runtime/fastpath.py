"""The per-call key of the runtime's fast path: what a device loop's launch depends on.

A launch reads the loop's environment (the host function's locals). Two calls whose values
agree on dtype, shape, strides, device, 16-byte alignment and ``requires_grad`` for tensors,
and on value for ints, strings, None, constexprs and the floats inside lists and tuples,
compile to the same Triton kernel with the same specialization, so the second may reuse the
first's compiled variant and launch. The key function is generated per loop so that a call pays for attribute reads only,
not a generic walk over the names, and only for names the host function can bind. The module
globals (and helpers' closure cells) the loop's code reads are baked into it: the key holds
their current values too (frontend/global_reads.py), one dict lookup each.

``requires_grad`` does not change the compiled kernel: it is in the key so that an entry knows
whether its loop reads a tensor that requires grad (``FastPathEntry.grad_guard``), and
so that autograd's per-call test (such a launch in grad mode starts the call again through an
op that autograd records) costs one attribute read per tensor and one flag test per launch,
not a pass over the arguments.

The same key also makes a launch *replayable*: the generated launcher turns its arguments into
the direct launch's arguments (grid, tensors, strides, sizes, scalars, constexprs), and all of
those but the tensors and float scalars are functions of the key. ``make_replay`` records one
direct launch and builds a function that passes a later call's tensors and floats with the
recorded rest; ``replayable`` admits only launchers that compute nothing else.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Collection, Iterable, Sequence
from types import BuiltinFunctionType, FunctionType, ModuleType
from typing import Any

import torch

from kcompiler.frontend.global_reads import MISSING, Read
from kcompiler.frontend.specialize import Identity, function_key
from kcompiler.language import constexpr


def fingerprint(v: Any) -> Any:
    """What a value contributes to the key (the generic form; tensors are inlined)."""
    if isinstance(v, torch.Tensor):
        # data_ptr alignment: Triton specializes pointers on 16-byte alignment.
        return (v.dtype, v.shape, v.stride(), v.device, v.data_ptr() & 15, v.requires_grad)
    if isinstance(v, bool):
        return (bool, v)  # a compile-time constant; True == 1 but its variant is another
    if isinstance(v, (int, str, type(None))) or v is MISSING:
        return v  # ints: sizes and specialized values
    if isinstance(v, float):
        return float
    if isinstance(v, (list, tuple)):
        # Inside a list or tuple a float is a compile-time constant (specialize.py keys on the
        # container's repr): its repr separates calls, -0.0 from 0.0 included.
        return (type(v), *((float, repr(x)) if type(x) is float else fingerprint(x) for x in v))
    if isinstance(v, FunctionType):
        return function_key(v)  # never its id: see frontend/specialize.py
    if type(v) is constexpr:
        return v  # compares and hashes by the value it bakes in (kcompiler.language)
    return (type(v), Identity(v))  # never a bare id: see frontend/specialize.py


_BOOLS = {True: (bool, True), False: (bool, False)}
_AS_ITSELF = (FunctionType, BuiltinFunctionType, ModuleType, torch.dtype)


def global_fingerprint(v: Any) -> Any:
    """What the value of a module global read by device code (frontend/global_reads.py)
    contributes to the key: the value itself where equality means the same traced code
    (ints and strings, inlined by ``make_key``; None; functions, modules and dtypes, whose
    equality is identity and which the key holds), floats and bools tagged with their type
    (``2 == 2.0 == True`` but each traces to other code; a float by repr, so -0.0 is not
    0.0 and a NaN matches itself), tuples and lists item by item, tensors by metadata,
    ``kl.constexpr`` wrappers as themselves (equal when they bake in the same value), and
    any other object by identity."""
    t = type(v)
    if t is float:
        if v == v and v != 0.0:
            return (float, v)
        return (float, repr(v))  # -0.0 apart from 0.0; a NaN equal to itself
    if t is bool:
        return _BOOLS[v]
    if v is None or v is MISSING or isinstance(v, _AS_ITSELF):
        return v
    if t is int or t is str:
        return v
    if t is tuple or t is list:
        return (t, *(global_fingerprint(x) for x in v))
    if isinstance(v, torch.Tensor):
        return fingerprint(v)
    if t is constexpr:
        return v
    return (t, Identity(v))


def make_key(
    index: int,
    names: Iterable[str],
    constexprs: Iterable[str],
    host_names: Collection[str] | None = None,
    reads: Sequence[Read] = (),
) -> Callable[..., Any]:
    """``key(env, config)`` for device loop ``index`` reading ``names``.

    Names absent from ``env`` contribute MISSING, so a local that is bound in one call and not
    in another changes the key. ``host_names``, when given, are the only names ``env`` can
    hold (the host function's variables): the others (globals, the loop variable, names only
    the loop binds) are always absent and are left out, since the key's cost grows with every
    name it reads. ``reads``: the module globals and closure cells the loop's code reads
    (frontend/global_reads.py), each one a dict lookup (or cell read) and its
    ``global_fingerprint`` in the key."""
    cx = set(constexprs)
    lines = ["def key(env, config):", "    get = env.get"]
    parts = []
    scope: dict[str, Any] = {
        "MISSING": MISSING,
        "Tensor": torch.Tensor,
        "fp": fingerprint,
        "gfp": global_fingerprint,
        "cell_value": _cell_value,
    }
    for i, read in enumerate(reads):
        if read.cell is not None:
            scope[f"c{i}"] = read.cell
            lines.append(f"    g{i} = cell_value(c{i})")
        else:
            scope[f"s{i}"] = read.scope
            lines.append(f"    g{i} = s{i}.get({read.name!r}, MISSING)")
        # Inlined: ints and strings as themselves, a float other than a zero or a NaN as
        # (float, value) (equal values trace alike); the rest through global_fingerprint.
        parts.append(
            f"g{i} if type(g{i}) is int or type(g{i}) is str else (float, g{i}) "
            f"if type(g{i}) is float and g{i} == g{i} and g{i} != 0.0 else gfp(g{i})"
        )
    for i, name in enumerate(names):
        if host_names is not None and name not in host_names:
            continue
        lines.append(f"    v{i} = get({name!r}, MISSING)")
        if name in cx:
            parts.append(f"({name!r}, repr(v{i}))")
        else:  # tensors and ints inlined; the rest (MISSING too) through fingerprint()
            parts.append(
                f"(v{i}.dtype, v{i}.shape, v{i}.stride(), v{i}.device, v{i}.data_ptr() & 15, "
                f"v{i}.requires_grad) "
                f"if type(v{i}) is Tensor else v{i} if type(v{i}) is int else fp(v{i})"
            )
    lines.append(f"    return ({index}, config, {', '.join(parts)})")
    exec(compile("\n".join(lines) + "\n", f"<kcompiler fast-path key {index}>", "exec"), scope)
    return scope["key"]


def _cell_value(cell: Any) -> Any:
    try:
        return cell.cell_contents
    except ValueError:  # a cell not bound yet
        return MISSING


def param_getter(params: Sequence[str]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """``env -> tuple(env[p] for p in params)``, at C speed."""
    if not params:
        return lambda env: ()
    if len(params) == 1:
        (name,) = params
        return lambda env: (env[name],)
    return operator.itemgetter(*params)


# How many fast-path hits of an entry may record its direct launch before it gives up on a
# replay (a recording fails when two parameters hold the same tensor or float object).
REPLAY_TRIES = 4

# What a launcher may compute besides calling its kernel: sizes from shapes, strides, the grid.
_PURE_NODES = (
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.Attribute,
    ast.Subscript,
    ast.Slice,
    ast.Tuple,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.IfExp,
    ast.operator,
    ast.unaryop,
    ast.boolop,
    ast.cmpop,
    ast.Call,
)
_PURE_CALLS = {"min", "max", "int", "len"}
_PURE_METHODS = {"stride", "size", "dim"}
_PURE_ATTRIBUTES = {"shape", "ndim"}


def _pure_expr(node: ast.AST) -> bool:
    for sub in ast.walk(node):
        if not isinstance(sub, _PURE_NODES):
            return False
        if isinstance(sub, ast.Call):
            f = sub.func
            if sub.keywords:
                return False
            if isinstance(f, ast.Name) and f.id in _PURE_CALLS:
                continue
            if isinstance(f, ast.Attribute) and f.attr in _PURE_METHODS:
                continue
            return False
        if isinstance(sub, ast.Attribute) and sub.attr not in _PURE_ATTRIBUTES | _PURE_METHODS:
            return False
    return True


def _pure_launcher(fn: ast.FunctionDef) -> bool:
    """Every statement before the JIT launch only binds names to sizes/strides/grid, returns
    early, or hands the direct launch its arguments."""
    for i, stmt in enumerate(fn.body):
        if isinstance(stmt, ast.Assign):
            if not all(isinstance(t, ast.Name) for t in stmt.targets) or not _pure_expr(stmt.value):
                return False
        elif isinstance(stmt, ast.If):
            if stmt.orelse or not _pure_expr(stmt.test) or len(stmt.body) != 1:
                return False
            ret = stmt.body[0]
            if not isinstance(ret, ast.Return):
                return False
            v = ret.value
            if v is None:
                continue
            if not (
                isinstance(v, ast.Call)
                and isinstance(v.func, ast.Name)
                and v.func.id == "_kc_launch"
                and not v.keywords
                and all(_pure_expr(a) for a in v.args)
            ):
                return False
        elif isinstance(stmt, ast.Return) and i == len(fn.body) - 1:
            continue  # the JIT launch, not reached when the direct launch is given
        else:
            return False
    return True


def replayable(compiled: Any) -> bool:
    """Whether ``compiled`` (a CompiledLoop) has a launcher a replay may stand in for: the
    generated ``launch_*`` functions of its source, alone or behind ``indexing.guarded`` (whose
    check reads only what the fast-path key covers), and each of them pure."""
    fn = compiled.launcher
    code = getattr(fn, "__code__", None)
    if code is None:
        return False
    guarded = (
        getattr(fn, "__module__", None) == "kcompiler.backends.triton.indexing"
        and getattr(fn, "__qualname__", None) == "guarded.<locals>.launcher"
    )
    if not guarded and not (
        code.co_filename.startswith("<kcompiler ") and fn.__name__.startswith("launch_")
    ):
        return False
    try:
        tree = ast.parse(compiled.source)
    except SyntaxError:
        return False
    launchers = [
        n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("launch_")
    ]
    return bool(launchers) and all(_pure_launcher(f) for f in launchers)


def make_replay(
    params: Sequence[str],
    values: Sequence[Any],
    launch_args: Sequence[Any],
    direct: Callable[..., None],
    constants: Sequence[Any] = (),
) -> Callable[[dict[str, Any]], None] | None:
    """``replay(env)``: ``direct`` called as the launcher called it with ``values`` (one per
    parameter) and handed it ``launch_args``, this call's tensors and floats in place of the
    recorded ones. ``constants``: objects the launcher passes on every call whatever its
    arguments (a compiled kernel's error buffer), replayed as they are. None when an argument
    is neither a constant of the key (int, bool, str, None), nor one of ``constants``, nor the
    one parameter holding that tensor or float."""
    parts = []
    fixed: dict[str, Any] = {}
    for a in launch_args:
        if a is None or type(a) in (int, bool, str):
            parts.append(repr(a))
        elif any(a is c for c in constants):
            name = f"const_{len(fixed)}"
            fixed[name] = a
            parts.append(name)
        elif type(a) is float or isinstance(a, torch.Tensor):
            owners = [p for p, v in zip(params, values) if v is a]
            if len(owners) != 1:
                return None
            parts.append(f"env[{owners[0]!r}]")
        else:
            return None
    bind = getattr(direct, "bind", None)  # backends/triton/launch.py: the launch inlined
    if bind is not None:
        return bind(parts[0], parts[1:], fixed)
    src = f"def replay(env):\n    return direct({', '.join(parts)})\n"
    scope: dict[str, Any] = {"direct": direct, **fixed}
    exec(compile(src, "<kcompiler replay>", "exec"), scope)
    return scope["replay"]
