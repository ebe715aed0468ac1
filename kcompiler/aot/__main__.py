"""``python -m kcompiler.aot tune|compile|show``: see kcompiler/aot/__init__.py."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from typing import Any

from kcompiler.aot import calls_of
from kcompiler.aot.specs import load_calls, resolve
from kcompiler.aot.tune import compile_table, tune_table
from kcompiler.autotune import NullCache
from kcompiler.runtime.config_table import Table, TableError
from kcompiler.runtime.kernel import Kernel


def _kernel(target: str) -> Any:

    obj = resolve(target)
    if not isinstance(obj, Kernel):
        raise SystemExit(
            f"{target} is a {type(obj).__name__}, not a kc.kernel (name the kc.kernel a "
            "wrapper calls, e.g. kcompiler.kernels.rms_norm:rms_norm_fwd)"
        )
    return obj


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kcompiler.aot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    tune = sub.add_parser("tune", help="tune a kernel over a list of calls into a table")
    tune.add_argument("kernel", help="module:name of a kc.kernel")
    tune.add_argument(
        "--shapes",
        default=None,
        help="a JSON file of calls, or module:NAME (kcompiler/aot/specs.py); default: the "
        "calls of the kernel's kc.aot_kernel(collect_fn=..., measure_fn=...)",
    )
    tune.add_argument("--out", required=True, help="the table to write (JSON)")
    tune.add_argument("--effort", default="quick", choices=["none", "quick", "full"])
    tune.add_argument("--strategy", default=None, help="pattern | random | de | optuna")
    tune.add_argument("--max-configs", type=int, default=None, help="per call, overrides effort")
    tune.add_argument("--budget-s", type=float, default=None, help="per call, overrides effort")
    tune.add_argument("--no-cache", action="store_true", help="measure afresh, record nothing")
    comp = sub.add_parser("compile", help="precompile every entry of a table")
    comp.add_argument("table")
    comp.add_argument("kernel", nargs="?", help="module:name (default: the table's kernel)")
    comp.add_argument(
        "--workers", type=int, default=None, help="compile processes (default: 8 on a GPU)"
    )
    show = sub.add_parser("show", help="print a table's entries, one a line")
    show.add_argument("table")
    opts = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    if opts.command == "tune":
        kernel = _kernel(opts.kernel)
        calls = load_calls(opts.shapes) if opts.shapes else calls_of(kernel)
        if not calls:
            raise SystemExit(
                f"{opts.kernel}: no calls to tune; pass --shapes, or give the kernel "
                "kc.aot_kernel(collect_fn=...)"
            )
        t0 = time.monotonic()
        table = tune_table(
            kernel,
            calls,
            effort=opts.effort,
            strategy=opts.strategy,
            max_configs=opts.max_configs,
            budget_s=opts.budget_s,
            cache=NullCache() if opts.no_cache else None,
        )
        table.save(opts.out)
        print(
            f"{opts.out}: {len(table.entries)} entries for {table.kernel} on {table.card} "
            f"in {time.monotonic() - t0:.1f} s"
        )
        return 0
    try:
        table = Table.load(opts.table)
    except TableError as e:
        print(e, file=sys.stderr)
        return 1
    if opts.command == "show":
        for e in table.entries:
            print(f"{e.key.ident}  {e.time_ms}  {dict(e.config)}")
        return 0

    kernel = _kernel(opts.kernel or table.kernel)
    t0 = time.monotonic()
    try:
        lines = compile_table(kernel, table, workers=opts.workers)
    except TableError as e:
        print(e, file=sys.stderr)
        return 1
    for line in lines:
        print(line)
    print(f"{opts.table}: {len(lines)} entries compiled in {time.monotonic() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
