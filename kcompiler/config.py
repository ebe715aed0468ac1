"""`kc.Config`: a plain record of tuning knobs, with Helion's field names.

A config is data: it is hashed into cache keys, pickled to worker processes, and printed in
logs, so it holds only JSON-compatible values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from kcompiler.exc import InvalidConfig, UnknownOption

# Fields a config may carry, in Helion's vocabulary. Unknown fields are rejected (UnknownOption,
# a TypeError, with a did-you-mean) so that a typo ("num_warp") is an error instead of a
# silently ignored knob; kcompiler/compiler/checks.py validates the values.
KNOWN_FIELDS: tuple[str, ...] = (
    "block_sizes",
    "reduction_loops",
    "loop_orders",
    "flatten_loops",
    "l2_groupings",
    "range_unroll_factors",
    "range_num_stages",
    "range_multi_buffers",
    "range_flattens",
    "range_warp_specializes",
    "static_ranges",
    "num_warps",
    "num_stages",
    "pid_type",
    "indexing",
    "num_sm_multiplier",
    "load_eviction_policies",
    "maxnreg",
    # A ptxas "advanced controls" file (Helion's name): the CUDA backend passes it to ptxas
    # as ``--apply-controls <file>``; "" means none. Under Triton's interpreter nothing runs
    # ptxas, so a non-empty file is reported once (compiler/driver.py), never silently dropped.
    "advanced_controls_file",
    # Threads per block dim of Helion's CuTe backend. Accepted so that a Helion module that
    # defines a CuTe config still imports; compiling with it raises InvalidConfig ("not
    # supported: num_threads"), since the Triton backend sets threads through num_warps.
    "num_threads",
)

# Helion's singular spellings of per-loop list fields, for a kernel with one such loop:
# ``Config(block_size=32)`` is ``Config(block_sizes=[32])``, and the list given for a
# multi-dimensional loop is that loop's entries, ``block_size=[32, 16]`` being
# ``block_sizes=[32, 16]`` (``loop_order=[1, 0]``, itself a list, is ``loop_orders=[[1, 0]]``).
# ``reduction_loop`` is not among them: Helion repeats it over every reduction dimension,
# which a config alone cannot know.
SINGULAR_FIELDS: dict[str, str] = {
    name[:-1]: name
    for name in (
        "block_sizes",
        "loop_orders",
        "flatten_loops",
        "l2_groupings",
        "range_unroll_factors",
        "range_num_stages",
        "range_multi_buffers",
        "range_flattens",
        "range_warp_specializes",
        "static_ranges",
    )
}

# Names declared by ``kl.register_tunable`` in any kernel of this process: a Config may carry
# them beside KNOWN_FIELDS (``Config(split_k=8)``), as in Helion. A name becomes known when a
# kernel that registers it is defined (its source is scanned) or its host code runs, so a
# typo of a field is still refused when the Config is made.
_USER_TUNABLES: dict[str, None] = {}


def declare_tunable(name: str) -> None:
    """Make ``name`` a valid Config field (``kl.register_tunable``'s name)."""
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
        raise ValueError(
            f"tunable name {name!r}: must be a Python identifier not starting with '_'"
        )
    if name in KNOWN_FIELDS or f"{name}s" in KNOWN_FIELDS:
        raise ValueError(f"tunable name {name!r} collides with the Config field of that name")
    _USER_TUNABLES[name] = None


def user_tunables() -> tuple[str, ...]:
    """The names declared by ``kl.register_tunable`` so far, in declaration order."""
    return tuple(_USER_TUNABLES)


def is_field(name: str) -> bool:
    """Whether a Config may carry ``name``: a known field or a declared tunable."""
    return name in KNOWN_FIELDS or name in _USER_TUNABLES


class Config(Mapping[str, Any]):
    """An immutable mapping of knob name -> value, e.g. ``Config(block_sizes=[64], num_warps=4)``."""

    __slots__ = ("_data", "_hash")

    def __init__(self, mapping: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        data: dict[str, Any] = dict(mapping or {})
        data.update(kwargs)
        for singular, plural in SINGULAR_FIELDS.items():
            if singular in data:
                if plural in data:
                    raise InvalidConfig(f"Config: both {singular} and {plural} given")
                value = data.pop(singular)
                listed = isinstance(value, (list, tuple)) and plural != "loop_orders"
                data[plural] = list(value) if listed else [value]
        unknown = [k for k in data if not is_field(k)]
        if unknown:
            raise UnknownOption("Config field", unknown[0], KNOWN_FIELDS + user_tunables())
        # Normalise sequences to lists so that Config(block_sizes=(1,)) == Config(block_sizes=[1]).
        self._data = {
            k: list(v) if isinstance(v, (list, tuple)) else v for k, v in sorted(data.items())
        }
        self._hash: int | None = None

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if is_field(name):
            return self._data.get(name)
        raise AttributeError(name)

    def to_json(self) -> str:
        return json.dumps(self._data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Config:
        return cls(json.loads(text))

    def replace(self, **changes: Any) -> Config:
        data = dict(self._data)
        data.update(changes)
        return Config(data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Config):
            return self._data == other._data
        return NotImplemented

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(self.to_json())
        return self._hash

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._data.items())
        return f"Config({inner})"

    def __reduce__(self):
        return (restore, (self._data,))


def restore(data: Mapping[str, Any]) -> Config:
    """A pickled Config in another process (a compile worker): the tunable names it carries
    were declared where it was made, so they are declared here too."""
    for name in data:
        if name not in KNOWN_FIELDS:
            declare_tunable(name)
    return Config(data)
