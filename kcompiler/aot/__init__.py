"""Deployable kernels: tune once over a set of shapes, ship a readable config table, and load
it in production, where no call ever tunes.

    python -m kcompiler.aot tune pkg.mod:kernel --shapes shapes.json --out table.json
    python -m kcompiler.aot compile table.json          # precompile every entry

    @kc.kernel(configs_table="table.json")              # or kc.aot_kernel(table=...)
    def kernel(...): ...

``table.py``: the key (a call's specialization) and the lookup rule; ``specs.py``: the
shapes file's format; ``runtime.py``: how a call's config is chosen; ``tune.py``: tuning and
precompiling a table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kcompiler.aot.runtime import STRICT_ENV, AotTableWarning, TableConfigs, fit
from kcompiler.aot.table import Entry, Key, Table, TableError


def aot_kernel(fn: Callable[..., Any] | None = None, *, table: Any, **options: Any) -> Any:
    """Helion's name: ``@kc.aot_kernel(table="table.json")`` is
    ``@kc.kernel(configs_table="table.json")``."""
    from kcompiler.runtime.kernel import kernel

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
