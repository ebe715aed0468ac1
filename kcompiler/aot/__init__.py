"""Deployable kernels: tune once over a set of shapes, ship a readable config table, and load
it in production, where no call ever tunes.

    python -m kcompiler.aot tune pkg.mod:kernel --shapes shapes.json --out table.json
    python -m kcompiler.aot compile table.json          # precompile every entry

    @kc.kernel(configs_table="table.json")              # or kc.aot_kernel(table=...)
    def kernel(...): ...

``kcompiler/runtime/config_table.py``: the key (a call's specialization), the lookup rule and
the table's file; ``kcompiler/runtime/table_configs.py``: how a call's config is chosen (both
run at call time, so they belong to the runtime); ``specs.py``: the shapes file's format;
``tune.py``: tuning and precompiling a table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kcompiler.runtime.config_table import Entry, Key, Table, TableError
from kcompiler.runtime.kernel import kernel
from kcompiler.runtime.table_configs import STRICT_ENV, AotTableWarning, TableConfigs, fit


def aot_kernel(
    fn: Callable[..., Any] | None = None,
    *,
    table: Any = None,
    batched: Any = None,
    collect_fn: Callable[[], Any] | None = None,
    measure_fn: Callable[[], Any] | None = None,
    key: Callable[..., Any] | None = None,
    **options: Any,
) -> Any:
    """A kernel meant to ship with a config table (Helion's decorator, same options).

    ``@kc.aot_kernel(table="table.json")`` is ``@kc.kernel(configs_table="table.json")``.
    Without a table it is a plain ``kc.kernel``: each call takes its explicit config, else the
    default; no call ever tunes (attach a table later with ``Kernel.use_table``).

    - ``batched``: one entry per parameter; for a tensor, a list with an int for each batch
      dim and None for the others (``[[0, None], None]``: the first dim of the first
      argument). The table's nearest-entry rule does not count batch dims, so a call at an
      unseen batch size takes the entry of its other sizes.
    - ``key(*args, **kwargs)``: what the table's choice depends on (hashable): calls with equal
      keys share one lookup.
    - ``collect_fn()`` / ``measure_fn()``: lists of argument tuples; ``python -m kcompiler.aot
      tune module:kernel --out table.json`` without ``--shapes`` tunes at every call of both
      (each call's search starts from its neighbours' winners, kcompiler/aot/tune.py).
    """

    for name, value in (("batched", batched), ("collect_fn", collect_fn),
                        ("measure_fn", measure_fn), ("key", key)):  # fmt: skip
        if value is not None:
            options[name] = value
    if table is not None:
        options["configs_table"] = table
    return kernel(fn, **options)


def calls_of(kernel_obj: Any) -> list[Any]:
    """The calls ``aot_kernel(collect_fn=..., measure_fn=...)`` gives for tuning (both lists,
    collect first); empty when the kernel has neither."""
    calls: list[Any] = []
    for name in ("collect_fn", "measure_fn"):
        fn = kernel_obj.settings.get(name)
        if fn is not None:
            calls.extend(list(c) if isinstance(c, tuple) else c for c in fn())
    return calls


__all__ = [
    "STRICT_ENV",
    "AotTableWarning",
    "Entry",
    "Key",
    "Table",
    "TableConfigs",
    "TableError",
    "aot_kernel",
    "calls_of",
    "fit",
]
