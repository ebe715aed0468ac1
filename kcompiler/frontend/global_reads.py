"""Module globals a device loop reads: values baked into its code, so part of its keys.

Device code evaluates a name that is no host value against the kernel's module globals, as
Python would; the value it finds there (a float, an int size, a bool in an ``if``, a dtype, a
helper function) becomes part of the traced code. Host code reads globals afresh on every
call, and what it hands a device loop is keyed as any host value (frontend/specialize.py,
frontend/host_constants.py); closure variables travel in the loop's environment the same way.
What is left is a global read by the device loop itself, or by a Python function it calls.

The rule: every global a device loop reads, directly or through the plain Python functions it
calls (their own globals and closure cells, to ``DEPTH`` calls deep), is a ``Read``; the
values of a loop's reads are part of its specialization key (``read_values``) and of its
fast-path key (runtime/fastpath.py), so a global rebound between calls compiles, or looks up,
the variant traced with the new value instead of running the old one.

A name bound to a module is taken to stay bound to it, so it is no read itself; the attributes
code reads of a user's module (``cfg.SCALE``) are reads of that module's globals. Not reads, so
no per-call cost: attributes of library modules (torch, triton, kcompiler, numpy, the standard
library: ``torch.float32``, ``math.pi``), the globals of functions from those libraries (the
functions themselves are keyed by identity like any global), and attributes of other objects
(an object read as a global is keyed by identity, not by what its attributes hold).
"""

from __future__ import annotations

import builtins
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from types import CellType, CodeType, FunctionType, ModuleType
from typing import Any

from kcompiler.frontend.specialize import value_key

# How many calls deep the globals of a called Python function are followed.
DEPTH = 4

# Where a function's globals are library state, not the user's: not followed.
_LIBRARIES = frozenset({"torch", "triton", "kcompiler", "numpy", "builtins", "functools"})

MISSING = object()


@dataclass(frozen=True)
class Read:
    """One value the traced code depends on: ``scope[name]`` for a global (``scope`` is the
    module's globals dict, looked up by identity), or the contents of ``cell``."""

    scope: dict[str, Any] | None
    name: str
    cell: CellType | None = None

    def __hash__(self) -> int:
        return hash((id(self.scope), self.name, id(self.cell)))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Read)
            and other.scope is self.scope
            and other.name == self.name
            and other.cell is self.cell
        )

    def value(self) -> Any:
        if self.cell is not None:
            try:
                return self.cell.cell_contents
            except ValueError:  # a cell not bound yet
                return MISSING
        assert self.scope is not None
        return self.scope.get(self.name, MISSING)

    def label(self) -> str:
        """``module.name`` (or ``<cell>.name``): how the key and messages name it."""
        if self.scope is None:
            return f"<cell>.{self.name}"
        return f"{self.scope.get('__name__', '?')}.{self.name}"


def _library_module(name: str | None) -> bool:
    root = (name or "").split(".")[0]
    return root in _LIBRARIES or root in sys.stdlib_module_names


def _library(fn: FunctionType) -> bool:
    return _library_module(getattr(fn, "__module__", None))


def _code_names(code: CodeType) -> set[str]:
    """The global names a code object and the code nested in it (lambdas, comprehensions)
    may load."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, CodeType):
            names |= _code_names(const)
    return names


def _function_reads(fn: FunctionType, depth: int, out: dict[Read, None]) -> None:
    """The globals and closure cells a plain Python function called by device code reads."""
    if depth <= 0 or _library(fn):
        return
    for var, cell in zip(fn.__code__.co_freevars, fn.__closure__ or ()):
        read = Read(None, var, cell)
        if read not in out:
            out[read] = None
            _follow(read.value(), depth, out)
    scope = fn.__globals__
    names = sorted(_code_names(fn.__code__))  # attribute names too: LOAD_ATTR reads co_names
    for name in names:
        if name in scope:
            _add(Read(scope, name), depth, out, names)


def _follow(value: Any, depth: int, out: dict[Read, None]) -> None:
    if isinstance(value, FunctionType):
        _function_reads(value, depth - 1, out)


def _add(read: Read, depth: int, out: dict[Read, None], attributes: list[str]) -> None:
    """Add ``read`` and what its value leads to; ``attributes``: the attribute names the code
    that reads it uses, which of a module are that module's globals."""
    if read in out:
        return
    value = read.value()
    if isinstance(value, ModuleType):
        # A module name stays bound to its module (module docstring); a user's module's
        # attributes the code names are globals of that module.
        if not _library_module(value.__name__) and depth > 0:
            scope = vars(value)
            for attr in attributes:
                if attr in scope:
                    _add(Read(scope, attr), depth - 1, out, attributes)
        return
    out[read] = None
    _follow(value, depth, out)


def loop_reads(
    names: list[str], fn_globals: dict[str, Any], attributes: Sequence[str] = ()
) -> tuple[Read, ...]:
    """The reads of a device loop whose code names ``names`` as globals and ``attributes`` as
    attributes (frontend/host.py's ``DeviceLoop``), for the values bound now: the functions it
    calls are followed as they are bound at this moment (a rebound function is itself a read,
    so a call seeing another function computes these again)."""
    out: dict[Read, None] = {}
    for name in names:
        if name in fn_globals:
            _add(Read(fn_globals, name), DEPTH, out, list(attributes))
        elif not hasattr(builtins, name):
            # Not bound yet (a NameError when traced); bound later, it must miss the key.
            out[Read(fn_globals, name)] = None
    return tuple(out)


def function_reads(fn: FunctionType) -> tuple[Read, ...]:
    """The globals and closure cells a plain Python function reads, following the functions
    they hold (a kernel's host function: the values its code hands its device loops derive
    from them; config tables key on them, runtime/config_table.py)."""
    out: dict[Read, None] = {}
    _function_reads(fn, DEPTH, out)
    return tuple(out)


def read_values(reads: tuple[Read, ...]) -> tuple[Any, ...]:
    """The reads' part of a specialization key: each one's label and value, by value for
    plain data (specialize.value_key) and by identity for other objects."""
    out = []
    for read in reads:
        v = read.value()
        out.append((read.label(), "missing" if v is MISSING else value_key(v)))
    return tuple(out)
