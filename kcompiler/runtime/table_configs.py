"""A kernel's calls served from a config table (``@kc.kernel(configs_table=...)``).

Per call: the arguments' dtypes, shapes, strides, devices and non-float values form a memo
key; a new one computes the call's specialization key (config_table.py), takes the entry the lookup
rule gives, checks it against the config space built for this call, and remembers the config.
So a repeated shape costs one dict lookup, and nothing ever tunes.

- An exact entry whose config is not valid in this call's space raises TableError naming the
  entry: the table was made for another version of the kernel (re-tune it).
- A nearest entry tuned at other sizes is fitted to this call's space: knobs this space lacks
  are dropped, missing ones take the space's defaults, and constraint violations are repaired
  by halving block sizes (``ConfigSpace.repair``), as a config drawn at those sizes would be.
- A table from another card, Triton or kcompiler version is used with one warning at the
  first call; with ``KCOMPILER_AOT_STRICT=1`` it is ignored instead (the kernel's default
  config then applies), also with a warning.
- The values device code bakes in besides the arguments (module globals, closure cells: the
  key's ``globals``) are part of the memo key too, so rebinding a global between calls looks
  the table up again; a call whose globals no entry was tuned with gets no config from the
  table (its code differs from every entry's), with one warning per such set of values.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from kcompiler import settings
from kcompiler.autotune import ConfigError
from kcompiler.config import Config
from kcompiler.exc import InvalidArgument
from kcompiler.frontend.global_reads import Read
from kcompiler.frontend.specialize import value_key
from kcompiler.runtime.config_table import Key, Table, TableError, baked_reads
from kcompiler.runtime.tuning import build_space

STRICT_ENV = "KCOMPILER_AOT_STRICT"


class AotTableWarning(UserWarning):
    """A config table tuned on another card or library version (or ignored because of it)."""


def fit(space: Any, config: Mapping[str, Any]) -> Config:
    """``config``'s values laid over ``space``'s default where the space has that knob and
    value, then repaired into the constraints (always a valid config of ``space``)."""
    flat = space.to_flat(space.default())
    for name, value in config.items():
        items = enumerate(value) if isinstance(value, list) else [(None, value)]
        for i, v in items:
            knob = name if i is None else f"{name}[{i}]"
            if knob in flat and space.knob(knob).contains(v):
                flat[knob] = v
    return space.repair(flat)


def adapt(space: Any, config: Config) -> Config:
    """The config a nearest entry's ``config`` runs as in ``space`` (this call's): itself
    where it is valid there, else ``fit`` to it. An exact entry's config is valid by check."""
    return config if space.is_valid(config) else fit(space, config)


_Tensor = torch.Tensor


def batched_dims(kernel_name: str, signature: Any, batched: Any) -> dict[str, frozenset[int]]:
    """``{parameter: its batched dims}`` of Helion's ``batched`` spec (one entry per parameter:
    a list per tensor whose int entries mark batched dims, None elsewhere); InvalidArgument
    when the spec does not fit the signature."""
    params = list(signature.parameters)
    if not isinstance(batched, (list, tuple)) or len(batched) != len(params):
        raise InvalidArgument(
            f"{kernel_name}: batched must be a list with one entry per parameter "
            f"({', '.join(params)}), got {batched!r}"
        )
    out: dict[str, frozenset[int]] = {}
    for name, entry in zip(params, batched):
        if entry is None:
            continue
        if not isinstance(entry, (list, tuple)) or any(
            d is not None and (not isinstance(d, int) or isinstance(d, bool)) for d in entry
        ):
            raise InvalidArgument(
                f"{kernel_name}: batched entry of {name!r} must be None or a list of None/int "
                f"(one per dim), got {entry!r}"
            )
        out[name] = frozenset(i for i, d in enumerate(entry) if d is not None)
    return out


def _memo_key(value: Any) -> Any:
    """What of an argument the table's choice depends on (the device is not: a table is for
    one card), in a form that is cheap to build and to hash."""
    if isinstance(value, _Tensor):
        return (value.dtype, value.shape, value.stride())
    if isinstance(value, float):
        return float
    if isinstance(value, (list, tuple)):
        return (type(value), *map(_memo_key, value))
    try:
        hash(value)
    except TypeError:
        return (type(value), id(value))
    return (type(value), value)


class TableConfigs:
    """The table attached to one kernel, and the configs it chose per call shape."""

    def __init__(self, kernel: Any, table: Table) -> None:
        params = tuple(kernel.signature.parameters)
        for entry in table.entries:
            names = tuple(n for n, _ in entry.key.args)
            if names != params:
                raise TableError(
                    f"{table.source or 'config table'}: entry {entry.key.ident} is for "
                    f"parameters {names}; {kernel.fn.__name__} has {params}"
                )
        self.table = table
        spec = kernel.settings.get("batched")
        self.batched = (
            batched_dims(kernel.fn.__name__, kernel.signature, spec) if spec is not None else {}
        )
        self.user_key = kernel.settings.get("key")
        self.ignored = False
        self._checked = False
        self._memo: dict[Any, Config | None] = {}
        # The reads of baked-in values the memo keys on, as of the last lookup (a rebound
        # helper is itself one of them, so a call that sees it looks up, and reads, afresh).
        self._reads: tuple[Read, ...] = baked_reads(kernel)
        self._warned: set[tuple[tuple[str, str], ...]] = set()

    @classmethod
    def attach(cls, kernel: Any, table: Table | str | Path) -> TableConfigs:
        return cls(kernel, table if isinstance(table, Table) else Table.load(table))

    def _check_header(self) -> None:
        self._checked = True
        differ = self.table.mismatches()
        if not differ:
            return
        where = self.table.source or "config table"
        if settings.current().aot_strict:
            self.ignored = True
            warnings.warn(
                f"{where}: tuned for {', '.join(differ)}; ignored ({STRICT_ENV}=1)",
                AotTableWarning,
                stacklevel=4,
            )
        else:
            warnings.warn(
                f"{where}: tuned for {', '.join(differ)}; its configs are used anyway "
                f"(set {STRICT_ENV}=1 to ignore such tables)",
                AotTableWarning,
                stacklevel=4,
            )

    def config_for(self, kernel: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        """The table's config for this call, or None (no entry of its class, or ignored)."""
        if self.user_key is not None:  # the choice depends on the user's key only
            memo: Any = ("key", self.user_key(*args, **kwargs))
        else:  # inlined _memo_key for tensors: this runs on every call of a kernel with a table
            memo = tuple(
                [
                    (a.dtype, a.shape, a.stride()) if isinstance(a, _Tensor) else _memo_key(a)
                    for a in args
                ]
            )
            if kwargs:
                memo += tuple((k, _memo_key(v)) for k, v in sorted(kwargs.items()))
        if self._reads:
            memo = (memo, tuple([value_key(r.value()) for r in self._reads]))
        try:
            return self._memo[memo]
        except KeyError:
            pass
        except TypeError:  # an unhashable argument: no memo
            return self.choose(kernel, args, kwargs)
        config = self._memo[memo] = self.choose(kernel, args, kwargs)
        if len(self._memo) > 4096:
            self._memo.clear()
        return config

    def choose(self, kernel: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        """``config_for`` without the memo: lookup, check, fit."""
        if not self._checked:
            self._check_header()
        if self.ignored:
            return None
        self._reads = baked_reads(kernel)
        key = Key.of_call(kernel, args, kwargs)
        found = self.table.lookup(key, key.positions(self.batched))
        if found is None:
            others = self.table.other_globals(key)
            if others and key.globals not in self._warned:
                self._warned.add(key.globals)
                now = "; ".join(f"{n} = {d}" for n, d in key.globals) or "none"
                theirs = "; ".join(f"{n} = {d}" for n, d in others[0].key.globals) or "none"
                warnings.warn(
                    f"{self.table.source or 'config table'}: {kernel.fn.__name__} bakes in "
                    f"{now}, but the table's entries of this call's class were tuned with "
                    f"other values ({theirs}); none is used (the kernel's default config "
                    "applies): re-tune the table for these values",
                    AotTableWarning,
                    stacklevel=4,
                )
            return None
        entry, exact = found

        space = build_space(kernel, kernel.traced_modules(args, dict(kwargs), Config()))
        if exact:
            try:
                space.validate(entry.config)
            except ConfigError as e:
                raise TableError(
                    f"{self.table.source or 'config table'}: entry {entry.key.ident} has a "
                    f"config invalid for {kernel.fn.__name__}'s config space ({e}); the "
                    f"kernel changed since the table was tuned: re-tune it"
                ) from None
            return entry.config
        return adapt(space, entry.config)
