"""The configs that won recorded GPU tuning runs (benchmarks/results/**/*.json), and whether
today's config space still holds them.

A static constraint (register budget, dot registers, shared memory) that removes a config
which once won on an H100/H200 would make tuning worse there; tests/benchmarks/
test_recorded_winners.py runs ``check`` on every recorded winner.

    python -m benchmarks.recorded_winners        # prints each winner and what rejects it
"""

from __future__ import annotations

import ast
import json
import os
import pathlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("TRITON_INTERPRET", "1")  # tracing only

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
# The constraints whose calibration must keep every winner (the others describe what the
# installed Triton or the IR can do, which a GPU image of another Triton may differ in).
CHECKED = (
    "register_budget",
    "dot_registers",
    "shared_memory",
    "outer_loop_unroll",
    "gather_loop_unroll",
    "gather_registers",
)
DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}


@dataclass(frozen=True)
class Winner:
    kernel: str
    params: tuple[tuple[str, int], ...]
    dtype: str
    config: dict[str, Any]
    source: str  # the results file, relative to benchmarks/results


def _config(text: str) -> dict[str, Any] | None:
    """``Config(block_sizes=[1], num_warps=4, ...)`` as recorded -> its fields."""
    try:
        call = ast.parse(text, mode="eval").body
    except SyntaxError:
        return None
    if not isinstance(call, ast.Call) or getattr(call.func, "id", None) != "Config":
        return None
    return {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords if kw.arg}


def winners(results: pathlib.Path = RESULTS) -> list[Winner]:
    """Every distinct (kernel, shape, dtype, config) a kcompiler tuning run picked."""
    out: dict[tuple[Any, ...], Winner] = {}
    for path in sorted(results.rglob("*.json")):
        data = json.loads(path.read_text())
        rows = data.get("rows") if isinstance(data, dict) else None
        for row in rows or []:
            tune = row.get("tune") if row.get("impl") == "kcompiler" else None
            text = tune.get("config") if isinstance(tune, dict) else None
            config = _config(text) if isinstance(text, str) else None
            if config is None or "kernel" not in row:
                continue
            params = tuple(sorted((row.get("params") or {}).items()))
            key = (row["kernel"], params, row.get("dtype"), text)
            out.setdefault(
                key,
                Winner(
                    row["kernel"],
                    params,
                    row.get("dtype") or "fp32",
                    config,
                    str(path.relative_to(results)),
                ),
            )
        for entry in data.get("kernels", []) if isinstance(data, dict) else []:
            # tune_compare.json: each kernel's quick and full tuning, and each strategy's run.
            runs = [entry.get(e) for e in ("quick", "full")]
            runs += [s.get("runs", {}).get(n) for s in data.get("strategies", [])
                     if s.get("kernel") == entry.get("kernel") for n in ("random", "pattern", "de", "optuna")]  # fmt: skip
            m, n = (int(v) for v in entry["shape"].split("x"))
            for run in runs:
                config = run.get("config") if isinstance(run, dict) else None
                if not isinstance(config, dict):
                    continue
                key = (entry["kernel"], (("m", m), ("n", n)), entry["dtype"], repr(config))
                out.setdefault(
                    key,
                    Winner(entry["kernel"], (("m", m), ("n", n)), entry["dtype"], config,
                           str(path.relative_to(results))),
                )  # fmt: skip
    return list(out.values())


def _make_inputs(w: Winner) -> tuple[Any, ...]:
    """The benchmark's inputs for the winner's shape, uninitialized (only traced)."""
    import torch

    from benchmarks import kernels, tensor_core

    def empty(shape: list[int], dtype: Any, device: Any) -> Any:
        return torch.empty(shape, dtype=dtype, device=device)

    spec = {**kernels.KERNELS, **tensor_core.KERNELS}[w.kernel]
    dtype = getattr(torch, DTYPES.get(w.dtype, w.dtype))
    saved = kernels._randn, tensor_core._randn
    kernels._randn = tensor_core._randn = empty  # noqa: SLF001 - the builders' one allocator
    try:
        return spec.make_inputs(dict(w.params), dtype, torch.device("cpu"))
    finally:
        kernels._randn, tensor_core._randn = saved


def _tuned_kernel(fn: Any, args: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...]]:
    """The Kernel and arguments that ``fn.autotune(args)`` tunes, as the benchmark runner
    calls it (a plain-function wrapper such as rms_norm tunes its ``*_fwd`` kernel on derived
    arguments): its ``Kernel.autotune`` is intercepted, nothing is tuned."""
    from kcompiler.runtime.kernel import Kernel

    seen: list[tuple[Any, tuple[Any, ...]]] = []
    original = Kernel.autotune

    def capture(self: Any, call_args: Any, kwargs: Any = None, **options: Any) -> None:
        seen.append((self, tuple(call_args)))

    Kernel.autotune = capture  # type: ignore[method-assign]
    try:
        fn.autotune(args, effort="quick")
    finally:
        Kernel.autotune = original  # type: ignore[method-assign]
    return seen[0]


def _flat(space: Any, config: dict[str, Any]) -> dict[str, Any]:
    """The winner laid over the space's default, knob by knob. Values the installed Triton
    lacks (block pointers, removed in Triton 3.9) read as the nearest it has (pointers)."""
    flat = space.to_flat(space.default())
    for name in flat:
        field, _, index = name.partition("[")
        value = config.get(field)
        if isinstance(value, list) and index:
            i = int(index[:-1])
            value = value[i] if i < len(value) else None
        if value == "block_ptr":
            value = "pointer"
        if value is not None and space.knob(name).contains(value):
            flat[name] = value
    return flat


def check(w: Winner, spaces: dict[Any, Any] | None = None) -> list[str]:
    """What of ``CHECKED`` rejects the winner in today's space at its shape ([] if nothing)."""
    import importlib

    key = (w.kernel, w.params, w.dtype)
    if spaces is None or key not in spaces:
        kernel, args = _tuned_kernel(
            getattr(importlib.import_module(f"kcompiler.kernels.{w.kernel}"), w.kernel),
            _make_inputs(w),
        )
        space = kernel.config_space(*args)
        if spaces is not None:
            spaces[key] = space
    else:
        space = spaces[key]
    flat = _flat(space, w.config)
    return [
        f"{c.name}: {why}"
        for c in space.constraints
        if c.name in CHECKED and (why := c.check(flat)) is not None
    ]


def report() -> Iterator[str]:
    spaces: dict[Any, Any] = {}
    for w in winners():
        bad = check(w, spaces)
        yield f"{'REJECTED' if bad else 'ok'}  {w.kernel} {dict(w.params)} {w.dtype} {w.config} ({w.source}) {bad or ''}"


if __name__ == "__main__":
    for line in report():
        print(line, flush=True)
