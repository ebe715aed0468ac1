"""`kc.Config`: a plain record of tuning knobs, with Helion's field names.

A config is data: it is hashed into cache keys, pickled to worker processes, and printed in
logs, so it holds only JSON-compatible values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from kcompiler.exc import UnknownOption

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
)


class Config(Mapping[str, Any]):
    """An immutable mapping of knob name -> value, e.g. ``Config(block_sizes=[64], num_warps=4)``."""

    __slots__ = ("_data", "_hash")

    def __init__(self, mapping: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        data: dict[str, Any] = dict(mapping or {})
        data.update(kwargs)
        unknown = [k for k in data if k not in KNOWN_FIELDS]
        if unknown:
            raise UnknownOption("Config field", unknown[0], KNOWN_FIELDS)
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
        if name in KNOWN_FIELDS:
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
        return (Config, (self._data,))
