"""The package's dependency rules, read from the source with ``ast`` (issue 19, point 4).

Rules (../shared/DESIGN.md, "Layout"): imports point down the layers
base (config, exc, settings, target, language) <- dialects <- passes <- frontend, backends
<- compiler <- runtime <- aot, tools <- kernels; ``autotune`` depends only on the config record,
the errors and itself; no import cycles; no underscore name of one module used by another.

Imports inside functions count like any other (deferring an import hides a cycle from Python,
not from the design), and are allowed only where they defer a heavy dependency (``DEFERRED``
says which and why). Imports under ``if TYPE_CHECKING:`` do not count: they only name the type
of an object a module is handed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parents[1] / "kcompiler"

# Lower number = lower layer. The top-level package (kcompiler/__init__.py, the public API)
# sits above everything but the bundled kernels and the demo, which use it as users do.
RANK = {
    "config": 0,
    "exc": 0,
    "settings": 0,
    "target": 0,
    "language": 0,
    "dialects": 1,
    "passes": 2,
    "frontend": 3,
    "backends": 3,
    "autotune": 3,
    "compiler": 4,
    "runtime": 5,
    "aot": 6,
    "autotuner": 6,
    "tools": 6,
    "testing_ir": 6,
    "testing_values": 6,
    "": 7,  # kcompiler itself
    "testing": 8,
    "kernels": 8,
    "demo": 8,
}
# settings is a leaf of the base layer (it imports only exc): the tuner's strategy and effort
# and the cache's location are settings like any other.
AUTOTUNE_MAY_USE = {"config", "exc", "settings", "autotune"}

# Modules that import kcompiler modules inside functions, and why: only to defer a heavy
# dependency. Any other such import is a violation (it would hide an edge from the reader).
DEFERRED = {
    "kcompiler": "torch, Triton and xDSL load at the first use of kc.kernel",
    "kcompiler.tools.kc_opt": "Triton loads only when -t triton emits",
    "kcompiler.autotuner": "torch, Triton and xDSL load at the first use of aot_kernel",
    "kcompiler.autotune.compile_backends": "the Ray pool (ray) loads only for the Ray backend",
}


def _modules() -> dict[str, ast.Module]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = ast.parse(path.read_text(), str(path))
    return out


MODULES = _modules()


def _is_type_checking(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(tree: ast.Module) -> list[ast.AST]:
    """Every node but those under ``if TYPE_CHECKING:`` (its ``else`` branch included): an
    import there names a type for annotations only, so a module may name the type of the
    object it is handed (``Kernel``) by the module that calls it."""
    out: list[ast.AST] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        out.append(node)
        if _is_type_checking(node):
            stack.extend(node.orelse)  # type: ignore[attr-defined]
            continue
        stack.extend(ast.iter_child_nodes(node))
    return out


def _imports(tree: ast.Module) -> list[tuple[str, list[tuple[str, str]]]]:
    """(module imported, [(name taken from it, local name)]) for every kcompiler import, at
    any depth; ``import kcompiler.x as y`` is ("kcompiler.x", [("", "y")])."""
    found = []
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] == "kcompiler":
                found.append((node.module, [(a.name, a.asname or a.name) for a in node.names]))
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "kcompiler":
                    found.append((a.name, [("", a.asname)] if a.asname else []))
    return found


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _edges() -> set[tuple[str, str]]:
    """Module -> module it imports (a submodule imported by ``from pkg import mod`` counts)."""
    edges = set()
    for name, tree in MODULES.items():
        for target, names in _imports(tree):
            subs = [f"{target}.{n}" for n, _ in names if n]
            # ``from kcompiler import settings`` depends on the module, not on the package's
            # public API in kcompiler/__init__.py (which Python runs for any kcompiler import).
            top = target == "kcompiler" and subs and all(s in MODULES for s in subs)
            for t in subs if top else [target, *subs]:
                if t in MODULES and t != name:
                    edges.add((name, t))
    return edges


def test_imports_point_down_the_layers() -> None:
    upward = set()
    for src, dst in _edges():
        a, b = _layer(src), _layer(dst)
        if a == b:
            continue
        if a == "autotune" and b not in AUTOTUNE_MAY_USE:
            upward.add((src, dst))
        elif RANK[b] > RANK[a]:
            upward.add((src, dst))
    assert upward == set(), "imports from a higher layer (see the module docstring)"


def test_no_import_cycles() -> None:
    graph = nx.DiGraph(list(_edges()))
    cycles = [c for c in nx.strongly_connected_components(graph) if len(c) > 1]
    assert [sorted(c) for c in cycles] == [], "import cycles"


def test_no_private_names_across_modules() -> None:
    used = set()
    for name, tree in MODULES.items():
        aliases = {}
        for target, names in _imports(tree):
            for n, local in names:
                full = f"{target}.{n}" if n else target
                if n.startswith("_") and not n.startswith("__") and target != name:
                    used.add((name, full))
                aliases[local] = full
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and aliases[node.value.id] in MODULES
            ):
                used.add((name, f"{aliases[node.value.id]}.{node.attr}"))
    assert used == set(), "underscore names used across modules"


def _local_imports(tree: ast.Module) -> bool:
    """Whether a function of ``tree`` imports a kcompiler module (TYPE_CHECKING aside)."""
    for fn in _runtime_nodes(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inner = ast.Module(body=fn.body, type_ignores=[])
            if _imports(inner):
                return True
    return False


def test_imports_inside_functions_only_defer_heavy_dependencies() -> None:
    local = {name for name, tree in MODULES.items() if _local_imports(tree)}
    assert local - set(DEFERRED) == set(), "kcompiler imports inside functions (see DEFERRED)"


# Modules of passes/ that are not a pass: the pass manager and the pipeline that assembles them.
PASS_INFRASTRUCTURE = {
    "kcompiler.passes",
    "kcompiler.passes.pass_manager",
    "kcompiler.passes.pipeline",
}


def test_passes_holds_only_passes() -> None:
    """Each module of kcompiler/passes/ defines a ModulePass (one a file, as in xDSL); analyses,
    resource models and defaults live in the backend or the base layer."""
    not_passes = []
    for name, tree in MODULES.items():
        if not name.startswith("kcompiler.passes") or name in PASS_INFRASTRUCTURE:
            continue
        bases = {
            b.id if isinstance(b, ast.Name) else getattr(b, "attr", "")
            for node in tree.body
            if isinstance(node, ast.ClassDef)
            for b in node.bases
        }
        if "ModulePass" not in bases:
            not_passes.append(name)
    assert not_passes == [], "modules in passes/ that define no ModulePass"
