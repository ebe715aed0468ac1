"""Argument specs: a kernel call described as JSON, and the tensors built from it.

A shapes file is a JSON list of calls. A call is a list of positional arguments, or an object
``{"args": [...], "kwargs": {...}}`` (a table's recorded calls add ``"time_ms"``). An argument is:

- a tensor: ``{"shape": [4096, 1024], "dtype": "bfloat16"}`` with optional ``"strides"``
  (elements; a view of a buffer just large enough, so 0 strides broadcast), and optional
  contents: ``"values"`` (a flat list, e.g. a jagged tensor's offsets) or ``"low"``/``"high"``
  (uniform integers in [low, high), e.g. indices into a table of ``high`` rows; floats in
  [low, high)). Default contents: standard normal floats, integers in [0, 2), random bools;
  all drawn from a fixed seed;
- anything else JSON holds, passed as is (ints, floats, bools, null, strings, lists such as
  layer_norm's ``[1024]``).

The same list may be given as a Python object (``--shapes package.module:NAME``), whose
items may also hold real tensors.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

# Integer tensors up to this many elements keep their contents in a table's recorded shapes
# (offsets, small index lists): the compile step rebuilds the call from them.
KEEP_VALUES = 256


def _dtype(name: str) -> torch.dtype:
    dtype = getattr(torch, str(name).removeprefix("torch."), None)
    if not isinstance(dtype, torch.dtype):
        raise ValueError(f"unknown dtype {name!r} in an argument spec")
    return dtype


def is_tensor_spec(value: Any) -> bool:
    return isinstance(value, Mapping) and "shape" in value


def make_tensor(spec: Mapping[str, Any], device: str, gen: torch.Generator) -> torch.Tensor:
    """The tensor a spec describes (see the module docstring)."""
    unknown = set(spec) - {"shape", "dtype", "strides", "values", "low", "high"}
    if unknown:
        raise ValueError(f"unknown field(s) {sorted(unknown)} in tensor spec {dict(spec)}")
    shape = [int(s) for s in spec["shape"]]
    dtype = _dtype(spec.get("dtype", "float32"))
    strides = spec.get("strides")
    if strides is None:
        numel = 1
        for s in shape:
            numel *= s
        extent, strides = numel, None
    else:
        strides = [int(s) for s in strides]
        if len(strides) != len(shape):
            raise ValueError(f"tensor spec {dict(spec)}: strides and shape differ in rank")
        extent = 0 if 0 in shape else 1 + sum((s - 1) * abs(st) for s, st in zip(shape, strides))
    if "values" in spec:
        flat = torch.tensor(spec["values"], dtype=dtype).reshape(-1)
        if flat.numel() != extent:
            raise ValueError(f"tensor spec {dict(spec)}: {flat.numel()} values for {extent}")
    elif dtype == torch.bool:
        flat = torch.randint(0, 2, (extent,), generator=gen).bool()
    elif dtype.is_floating_point:
        lo, hi = spec.get("low"), spec.get("high")
        if lo is None and hi is None:
            flat = torch.randn(extent, generator=gen)
        else:
            lo, hi = float(lo or 0.0), float(1.0 if hi is None else hi)
            flat = torch.rand(extent, generator=gen) * (hi - lo) + lo
        flat = flat.to(dtype)
    else:
        lo, hi = int(spec.get("low", 0)), int(spec.get("high", 2))
        flat = torch.randint(lo, hi, (extent,), generator=gen).to(dtype)
    flat = flat.to(device)
    if strides is None:
        return flat.reshape(shape)
    return flat.as_strided(shape, strides)


def make_value(value: Any, device: str, gen: torch.Generator) -> Any:
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if is_tensor_spec(value):
        return make_tensor(value, device, gen)
    if isinstance(value, list):
        return [make_value(v, device, gen) for v in value]
    return value


def split_call(call: Any) -> tuple[list[Any], dict[str, Any]]:
    """(positional, keyword) argument specs of one call."""
    if isinstance(call, Mapping):
        unknown = set(call) - {"args", "kwargs", "time_ms"}  # a table's shapes have times
        if unknown:
            raise ValueError(f"a call is a list or {{'args', 'kwargs'}}; got fields {unknown}")
        return list(call.get("args", [])), dict(call.get("kwargs", {}))
    if isinstance(call, (list, tuple)):
        return list(call), {}
    raise ValueError(f"a call must be a list of arguments or an object, got {call!r}")


def make_call(call: Any, device: str, seed: int = 0) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The arguments of one call spec, on ``device``."""
    gen = torch.Generator().manual_seed(seed)
    args, kwargs = split_call(call)
    return (
        tuple(make_value(a, device, gen) for a in args),
        {k: make_value(v, device, gen) for k, v in kwargs.items()},
    )


def describe_value(value: Any) -> Any:
    """A JSON spec of an argument (the inverse of ``make_value`` up to the random contents)."""
    if isinstance(value, torch.Tensor):
        out: dict[str, Any] = {
            "shape": list(value.shape),
            "dtype": str(value.dtype).removeprefix("torch."),
        }
        if not value.is_contiguous():
            out["strides"] = list(value.stride())
        if not value.dtype.is_floating_point and value.numel() <= KEEP_VALUES:
            base = value if value.is_contiguous() else value.contiguous()
            if "strides" not in out:
                out["values"] = base.reshape(-1).tolist()
        return out
    if isinstance(value, (list, tuple)):
        return [describe_value(v) for v in value]
    if isinstance(value, torch.dtype):
        return str(value)
    return value


def describe_call(call: Any) -> dict[str, Any]:
    """A call spec as recorded in a table: ``{"args": [...]}`` (plus ``"kwargs"``), tensors
    given as specs kept as written, real tensors described."""
    args, kwargs = split_call(call)
    out: dict[str, Any] = {"args": [a if is_tensor_spec(a) else describe_value(a) for a in args]}
    if kwargs:
        out["kwargs"] = {
            k: v if is_tensor_spec(v) else describe_value(v) for k, v in kwargs.items()
        }
    return out


def load_calls(source: str) -> list[Any]:
    """The calls of a shapes file (JSON) or of ``package.module:NAME`` (a Python list, or a
    function returning one)."""
    path = Path(source)
    if path.suffix == ".json" or path.exists():
        calls = json.loads(path.read_text())
    else:
        calls = resolve(source)
        if callable(calls):
            calls = calls()
    if not isinstance(calls, (list, tuple)) or not calls:
        raise ValueError(f"{source}: expected a non-empty list of calls")
    return list(calls)


def resolve(target: str) -> Any:
    """``package.module:attr.attr`` -> the object."""
    import importlib

    module, sep, attr = target.partition(":")
    if not sep or not attr:
        raise ValueError(f"expected module:name, got {target!r}")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj
