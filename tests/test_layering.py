"""The package's dependency rules, read from the source with ``ast`` (issue 19's ratchet).

Rules (../shared/DESIGN.md, "Layout"): imports point down the layers
base (config, exc, settings, target, language) <- dialects <- passes <- frontend, backends
<- compiler <- runtime <- aot, tools <- kernels; ``autotune`` depends only on the config record,
the errors and itself; no import cycles; no underscore name of one module used by another.

The code does not keep all of them yet. What breaks them today is listed below, each entry an
exception to remove, not a licence: a test fails on any new violation, and on a listed one that
is gone (so the lists only shrink). Imports inside functions count like any other: deferring an
import hides a cycle from Python, not from the design.
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

KNOWN_UPWARD = {
    # compile.py is the compile driver inside the backend: it returns runtime's CompiledLoop.
    ("kcompiler.backends.triton.compile", "kcompiler.runtime.kernel"),
    # Kernel.use_table attaches an aot table (aot builds on Kernel).
    ("kcompiler.runtime.kernel", "kcompiler.aot.runtime"),
}
KNOWN_CYCLES = [
    {
        "kcompiler.backends.triton.bounds",
        "kcompiler.backends.triton.codegen",
        "kcompiler.backends.triton.indexing",
    },
    {"kcompiler.passes.pass_manager", "kcompiler.passes.pipeline"},
    {"kcompiler.frontend.tracer", "kcompiler.frontend.values"},
    {"kcompiler.autotune.cache", "kcompiler.autotune.redis_cache"},
    {
        "kcompiler.aot.runtime",
        "kcompiler.aot.table",
        "kcompiler.backends.triton.compile",
        "kcompiler.runtime.custom_op",
        "kcompiler.runtime.flops",
        "kcompiler.runtime.kernel",
        "kcompiler.runtime.tuning",
    },
]
KNOWN_PRIVATE = {
    ("kcompiler.runtime.kernel", "kcompiler.language._context._state"),
    ("kcompiler.runtime.kernel", "kcompiler.runtime.custom_op._entry"),
}


def _modules() -> dict[str, ast.Module]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = ast.parse(path.read_text(), str(path))
    return out


MODULES = _modules()


def _imports(tree: ast.Module) -> list[tuple[str, list[tuple[str, str]]]]:
    """(module imported, [(name taken from it, local name)]) for every kcompiler import, at
    any depth; ``import kcompiler.x as y`` is ("kcompiler.x", [("", "y")])."""
    found = []
    for node in ast.walk(tree):
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
    assert upward - KNOWN_UPWARD == set(), "imports from a higher layer (see the module docstring)"
    assert KNOWN_UPWARD - upward == set(), "fixed: remove these from KNOWN_UPWARD"


def test_no_new_import_cycles() -> None:
    graph = nx.DiGraph(list(_edges()))
    cycles = [c for c in nx.strongly_connected_components(graph) if len(c) > 1]
    new = [sorted(c) for c in cycles if not any(c <= known for known in KNOWN_CYCLES)]
    assert new == [], "new import cycles (or known ones grown)"
    gone = [sorted(k) for k in KNOWN_CYCLES if not any(k & c for c in cycles)]
    assert gone == [], "fixed: remove these from KNOWN_CYCLES"


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
    assert used - KNOWN_PRIVATE == set(), "underscore names used across modules"
    assert KNOWN_PRIVATE - used == set(), "fixed: remove these from KNOWN_PRIVATE"


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
