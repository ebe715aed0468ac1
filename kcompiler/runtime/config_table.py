"""The config table: entries keyed by a call's specialization, and the rule that picks one.

A call's key is ``frontend.specialize.specialize`` applied to the kernel's arguments (the
same key a device loop's compiled variant depends on, taken over the parameters), written in
a readable form::

    {"args": {"x": "float32[s0, s1]", "weight": "float32[s1]", "eps": "float"},
     "buckets": {"s0": 64, "s1": 256}, "divisors": {"s0": 64, "s1": 256},
     "int64_indexing": false}

Each tensor shows its dtype and dims (a size symbol per distinct size, literal 0 and 1; equal
sizes share a symbol; " overlapping" marks stride-0 broadcast dims, " strided" a last dim
whose stride is not 1, such as a transposed view), each int its size symbol, other scalars
their kind (bool and constants by value). Both marks are part of the class below: a launch
with such a tensor runs another kernel (its pointer version where a config asks for tensor
descriptors). Tables written before " strided" was recorded describe a strided tensor without
it: they still load, and their entries serve calls with a unit last stride. ``buckets`` is
each symbol's next power of two, ``divisors`` its largest power-of-two divisor (at most 4096).
The device is not part of it: the table's header names the card.

The values device code bakes in without taking them as arguments are part of it too, under
``"globals"`` (present when there are any): the module globals and helper closure cells each
device loop reads (frontend/global_reads.py), and those the kernel's host code reads (its own
closure variables among them), ``{"mod.SCALE": "float 2.0", "<closure>.flip": "bool True"}``. They are
described by value where they are plain data (bools, ints, floats, strings, None, dtypes,
tuples of them), by name for functions and modules, by dtype and shape for tensors, and by
type for other objects (which a table, read in another process, cannot tell apart).

Lookup rule (``Table.lookup``):

1. an entry whose key equals the call's key is used as is;
2. otherwise the nearest entry of the same *class*: same parameters, each tensor with the same
   dtype, rank and marks, ints, floats and None where the call has them, bools and constants equal,
   the same globals with equal values (an entry tuned with another value of a global is never
   served: its code differs; the runtime warns when that leaves a call without an entry).
   Distance: the sum over every tensor dim, int argument and int of a constant list or tuple
   (layer_norm's ``normalized_shape``: its ints are sizes, so ``const [_]`` is the class) of
   |log2 bucket - log2 bucket| (dims a kernel marks batched, ``kc.aot_kernel(batched=...)``,
   are not counted); ties go to the entry with fewer of those steps below the call's sizes
   (a config tuned on blocks at least as large holds as many values a thread and masks the
   rest, while one tuned on smaller blocks and given larger ones holds more values a thread
   than it was tuned with, which can spill), then to the smaller sum of
   |log2 divisor - log2 divisor|, then to the entry whose sizes are equal where the call's
   are (same signature), then to the entry listed first;
3. no entry of the class: no config from the table (the kernel's own default applies).
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import FunctionType, ModuleType
from typing import Any

import torch

from kcompiler.autotune import library_versions
from kcompiler.compiler.driver import interpreting
from kcompiler.config import Config
from kcompiler.frontend.global_reads import MISSING, Read, function_reads
from kcompiler.frontend.specialize import next_pow2, pow2_divisor, specialize

FORMAT = "kcompiler-aot-table/1"
RULE = (
    "exact specialization; else the same class (parameters, tensor dtypes, ranks and marks, "
    "scalar kinds, bools and constants, ints of constant lists as sizes) at the fewest log2 "
    "bucket steps summed over dims, then the fewest of them below the call's sizes, then the "
    "fewest log2 divisor steps, then the same size equalities, then the first listed"
)


class TableError(ValueError):
    """A config table that cannot serve this kernel: unreadable, or an entry invalid for it."""


_TENSOR = re.compile(r"^(\w+)\[(.*)\]((?: overlapping)?(?: strided)?)$")
# A constant list or tuple of ints (layer_norm's ``normalized_shape``): sizes by another name.
_CONST_INTS = re.compile(r"^const ([\[(])\s*(-?\d+(?:\s*,\s*-?\d+)*)?\s*,?\s*([\])])$")


def const_ints(desc: str) -> list[int] | None:
    """The ints of a ``const [..]``/``const (..)`` description of ints only, else None."""
    m = _CONST_INTS.match(desc)
    if m is None:
        return None
    return [int(x) for x in m.group(2).split(",")] if m.group(2) else []


@dataclass(frozen=True)
class Key:
    """A call's specialization in readable form (see the module docstring)."""

    args: tuple[tuple[str, str], ...]  # (parameter, description), in signature order
    buckets: tuple[tuple[str, int], ...]  # (size symbol, next power of two)
    divisors: tuple[tuple[str, int], ...]  # (size symbol, largest power-of-two divisor)
    int64_indexing: bool = False
    # (label, description) of each value baked into the code besides the arguments, by label
    globals: tuple[tuple[str, str], ...] = ()

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def of_call(cls, kernel: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Key:
        """The key of ``kernel(*args, **kwargs)``."""
        env = dict(kernel.bind(*args, **kwargs).arguments)
        names = list(kernel.signature.parameters)
        spec = specialize(names, env, kernel.static_shapes, kernel.program.constexprs)
        entries, buckets, divisors, big, _static = spec.key
        syms = list(spec.symbols.values)
        return cls(
            tuple((e[0], describe_entry(e)) for e in entries),
            tuple(zip(syms, buckets)),
            tuple(zip(syms, divisors)),
            bool(big),
            tuple((label, describe_value(v)) for label, v in compile_time_reads(kernel)),
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Key:
        return cls(
            tuple((str(k), str(v)) for k, v in data["args"].items()),
            tuple((str(k), int(v)) for k, v in data["buckets"].items()),
            tuple((str(k), int(v)) for k, v in data["divisors"].items()),
            bool(data.get("int64_indexing", False)),
            tuple(sorted((str(k), str(v)) for k, v in data.get("globals", {}).items())),
        )

    def to_json(self) -> dict[str, Any]:
        out = {
            "args": dict(self.args),
            "buckets": dict(self.buckets),
            "divisors": dict(self.divisors),
            "int64_indexing": self.int64_indexing,
        }
        if self.globals:
            out["globals"] = dict(self.globals)
        return out

    # -- views -------------------------------------------------------------------------------
    @property
    def ident(self) -> str:
        """One line: ``x: float32[s0, s1]; eps: float | s0 64/64, s1 256/256``."""
        args = "; ".join(f"{n}: {d}" for n, d in self.args)
        divs = dict(self.divisors)
        sizes = ", ".join(f"{s} {b}/{divs[s]}" for s, b in self.buckets)
        baked = "; ".join(f"{n} = {d}" for n, d in self.globals)
        return (
            f"{args} | {sizes}"
            + (" | int64" if self.int64_indexing else "")
            + (f" | globals {baked}" if baked else "")
        )

    @property
    def klass(self) -> tuple[tuple[str, str], ...]:
        """What must match for an entry to serve this key at all: the arguments with each
        dim and int size reduced to a placeholder (dtype, rank and kinds remain)."""
        out = []
        for name, desc in self.args:
            m = _TENSOR.match(desc)
            if m is not None:
                rank = len(_dims(m.group(2)))
                desc = f"{m.group(1)}[{', '.join(['_'] * rank)}]{m.group(3) or ''}"
            elif desc.startswith("int "):
                desc = "int"
            elif (ints := const_ints(desc)) is not None:
                desc = f"const {desc[6]}{', '.join(['_'] * len(ints))}{desc[-1]}"
            out.append((name, desc))
        return (*out, ("int64", str(self.int64_indexing)), *self.globals_class)

    @property
    def globals_class(self) -> tuple[tuple[str, str], ...]:
        """The globals' part of the class: every label with its value (code differs)."""
        return tuple((f"global {n}", d) for n, d in self.globals)

    def sizes(self) -> list[tuple[int, int]]:
        """(bucket, divisor) of every tensor dim and int argument, in argument order."""
        buckets, divisors = dict(self.buckets), dict(self.divisors)

        def one(dim: str) -> tuple[int, int]:
            if dim in buckets:
                return buckets[dim], divisors[dim]
            n = int(dim)  # a literal size (0, 1, or any with static_shapes)
            return next_pow2(n), pow2_divisor(n)

        out: list[tuple[int, int]] = []
        for _, desc in self.args:
            m = _TENSOR.match(desc)
            if m is not None:
                out.extend(one(d) for d in _dims(m.group(2)))
            elif desc.startswith("int "):
                out.append(one(desc[4:]))
            else:
                ints = const_ints(desc)
                out.extend(one(str(max(n, 1))) for n in ints or ())
        return out

    def positions(self, dims: Mapping[str, frozenset[int]]) -> frozenset[int]:
        """The places in ``sizes()`` of the given dims of each parameter (``{name: dims}``)."""
        out: set[int] = set()
        at = 0
        for name, desc in self.args:
            m = _TENSOR.match(desc)
            if m is not None:
                rank = len(_dims(m.group(2)))
            else:
                rank = int(desc.startswith("int ")) or len(const_ints(desc) or ())
            out.update(at + d for d in dims.get(name, ()) if d < rank)
            at += rank
        return frozenset(out)

    def signature(self) -> tuple[tuple[str, str], ...]:
        """The arguments with their size symbols: equal when sizes are equal in the same
        places."""
        return self.args

    def distance(
        self, other: Key, skip: frozenset[int] = frozenset()
    ) -> tuple[float, float, float]:
        """(log2 bucket steps, the steps where ``other``'s bucket is the smaller, log2 divisor
        steps) summed over dims, but those at the places ``skip`` (batched dims); keys of one
        class only."""
        pairs = [p for i, p in enumerate(zip(self.sizes(), other.sizes())) if i not in skip]
        steps = sum(abs(math.log2(x[0]) - math.log2(y[0])) for x, y in pairs)
        down = sum(max(0.0, math.log2(x[0]) - math.log2(y[0])) for x, y in pairs)
        divs = sum(abs(math.log2(x[1]) - math.log2(y[1])) for x, y in pairs)
        return steps, down, divs


def _dims(text: str) -> list[str]:
    return [d.strip() for d in text.split(",") if d.strip()]


def baked_reads(kernel: Any) -> tuple[Read, ...]:
    """The reads of what a call's code depends on besides the kernel's arguments, as now
    bound: each device loop's module globals and helper closure cells (``Kernel.loop_reads``),
    then those of the kernel's host function itself (its closure variables and the globals its
    host code reads: the values it hands its device loops derive from them)."""
    out: dict[Read, None] = {}
    for index in range(len(kernel.program.loops)):
        out.update(dict.fromkeys(kernel.loop_reads(index)))
    out.update(dict.fromkeys(function_reads(kernel.fn)))
    return tuple(out)


def compile_time_reads(kernel: Any) -> tuple[tuple[str, Any], ...]:
    """(label, value) of each of ``baked_reads``, sorted by label: ``module.name`` for a
    global, ``<closure>.name`` for a closure cell of the kernel, ``<cell>.name`` for a
    helper's (a label taken twice gets ``#2``, ``#3``...)."""
    fn = kernel.fn
    own = {id(c) for c in fn.__closure__ or ()}
    out: dict[str, Any] = {}
    for read in baked_reads(kernel):
        label = read.label()
        if read.cell is not None and id(read.cell) in own:
            label = f"<closure>.{read.name}"
        n, base = 1, label
        while label in out:
            n += 1
            label = f"{base}#{n}"
        out[label] = read.value()
    return tuple(sorted(out.items()))


def describe_value(v: Any, depth: int = 3) -> str:
    """A baked-in value as table text: plain data by value (two values that compile to other
    code read differently), functions and modules by name, tensors by dtype and shape, other
    objects by type."""
    if v is MISSING:
        return "unbound"
    if v is None:
        return "None"
    if isinstance(v, (bool, int, float, str)):
        return f"{type(v).__name__} {v!r}"
    if isinstance(v, (tuple, list)) and depth > 0:
        items = ", ".join(describe_value(x, depth - 1) for x in v)
        return f"{type(v).__name__} [{items}]"
    if isinstance(v, torch.dtype):
        return f"dtype {str(v).removeprefix('torch.')}"
    if isinstance(v, torch.Tensor):
        return f"tensor {str(v.dtype).removeprefix('torch.')}{list(v.shape)}"
    if isinstance(v, ModuleType):
        return f"module {v.__name__}"
    if isinstance(v, FunctionType):
        return f"function {v.__module__}.{v.__qualname__}"
    return f"object {type(v).__module__}.{type(v).__qualname__}"


def describe_entry(entry: tuple[Any, ...]) -> str:
    """One argument of a specialization key as text."""
    kind = entry[1]
    if kind == "T":
        _, _, dtype, dims, _device, overlap, strided = entry
        name = str(dtype).removeprefix("torch.")
        marks = (" overlapping" if overlap else "") + (" strided" if strided else "")
        return f"{name}[{', '.join(dims)}]{marks}"
    if kind == "I":
        return f"int {entry[2]}"
    if kind == "B":
        return f"bool {entry[2]}"
    if kind == "F":
        return "float"
    if kind == "N":
        return "None"
    if kind == "C":
        return f"const {entry[2]}"
    if kind == "BS":
        return f"block {entry[3]}"
    if kind == "K":
        return f"constant {entry[2]}"
    if kind == "G":
        return f"globals {len(entry[2])}"
    if kind == "FN":
        return "function"
    return f"object {entry[2]}"  # the key's id() is not stable across processes


@dataclass
class Entry:
    key: Key
    config: Config
    time_ms: float | None = None  # geomean over ``shapes``; None: not measured
    shapes: list[dict[str, Any]] = field(default_factory=list)  # {"args", "kwargs"?, "time_ms"}

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key.to_json(),
            "config": dict(self.config),
            "time_ms": self.time_ms,
            "shapes": self.shapes,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Entry:
        return cls(
            Key.from_json(data["key"]),
            Config(data["config"]),
            data.get("time_ms"),
            list(data.get("shapes", [])),
        )


def current_card() -> str:
    """The device a table is tuned for and used on: the CUDA device's name, or
    ``"cpu-interpreter"`` under TRITON_INTERPRET=1 (or without a GPU)."""

    if interpreting() or not torch.cuda.is_available():
        return "cpu-interpreter"
    return torch.cuda.get_device_name()


def current_versions() -> dict[str, str]:
    """The installed kcompiler, torch and Triton versions (a copy: callers may keep it).
    Read once a process: the package metadata behind them is parsed per read, and every
    table's first call compares its header with them."""
    return dict(_versions())


@functools.cache
def _versions() -> dict[str, str]:
    return library_versions()


@dataclass
class Table:
    """A loaded or built config table (see the module docstring for the key and rule)."""

    kernel: str  # "module:qualname"
    entries: list[Entry] = field(default_factory=list)
    card: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    date: str = ""
    tuning: dict[str, Any] = field(default_factory=dict)
    source: str = ""  # where it was loaded from, for messages

    def __post_init__(self) -> None:
        self._index: dict[Key, Entry] = {}
        self._classes: dict[tuple[tuple[str, str], ...], list[Entry]] = {}
        for e in self.entries:
            self._add_index(e)

    def _add_index(self, entry: Entry) -> None:
        if entry.key in self._index:
            raise TableError(f"{self.source or 'table'}: two entries for {entry.key.ident}")
        self._index[entry.key] = entry
        self._classes.setdefault(entry.key.klass, []).append(entry)

    # -- building ----------------------------------------------------------------------------
    @classmethod
    def new(cls, kernel: str, tuning: Mapping[str, Any]) -> Table:
        now = datetime.now(timezone.utc).replace(microsecond=0)
        return cls(
            kernel,
            card=current_card(),
            versions=current_versions(),
            date=now.isoformat().replace("+00:00", "Z"),
            tuning=dict(tuning),
        )

    def add(self, entry: Entry) -> None:
        self.entries.append(entry)
        self._add_index(entry)

    # -- lookup ------------------------------------------------------------------------------
    def get(self, key: Key) -> Entry | None:
        return self._index.get(key)

    def other_globals(self, key: Key) -> list[Entry]:
        """Entries that would be of ``key``'s class but for the values of the globals (tuned
        with other values baked into the code): never served, but worth a warning."""
        bare = key.klass[: len(key.klass) - len(key.globals)]
        return [
            e
            for e in self.entries
            if e.key.globals != key.globals
            and e.key.klass[: len(e.key.klass) - len(e.key.globals)] == bare
        ]

    def neighbours(self, key: Key, skip: frozenset[int] = frozenset()) -> list[Entry]:
        """Entries of ``key``'s class other than its own, nearest first (the lookup rule);
        the dims at the places ``skip`` (``Key.positions``: batched dims) are not counted."""
        same = [e for e in self._classes.get(key.klass, []) if e.key != key]
        order = {id(e): i for i, e in enumerate(self.entries)}

        def rank(e: Entry) -> tuple[float, float, float, int, int]:
            steps, down, divs = key.distance(e.key, skip)
            return steps, down, divs, int(e.key.signature() != key.signature()), order[id(e)]

        return sorted(same, key=rank)

    def lookup(self, key: Key, skip: frozenset[int] = frozenset()) -> tuple[Entry, bool] | None:
        """(entry, exact) by the module's rule; None when no entry has ``key``'s class.
        ``skip``: places of dims the distance does not count (batched dims)."""
        hit = self._index.get(key)
        if hit is not None:
            return hit, True
        near = self.neighbours(key, skip)
        return (near[0], False) if near else None

    # -- header checks -----------------------------------------------------------------------
    def mismatches(self) -> list[str]:
        """How this machine differs from the one the table was tuned on (card, versions)."""
        out = []
        card = current_card()
        if self.card != card:
            out.append(f"card {self.card!r} (this machine: {card!r})")
        here = current_versions()
        for lib in ("triton", "kcompiler"):
            theirs = self.versions.get(lib)
            if theirs is not None and theirs != here.get(lib):
                out.append(f"{lib} {theirs} (installed: {here.get(lib)})")
        return out

    # -- files -------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        ordered = sorted(
            self.entries,
            key=lambda e: (repr(e.key.klass), [b for b, _ in e.key.sizes()], e.key.ident),
        )
        return {
            "format": FORMAT,
            "kernel": self.kernel,
            "card": self.card,
            "versions": self.versions,
            "date": self.date,
            "tuning": self.tuning,
            "rule": RULE,
            "entries": [e.to_json() for e in ordered],
        }

    def dumps(self) -> str:
        return _format(self.to_json()) + "\n"

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.dumps())

    @classmethod
    def from_json(cls, data: Mapping[str, Any], source: str = "") -> Table:
        if data.get("format") != FORMAT:
            raise TableError(f"{source or 'table'}: format {data.get('format')!r}, not {FORMAT!r}")
        try:
            entries = [Entry.from_json(e) for e in data.get("entries", [])]
        except (KeyError, TypeError, ValueError) as e:
            raise TableError(f"{source or 'table'}: malformed entry: {e}") from e
        return cls(
            str(data.get("kernel", "")),
            entries,
            str(data.get("card", "")),
            dict(data.get("versions", {})),
            str(data.get("date", "")),
            dict(data.get("tuning", {})),
            source,
        )

    @classmethod
    def load(cls, path: str | Path) -> Table:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise TableError(f"cannot read config table {str(path)!r}: {e}") from e
        return cls.from_json(data, str(path))


def _format(value: Any, depth: int = 0) -> str:
    """JSON with one field per line down to each entry's fields; keys, configs and shapes
    each on one line, so a diff of two tables shows the configs that changed."""
    pad, inner = "  " * depth, "  " * (depth + 1)
    compact = depth >= 3 or not isinstance(value, (dict, list)) or not value
    if compact:
        return json.dumps(value, separators=(", ", ": "))
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(k)}: {_format(v, depth + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    items = [f"{inner}{_format(v, depth + 1)}" for v in value]
    return "[\n" + ",\n".join(items) + f"\n{pad}]"
