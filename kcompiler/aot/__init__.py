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


def aot_kernel(fn: Callable[..., Any] | None = None, *, table: Any, **options: Any) -> Any:
    """Helion's name: ``@kc.aot_kernel(table="table.json")`` is
    ``@kc.kernel(configs_table="table.json")``."""

    return kernel(fn, configs_table=table, **options)


__all__ = [
    "STRICT_ENV",
    "AotTableWarning",
    "Entry",
    "Key",
    "Table",
    "TableConfigs",
    "TableError",
    "aot_kernel",
    "fit",
]
