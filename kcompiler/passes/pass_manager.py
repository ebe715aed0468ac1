"""The pass manager: pipelines are data, ordered by what each pass needs.

A pipeline is a string in xDSL's syntax, the one ``kc-opt -p`` takes::

    shape-inference,split-reductions{chunk=256},persistent{pid_type=persistent_blocked}

``PassManager(text)`` parses it against the registry (``pipeline.all_passes()``), adds the
passes the listed ones need and orders everything with a DAG (networkx):

* a pass *requires* others (``split-reductions`` and ``persistent`` need ``shape-inference``):
  a required pass runs before its dependents; when the pipeline does not list it, it is
  inserted with its default options (unless the caller says it already ran: ``done=``);
* a pass may also *run before* others when both are listed (``indexing`` stamps loads and
  stores before ``split-reductions`` re-issues them), without pulling them in;
* among passes free to run, the listed order wins (so a consistent pipeline runs as written).

Requirements come from a pass class's ``requires`` / ``runs_before`` class attributes, else from
``pipeline.pass_requirements()``. Unknown names, malformed options and requirement cycles are
``PipelineError``s that say which pass and why.

``str(pm)`` is the resolved pipeline: every pass with its non-default options, in run order.
Replaying it with ``kc-opt ir.mlir -p '<it>'`` on the IR the manager started from gives the
same IR; ``KCOMPILER_DUMP_IR=<dir>`` writes exactly that file (input IR plus a ``// RUN:`` line).

With debug on (``debug=True`` or ``KCOMPILER_DEBUG=1``) the IR is verified before the first
pass and after every pass; a failure names the pass that broke it, the replay pipeline and the
op that failed (its Python source line, else its IR location).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.utils.arg_spec import ArgSpec, parse_pipeline
from xdsl.utils.exceptions import ArgSpecParseError

from kcompiler import settings
from kcompiler.dialects import tile as t
from kcompiler.dialects.diagnostics import OpError, op_location, source_line_of, verify_located
from kcompiler.passes import pipeline as pass_registry
from kcompiler.passes.indexing import IndexingPass, memory_ops, normalize_indexing
from kcompiler.passes.persistent import PersistentPass
from kcompiler.passes.split_reductions import SplitReductionsPass, chunks_from_reduction_loops

__all__ = [
    "PassManager",
    "PipelineError",
    "debug_enabled",
    "format_pipeline",
    "pipeline_for_config",
    "run_frontend_pipeline",
]


class PipelineError(ValueError):
    """A pipeline that cannot run: unknown pass, bad options, a cycle, or IR broken by a pass."""


def debug_enabled(debug: bool | None = None) -> bool:
    """``debug`` if given, else the ``KCOMPILER_DEBUG`` setting."""
    if debug is not None:
        return debug
    return settings.current().debug


def format_pipeline(passes: Iterable[ModulePass]) -> str:
    """The pipeline text of these pass instances (non-default options only)."""
    return ",".join(str(p.spec()) for p in passes)


@dataclass
class _Node:
    key: tuple[int, str]  # (position in the listing, or -1 for an inserted pass; name)
    name: str
    instance: ModulePass
    inserted: bool = False


@dataclass
class PassRecord:
    """What one pass did in a run: its spec and wall time."""

    spec: str
    seconds: float


@dataclass
class PassManager:
    """A resolved, ordered pipeline; ``run(module)`` applies it in place.

    ``pipeline``: pipeline text, or pass instances (in listing order).
    ``done``: names of passes the IR has already been through (satisfy requirements).
    ``debug``: verify around every pass (default: ``KCOMPILER_DEBUG``).
    ``registry`` / ``requirements``: override ``pipeline.all_passes()`` /
    ``pipeline.pass_requirements()`` (tests use this to build cyclic registries).
    """

    pipeline: str | Sequence[ModulePass] = ""
    done: Iterable[str] = ()
    debug: bool | None = None
    registry: Mapping[str, Callable[[], type[ModulePass]]] | None = None
    requirements: Mapping[str, Sequence[str]] | None = None
    dump_dir: str | None = None
    passes: tuple[ModulePass, ...] = field(init=False)
    inserted: tuple[str, ...] = field(init=False)
    log: list[PassRecord] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self._registry = dict(
            self.registry if self.registry is not None else pass_registry.all_passes()
        )
        self._requires = {
            k: tuple(v)
            for k, v in (
                self.requirements
                if self.requirements is not None
                else pass_registry.pass_requirements()
            ).items()
        }
        self.done = frozenset(self.done)
        self.debug = debug_enabled(self.debug)
        if self.dump_dir is None:
            self.dump_dir = settings.current().dump_ir
        listed = self._parse(self.pipeline)
        ordered = self._order(listed)
        self.passes = tuple(n.instance for n in ordered)
        self.inserted = tuple(n.name for n in ordered if n.inserted)

    # -- parsing ----------------------------------------------------------------------------
    def _cls(self, name: str) -> type[ModulePass]:
        factory = self._registry.get(name)
        if factory is None:
            known = ", ".join(sorted(self._registry))
            raise PipelineError(f"unknown pass {name!r} (known passes: {known})")
        return factory()

    def _parse(self, pipeline: str | Sequence[ModulePass]) -> list[ModulePass]:
        if not isinstance(pipeline, str):
            for p in pipeline:
                if not isinstance(p, ModulePass):
                    raise PipelineError(f"not a pass: {p!r}")
                self._cls(p.name)  # must be registered: replay needs the name
            return list(pipeline)
        try:
            specs: list[ArgSpec] = list(parse_pipeline(pipeline.strip()))
        except ArgSpecParseError as e:  # a BaseException in xDSL
            raise PipelineError(f"malformed pipeline {pipeline!r}: {e}") from None
        out: list[ModulePass] = []
        for spec in specs:
            cls = self._cls(spec.name)
            try:
                out.append(cls.from_pass_spec(spec))
            except (ValueError, TypeError, ArgSpecParseError) as e:
                raise PipelineError(
                    f"pass {spec.name!r}: bad options in {str(spec)!r}: {e}"
                ) from None
        return out

    # -- ordering ---------------------------------------------------------------------------
    def requires_of(self, name: str) -> tuple[str, ...]:
        cls = self._cls(name)
        declared = getattr(cls, "requires", None)
        return tuple(declared) if declared is not None else self._requires.get(name, ())

    def runs_before_of(self, name: str) -> tuple[str, ...]:
        return tuple(getattr(self._cls(name), "runs_before", ()) or ())

    def _in_order(self, listed: list[ModulePass]) -> bool:
        """Whether the listing already satisfies every requirement and ordering edge.

        Then the DAG's order (listed order breaks ties) is the listing itself, and the graph
        (and networkx, slow to import) is not needed."""
        seen: set[str] = set(self.done)
        names = [p.name for p in listed]
        for i, name in enumerate(names):
            if any(req not in seen for req in self.requires_of(name)):
                return False
            if any(later in names[:i] for later in self.runs_before_of(name)):
                return False
            seen.add(name)
        return True

    def _check_requirement_cycles(self, names: Iterable[str]) -> set[str]:
        """The requirement closure of ``names``; raises on an unknown name or a cycle."""
        import networkx as nx

        graph = nx.DiGraph()
        todo = list(dict.fromkeys(names))
        seen: set[str] = set()
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            graph.add_node(name)
            for req in self.requires_of(name):
                if req not in self._registry:
                    raise PipelineError(f"pass {name!r} requires unknown pass {req!r}")
                graph.add_edge(req, name)
                todo.append(req)
        try:
            cycle = nx.find_cycle(graph)
        except nx.NetworkXNoCycle:
            return seen
        path = " -> ".join([cycle[0][0], *(v for _, v in cycle)])
        raise PipelineError(f"pass requirements form a cycle: {path} (each requires the previous)")

    def _order(self, listed: list[ModulePass]) -> list[_Node]:
        if self._in_order(listed):
            return [_Node((i, p.name), p.name, p) for i, p in enumerate(listed)]
        import networkx as nx

        names = [p.name for p in listed]
        closure = self._check_requirement_cycles(names)
        nodes: list[_Node] = [_Node((i, p.name), p.name, p) for i, p in enumerate(listed)]
        first: dict[str, _Node] = {}
        for n in nodes:
            first.setdefault(n.name, n)
        for name in sorted(closure - set(names) - set(self.done)):
            inst = self._cls(name)()
            node = _Node((-1, name), name, inst, inserted=True)
            nodes.append(node)
            first[name] = node
        graph = nx.DiGraph()
        by_key = {n.key: n for n in nodes}
        graph.add_nodes_from(by_key)
        last: dict[str, _Node] = {}
        for n in sorted(nodes, key=lambda n: n.key):
            if n.name in last:  # repeated passes keep their listed order
                graph.add_edge(last[n.name].key, n.key, why="listed order")
            last[n.name] = n
        for n in nodes:
            for req in self.requires_of(n.name):
                src = first.get(req)
                if src is None:  # already done
                    continue
                if src is n:
                    raise PipelineError(f"pass {n.name!r} requires itself")
                graph.add_edge(src.key, n.key, why=f"{n.name} requires {req}")
            for later in self.runs_before_of(n.name):
                for m in nodes:
                    if m.name == later:
                        graph.add_edge(n.key, m.key, why=f"{n.name} runs before {later}")
        try:
            order = list(nx.lexicographical_topological_sort(graph, key=lambda k: k))
        except nx.NetworkXUnfeasible:
            cycle = nx.find_cycle(graph)
            why = "; ".join(graph.edges[u, v]["why"] for u, v in cycle)
            raise PipelineError(f"the pipeline's passes cannot be ordered: {why}") from None
        return [by_key[k] for k in order]

    # -- running ----------------------------------------------------------------------------
    def __str__(self) -> str:
        return format_pipeline(self.passes)

    def __repr__(self) -> str:
        return f"PassManager({format_pipeline(getattr(self, 'passes', ()))!r})"

    def __bool__(self) -> bool:
        return bool(self.passes)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.passes]

    def replay_command(self, path: str) -> str:
        """The kc-opt command that replays this pipeline on IR saved at ``path``."""
        return f"kc-opt {path} -p '{self}'"

    def run(self, module: ModuleOp, ctx: Context | None = None) -> ModuleOp:
        """Apply the passes to ``module`` in place (and return it)."""
        if ctx is None:
            ctx = pass_registry.make_context()
        if self.dump_dir and self.passes:
            self._dump(module)
        if self.debug:
            self._verify(module, None)
        for p in self.passes:
            t0 = time.perf_counter()
            p.apply(ctx, module)
            self.log.append(PassRecord(str(p.spec()), time.perf_counter() - t0))
            if self.debug:
                self._verify(module, p)
        return module

    def _verify(self, module: ModuleOp, after: ModulePass | None) -> None:

        try:
            verify_located(module)  # iterative: deep nests need no Python recursion
        except Exception as e:  # OpError, or an exception of a malformed op's verifier
            where = f"after pass '{after.spec()}'" if after else "before the pipeline"
            at = _op_where(e.op) if isinstance(e, OpError) else ""
            raise PipelineError(f"IR does not verify {where} (pipeline: '{self}'): {at}{e}") from e

    def _dump(self, module: ModuleOp) -> str:
        import hashlib

        assert self.dump_dir is not None
        os.makedirs(self.dump_dir, exist_ok=True)
        text = str(module)
        kernel = _kernel_name(module)
        digest = hashlib.sha1((str(self) + text).encode()).hexdigest()[:10]
        path = os.path.join(self.dump_dir, f"{kernel}-{digest}.mlir")
        with open(path, "w") as f:
            f.write(f"// RUN: kc-opt %s -p '{self}'\n")
            f.write(f"// replay: {self.replay_command(path)}\n")
            f.write(text + "\n")
        return path


def _op_where(op: Operation) -> str:
    """``kernel.py:12: 'tile.load' op: ``: where the failing op came from (the Python line it
    was traced from, else its IR text location) and its name."""

    where = source_line_of(op)
    if where is None and (loc := op_location(op)) is not None:
        where = f"{loc.filename.data}:{loc.line.data}:{loc.column.data}"
    return f"{where + ': ' if where else ''}'{op.name}' op: "


def _kernel_name(module: ModuleOp) -> str:

    for op in module.ops:
        if isinstance(op, t.KernelOp):
            return op.sym_name.data
    return "module"


def pipeline_for_config(module: ModuleOp, config: Mapping[str, Any]) -> str:
    """The config-specific pipeline for traced (shape-inferred) IR, as pipeline text.

    ``indexing`` stamps the per-load/store indexing mode, ``split-reductions`` chunks the
    whole-dim reductions that ``reduction_loops`` asks for, ``persistent`` records a
    non-flat ``pid_type``. Empty when the config needs none of them.
    """

    passes: list[ModulePass] = []
    modes = normalize_indexing(config.get("indexing"))
    chunks = chunks_from_reduction_loops(module, config.get("reduction_loops"))
    if any(m != "pointer" for m in modes):
        # A list longer than the accesses may be numbered Helion's way, which depends on
        # the dims chunked ("Helion's numbering" in passes/indexing.py).
        longer = len(modes) > len(memory_ops(module))
        passes.append(IndexingPass(modes=modes, split=tuple(chunks) if longer else ()))
    if chunks:
        passes.append(SplitReductionsPass(dim=tuple(chunks), chunk=tuple(chunks.values())))
    pid_type = config.get("pid_type")
    if pid_type not in (None, "flat"):
        passes.append(
            PersistentPass(
                pid_type=str(pid_type), num_sm_multiplier=int(config.get("num_sm_multiplier") or 1)
            )
        )
    return format_pipeline(passes)


FRONTEND_PIPELINE = "shape-inference"


def run_frontend_pipeline(module: ModuleOp, debug: bool | None = None) -> None:
    """What runs on freshly traced IR before it is cached: inference and verification."""
    PassManager(FRONTEND_PIPELINE, debug=debug).run(module, pass_registry.make_context())
    module.verify()
