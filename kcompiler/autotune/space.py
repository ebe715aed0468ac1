"""The config space: a flat, ordered list of knobs plus the constraints between them.

Why a flat list: search strategies (random, pattern, DE, Optuna) want one coordinate per
knob, while `Config` keeps Helion's nested fields (``block_sizes=[64, 32]``). A list-valued
field is flattened into knobs named ``block_sizes[0]``, ``block_sizes[1]``; the space maps
between the two views.

Why constraints live here: the Helion log shows configs whose block numel exceeds Triton's
limit being compiled, failing and retried. Here every config a strategy can obtain
(``default``, ``sample``, ``neighbors``, ``decode``) is checked and, when needed, repaired, so
an invalid config never reaches the compiler.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from kcompiler.autotune.errors import ConfigError
from kcompiler.config import KNOWN_FIELDS, Config, is_field

__all__ = [
    "BoolKnob",
    "ChoiceKnob",
    "ConfigError",
    "ConfigSpace",
    "Constraint",
    "IntKnob",
    "Knob",
    "MaxProduct",
    "PowerOfTwoKnob",
    "Predicate",
    "TRITON_MAX_NUMEL",
]

# Triton rejects any block whose element count exceeds this (triton/_utils.py).
TRITON_MAX_NUMEL = 1 << 20

# size(): enumerate exactly up to this many raw combinations, estimate above it.
EXACT_SIZE_LIMIT = 1_000_000
SIZE_ESTIMATE_SAMPLES = 20_000

_KNOB_NAME = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?$")


def _same(a: Any, b: Any) -> bool:
    """Equality that keeps True != 1 and 1 != 1.0, so a bool knob never accepts an int."""
    return type(a) is type(b) and a == b


# --------------------------------------------------------------------------------------
# Knobs
# --------------------------------------------------------------------------------------


class Knob:
    """One tunable coordinate with a finite, ordered domain (``values``).

    Every knob is a finite ordered list, so all strategies can treat a knob as an index:
    neighbors are adjacent indices and the continuous encoding is the normalised index.
    """

    name: str
    default: Any
    values: tuple[Any, ...]

    def __init__(self, name: str, values: Sequence[Any], default: Any) -> None:
        match = _KNOB_NAME.match(name)
        if match is None or not is_field(match.group(1)):
            raise ValueError(
                f"knob name {name!r} must be a Config field (or a kl.register_tunable name) "
                "or 'field[i]'; "
                f"fields: {', '.join(KNOWN_FIELDS)}"
            )
        if not values:
            raise ValueError(f"knob {name!r} has an empty domain")
        self.name = name
        self.values = tuple(values)
        if not self.contains(default):
            raise ValueError(f"knob {name!r}: default {default!r} is not in {self.domain()}")
        self.default = default

    # -- domain ------------------------------------------------------------------------
    def contains(self, value: Any) -> bool:
        return any(_same(value, v) for v in self.values)

    def index(self, value: Any) -> int:
        for i, v in enumerate(self.values):
            if _same(value, v):
                return i
        raise ConfigError(f"knob {self.name!r} = {value!r} is not in {self.domain()}")

    def domain(self) -> str:
        """Human-readable domain, used in error messages and ``repr(space)``."""
        return "{" + ", ".join(repr(v) for v in self.values) + "}"

    # -- moves -------------------------------------------------------------------------
    def sample(self, rng: random.Random) -> Any:
        return self.values[rng.randrange(len(self.values))]

    def neighbors(self, value: Any) -> list[Any]:
        """Values one step away: the adjacent entries of the ordered domain."""
        i = self.index(value)
        return [self.values[j] for j in (i - 1, i + 1) if 0 <= j < len(self.values)]

    def encode(self, value: Any) -> float:
        n = len(self.values)
        return 0.5 if n == 1 else self.index(value) / (n - 1)

    def decode(self, x: float) -> Any:
        n = len(self.values)
        if not math.isfinite(x):
            x = 0.5
        i = int(round(min(1.0, max(0.0, x)) * (n - 1)))
        return self.values[i]

    def __repr__(self) -> str:
        return f"{self.name}: {self.domain()} (default {self.default!r})"


class PowerOfTwoKnob(Knob):
    """A power of two in [low, high]; block sizes and warp counts. Moves are x2 and /2."""

    def __init__(self, name: str, low: int, high: int, default: int) -> None:
        for label, v in (("low", low), ("high", high)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1 or v & (v - 1):
                raise ValueError(f"knob {name!r}: {label}={v!r} is not a power of two")
        if low > high:
            raise ValueError(f"knob {name!r}: low={low} > high={high}")
        self.low, self.high = low, high
        values = [1 << k for k in range(low.bit_length() - 1, high.bit_length())]
        super().__init__(name, values, default)

    def domain(self) -> str:
        return f"powers of two in [{self.low}, {self.high}]"


class IntKnob(Knob):
    """An integer in [low, high] (inclusive); unroll factors, stage counts."""

    def __init__(self, name: str, low: int, high: int, default: int) -> None:
        if low > high:
            raise ValueError(f"knob {name!r}: low={low} > high={high}")
        self.low, self.high = low, high
        super().__init__(name, range(low, high + 1), default)

    def domain(self) -> str:
        return f"integers in [{self.low}, {self.high}]"


class ChoiceKnob(Knob):
    """One of a list of values (strings, None, ints); adjacent choices are neighbors."""

    def __init__(self, name: str, choices: Sequence[Any], default: Any) -> None:
        super().__init__(name, choices, default)

    def domain(self) -> str:
        return "one of " + super().domain()


class BoolKnob(Knob):
    """True or False; the only move is a flip."""

    def __init__(self, name: str, default: bool = False) -> None:
        super().__init__(name, (False, True), default)

    def domain(self) -> str:
        return "True or False"


# --------------------------------------------------------------------------------------
# Constraints
# --------------------------------------------------------------------------------------


@runtime_checkable
class Constraint(Protocol):
    """A rule between knobs. ``check`` returns None when satisfied, else a message.

    ``knob_names`` (may be empty = unknown) tells the repair which knobs to shrink.
    """

    name: str
    description: str
    knob_names: tuple[str, ...]

    def check(self, flat: Mapping[str, Any]) -> str | None: ...


class MaxProduct:
    """The product of some knobs must not exceed ``limit``.

    Typical uses: the block sizes of one load <= 2**20 (Triton's max numel), or a register
    budget estimate (elements per block x bytes / threads).
    """

    def __init__(self, knob_names: Sequence[str], limit: int, why: str, name: str = "") -> None:
        if not knob_names:
            raise ValueError("MaxProduct needs at least one knob")
        self.knob_names = tuple(knob_names)
        self.limit = limit
        self.name = name or f"max_product({', '.join(self.knob_names)})"
        self.description = f"{' * '.join(self.knob_names)} <= {limit:,} ({why})"

    def check(self, flat: Mapping[str, Any]) -> str | None:
        values = [flat[n] for n in self.knob_names]
        if any(v is None for v in values):  # e.g. reduction_loops None = whole dimension
            return None
        product = math.prod(values)
        if product <= self.limit:
            return None
        terms = " * ".join(f"{n}={v}" for n, v in zip(self.knob_names, values))
        return f"{terms} = {product:,} exceeds {self.description}"

    def __repr__(self) -> str:
        return f"{self.name}: {self.description}"


class Predicate:
    """Any rule as a function of the flat knob dict: ``fn(flat) -> bool`` (True = valid)."""

    def __init__(
        self,
        name: str,
        fn: Callable[[Mapping[str, Any]], bool],
        message: str,
        knob_names: Sequence[str] = (),
    ) -> None:
        self.name = name
        self.fn = fn
        self.description = message
        self.knob_names = tuple(knob_names)

    def check(self, flat: Mapping[str, Any]) -> str | None:
        if self.fn(flat):
            return None
        if self.knob_names:
            values = ", ".join(f"{n}={flat[n]!r}" for n in self.knob_names)
            return f"{self.description} (got {values})"
        return self.description

    def __repr__(self) -> str:
        return f"{self.name}: {self.description}"


# --------------------------------------------------------------------------------------
# The space
# --------------------------------------------------------------------------------------


class ConfigSpace:
    """Knobs + constraints + fixed (untuned) fields; every config it hands out is valid.

    Deterministic: all randomness comes from the ``random.Random`` passed in.
    """

    def __init__(
        self,
        knobs: Sequence[Knob],
        constraints: Sequence[Constraint] = (),
        fixed: Mapping[str, Any] | None = None,
        starts: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        """``starts``: known-good points, each a partial ``{knob name: value}`` laid over the
        default (e.g. the tensor-core tile shapes of runtime/tuning.py); see ``starts()``.

        The default and the starts are made at their first use and kept: repairing the
        knobs' defaults checks the constraints again after each halving, work a space only
        asked to check configs (a config table's exact entry) never needs. So a space whose
        defaults no halving repairs raises ConfigError from whatever first needs the default
        (``default``, ``starts``, ``complete``, ``repair``'s last resort), not from here."""
        self.knobs: tuple[Knob, ...] = tuple(knobs)
        self.constraints: tuple[Constraint, ...] = tuple(constraints)
        self._by_name: dict[str, Knob] = {}
        for knob in self.knobs:
            if knob.name in self._by_name:
                raise ValueError(f"duplicate knob {knob.name!r}")
            self._by_name[knob.name] = knob
        self._fields = self._layout()
        self.fixed: dict[str, Any] = dict(fixed or {})
        clash = sorted(set(self.fixed) & set(self._fields))
        if clash:
            raise ValueError(f"fields {clash} are both fixed and tuned")
        Config(self.fixed)  # rejects unknown field names early
        for c in self.constraints:
            missing = [n for n in c.knob_names if n not in self._by_name]
            if missing:
                raise ValueError(f"constraint {c.name!r} names unknown knob(s) {missing}")
        self._size: int | None = None
        self._partials: tuple[dict[str, Any], ...] = tuple(dict(p) for p in starts)
        self._default: Config | None = None
        self._starts: tuple[Config, ...] | None = None

    def _layout(self) -> dict[str, int | None]:
        """Field -> list length (None for a scalar field); checks indices are 0..n-1."""
        indices: dict[str, list[int | None]] = {}
        for knob in self.knobs:
            field, idx = _split(knob.name)
            indices.setdefault(field, []).append(idx)
        layout: dict[str, int | None] = {}
        for field, idx in indices.items():
            if idx == [None]:
                layout[field] = None
            elif None in idx or sorted(idx) != list(range(len(idx))):  # type: ignore[type-var]
                raise ValueError(
                    f"knobs of list field {field!r} must be {field}[0]..{field}[n-1], "
                    f"got indices {idx}"
                )
            else:
                layout[field] = len(idx)
        return layout

    def _make_default(self) -> Config:
        flat = {k.name: k.default for k in self.knobs}
        repaired = self._shrink(flat)
        if repaired is None:
            raise ConfigError(
                "the knobs' defaults violate a constraint that halving block sizes cannot fix: "
                + "; ".join(self.violations(flat))
            )
        return self.to_config(repaired)

    def _make_starts(self, partials: Sequence[Mapping[str, Any]]) -> tuple[Config, ...]:
        """The valid ones among ``partials`` over the default, as given: a start that breaks a
        constraint is dropped, not shrunk (a shrunk tile is not the point that was known to be
        good). Names of knobs this space lacks are ignored."""
        default = self.default()
        base = self.to_flat(default)
        out: list[Config] = []
        for partial in partials:
            flat = dict(base)
            for name, value in partial.items():
                knob = self._by_name.get(name)
                if knob is not None and knob.contains(value):
                    flat[name] = value
            if self._first_violation(flat) is not None:
                continue
            config = self.to_config(flat)
            if config != default and config not in out:
                out.append(config)
        return tuple(out)

    # -- views -------------------------------------------------------------------------
    def knob(self, name: str) -> Knob:
        return self._by_name[name]

    @property
    def names(self) -> list[str]:
        return [k.name for k in self.knobs]

    def to_config(self, flat: Mapping[str, Any]) -> Config:
        """Flat ``{'block_sizes[0]': 64, ...}`` -> ``Config(block_sizes=[64], ...)``."""
        data: dict[str, Any] = dict(self.fixed)
        for field, length in self._fields.items():
            if length is None:
                data[field] = flat[field]
            else:
                data[field] = [flat[f"{field}[{i}]"] for i in range(length)]
        return Config(data)

    def to_flat(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """``Config`` -> flat dict in knob order; raises ConfigError on a shape mismatch."""
        extra = sorted(set(config) - set(self._fields) - set(self.fixed))
        if extra:
            raise ConfigError(f"config field(s) {extra} are not knobs of this space")
        flat: dict[str, Any] = {}
        for field, length in self._fields.items():
            if field not in config:
                raise ConfigError(f"config has no value for {field!r}")
            value = config[field]
            if length is None:
                flat[field] = value
                continue
            if not isinstance(value, (list, tuple)) or len(value) != length:
                raise ConfigError(
                    f"{field!r} must be a list of {length} value(s) "
                    f"({field}[0]..{field}[{length - 1}]), got {value!r}"
                )
            for i, v in enumerate(value):
                flat[f"{field}[{i}]"] = v
        return {k.name: flat[k.name] for k in self.knobs}

    def complete(self, partial: Mapping[str, Any]) -> Config:
        """Fill the knobs a user left out with the default's values (not validated)."""
        flat = self.to_flat(self.default())
        for field, value in partial.items():
            if field in self.fixed:
                continue
            length = self._fields.get(field, 0)
            if length is None:
                flat[field] = value
            elif isinstance(value, (list, tuple)) and length:
                for i, v in enumerate(value[:length]):
                    flat[f"{field}[{i}]"] = v
        return self.to_config(flat)

    # -- validity ----------------------------------------------------------------------
    def violations(self, flat: Mapping[str, Any]) -> list[str]:
        return [f"{c.name}: {msg}" for c in self.constraints if (msg := c.check(flat))]

    def _first_violation(self, flat: Mapping[str, Any]) -> Constraint | None:
        for c in self.constraints:
            if c.check(flat) is not None:
                return c
        return None

    def validate(self, config: Mapping[str, Any]) -> None:
        """Raise ConfigError naming the first bad knob (with its domain) or constraint."""
        for field, value in self.fixed.items():
            if field not in config or config[field] != value:
                got = config.get(field, "<missing>")
                raise ConfigError(f"{field!r} is fixed to {value!r} in this space, got {got!r}")
        flat = self.to_flat(config)
        for knob in self.knobs:
            if not knob.contains(flat[knob.name]):
                raise ConfigError(
                    f"knob {knob.name!r} = {flat[knob.name]!r} is not in its domain: "
                    f"{knob.domain()}"
                )
        for c in self.constraints:
            msg = c.check(flat)
            if msg is not None:
                raise ConfigError(f"constraint {c.name!r} violated: {msg}")

    def is_valid(self, config: Mapping[str, Any]) -> bool:
        try:
            self.validate(config)
        except ConfigError:
            return False
        return True

    # -- repair ------------------------------------------------------------------------
    def _shrink(self, flat: Mapping[str, Any]) -> dict[str, Any] | None:
        """Halve the largest power-of-two knob of a violated constraint until none is.

        Shrinking is the right fix for the constraints that matter (numel, registers, shared
        memory all grow with block sizes). Returns None when that cannot fix it.
        """
        flat = dict(flat)
        steps = sum(len(k.values) for k in self.knobs) + 1
        for _ in range(steps):
            bad = self._first_violation(flat)
            if bad is None:
                return flat
            names = bad.knob_names or tuple(self._by_name)
            shrinkable = [
                n
                for n in names
                if isinstance(self._by_name[n], PowerOfTwoKnob)
                and isinstance(flat[n], int)
                and flat[n] > self._by_name[n].low  # type: ignore[attr-defined]
            ]
            if not shrinkable:
                return None
            largest = max(shrinkable, key=lambda n: flat[n])  # first one wins ties
            flat[largest] //= 2
        return None

    def repair(self, flat: Mapping[str, Any]) -> Config:
        """Nearest valid config we can find cheaply; always valid.

        Order: shrink block sizes; else reset knobs to their defaults one by one (in knob
        order), shrinking after each; else the default config.
        """
        flat = {k.name: flat[k.name] for k in self.knobs}
        for knob in self.knobs:  # out-of-domain values snap to the default
            if not knob.contains(flat[knob.name]):
                flat[knob.name] = knob.default
        fixed = self._shrink(flat)
        if fixed is not None:
            return self.to_config(fixed)
        for knob in self.knobs:
            flat[knob.name] = knob.default
            fixed = self._shrink(flat)
            if fixed is not None:
                return self.to_config(fixed)
        return self.default()

    # -- configs for strategies --------------------------------------------------------
    def default(self) -> Config:
        """The knobs' defaults, repaired if they violate a constraint; always valid.
        ConfigError when no halving of block sizes repairs them."""
        if self._default is None:
            self._default = self._make_default()
        return self._default

    def starts(self) -> tuple[Config, ...]:
        """Valid known-good configs other than the default, measured right after it by every
        strategy (strategies/base.py): a search from the default alone rarely walks to a
        tensor-core tile of 128x256 in a quick budget."""
        if self._starts is None:
            self._starts = self._make_starts(self._partials)
        return self._starts

    def sample(self, rng: random.Random, attempts: int = 20) -> Config:
        """A random valid config: uniform per knob, then shrunk into the constraints."""
        flat: dict[str, Any] = {}
        for _ in range(attempts):
            flat = {k.name: k.sample(rng) for k in self.knobs}
            fixed = self._shrink(flat)
            if fixed is not None:
                return self.to_config(fixed)
        return self.repair(flat)

    def neighbors(self, config: Mapping[str, Any]) -> list[Config]:
        """Valid configs one knob-step away (x2 or /2, adjacent choice, flip), knob order."""
        flat = self.to_flat(config)
        out: list[Config] = []
        for knob in self.knobs:
            if not knob.contains(flat[knob.name]):
                continue
            for value in knob.neighbors(flat[knob.name]):
                moved = dict(flat)
                moved[knob.name] = value
                if self._first_violation(moved) is None:
                    out.append(self.to_config(moved))
        return out

    def encode(self, config: Mapping[str, Any]) -> list[float]:
        """One float in [0, 1] per knob: the normalised index into the knob's domain."""
        flat = self.to_flat(config)
        return [k.encode(flat[k.name]) for k in self.knobs]

    def decode(self, vector: Sequence[float]) -> Config:
        """Inverse of ``encode`` for any real vector (clipped, rounded, then repaired)."""
        if len(vector) != len(self.knobs):
            raise ValueError(f"expected {len(self.knobs)} coordinates, got {len(vector)}")
        return self.repair({k.name: k.decode(x) for k, x in zip(self.knobs, vector)})

    # -- size --------------------------------------------------------------------------
    def raw_size(self) -> int:
        return math.prod(len(k.values) for k in self.knobs)

    def iter_valid(self) -> Iterator[Config]:
        """Every valid config, in knob order (only sensible for small spaces)."""
        names = self.names
        for values in itertools.product(*(k.values for k in self.knobs)):
            flat = dict(zip(names, values))
            if self._first_violation(flat) is None:
                yield self.to_config(flat)

    def size(self) -> int:
        """Number of valid configs.

        Exact when the raw product of the domains is <= EXACT_SIZE_LIMIT (1e6) by enumeration;
        above that, an estimate: raw product x the valid fraction among SIZE_ESTIMATE_SAMPLES
        uniform raw draws (fixed seed, so the same space always gives the same number).
        """
        if self._size is None:
            raw = self.raw_size()
            if raw <= EXACT_SIZE_LIMIT:
                self._size = sum(1 for _ in self.iter_valid())
            else:
                rng = random.Random(0)
                ok = 0
                for _ in range(SIZE_ESTIMATE_SAMPLES):
                    flat = {k.name: k.sample(rng) for k in self.knobs}
                    ok += self._first_violation(flat) is None
                self._size = max(1, round(raw * ok / SIZE_ESTIMATE_SAMPLES))
        return self._size

    def __repr__(self) -> str:
        lines = ["ConfigSpace("]
        lines += [f"  {k!r}" for k in self.knobs]
        if self.fixed:
            lines.append(f"  fixed: {self.fixed!r}")
        if self.constraints:
            lines.append("  constraints:")
            lines += [f"    {c.name}: {c.description}" for c in self.constraints]
        lines.append(")")
        return "\n".join(lines)


def _split(name: str) -> tuple[str, int | None]:
    match = _KNOB_NAME.match(name)
    assert match is not None  # checked in Knob.__init__
    idx = match.group(2)
    return match.group(1), (int(idx) if idx is not None else None)
