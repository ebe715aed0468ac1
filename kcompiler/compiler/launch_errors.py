"""Triton's out-of-resources error at a variant's first launch, as an ``InvalidConfig``.

Triton checks a compiled kernel against the device only when it loads it, at the first
launch (``CompiledKernel._init_handles``, reached through ``JITFunction.run``): a kernel that
takes more shared memory (or threads, or tensor memory) than the device has raises
``triton.runtime.errors.OutOfResources`` there, with Triton's own figure (``required``) and
the device's (``limit``). Compiling alone (``warmup``, a compile for a named target) does not
load the binary and so never raises it. That launch is the one place where a config is refused
for what it needs on the device: kcompiler's own estimate of shared memory only warns
(``checks.check_shared_memory``). The runtime catches the error around the launch that
compiles and raises what ``invalid_config`` makes of it: the config's knobs, as the compile
driver described them (``CompiledLoop.knobs``), and the device loop's source line.
"""

from __future__ import annotations

from typing import Any

from triton.runtime.errors import OutOfResources

from kcompiler.exc import InvalidConfig

_UNITS = {"shared memory": "bytes of shared memory", "threads": "threads"}
_ADVICE = {
    "shared memory": "lower block_sizes or num_stages (or the range_* stages and unroll factors)",
    "threads": "lower num_warps",
}


def invalid_config(error: OutOfResources, knobs: str, location: str | None) -> InvalidConfig:
    """The ``InvalidConfig`` a launch raises in place of Triton's ``error``: ``knobs`` names
    the config (``checks.describe_knobs``), ``location`` the device loop (``file:line``)."""
    name = str(getattr(error, "name", "resources"))
    unit = _UNITS.get(name, name)
    required, limit = getattr(error, "required", None), getattr(error, "limit", None)
    where = f"{location}: " if location else ""
    return InvalidConfig(
        f"{where}{knobs or 'this config'} needs {_count(required)} {unit} as Triton compiled "
        f"it, over this device's limit of {_count(limit)}; "
        + _ADVICE.get(name, "lower block_sizes")
    )


def _count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


__all__ = ["OutOfResources", "invalid_config"]
