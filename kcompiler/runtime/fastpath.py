"""The per-call key of the runtime's fast path: what a device loop's launch depends on.

A launch reads the loop's environment (the host function's locals). Two calls whose values
agree on dtype, shape, strides, device and 16-byte alignment for tensors, and on value for ints,
strings, None and constexprs, compile to the same Triton kernel with the same specialization, so
the second may reuse the first's compiled variant and launch. The key function is generated per
loop so that a call pays for attribute reads only, not a generic walk over the names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch

MISSING = object()


def fingerprint(v: Any) -> Any:
    """What a value contributes to the key (the generic form; tensors are inlined)."""
    if isinstance(v, torch.Tensor):
        # data_ptr alignment: Triton specializes pointers on 16-byte alignment.
        return (v.dtype, v.shape, v.stride(), v.device, v.data_ptr() & 15)
    if isinstance(v, (int, str, type(None))) or v is MISSING:
        return v  # ints: sizes and specialized values; bools too
    if isinstance(v, float):
        return float
    if isinstance(v, (list, tuple)):
        return (type(v), *(fingerprint(x) for x in v))
    return (type(v), id(v))


def make_key(index: int, names: Iterable[str], constexprs: Iterable[str]) -> Callable[..., Any]:
    """``key(env, config)`` for device loop ``index`` reading ``names``.

    Names absent from ``env`` (globals, the loop variable) contribute MISSING, so a local that
    appears later under such a name changes the key."""
    cx = set(constexprs)
    lines = ["def key(env, config):", "    get = env.get"]
    parts = []
    for i, name in enumerate(names):
        lines.append(f"    v{i} = get({name!r}, MISSING)")
        if name in cx:
            parts.append(f"({name!r}, repr(v{i}))")
        else:
            parts.append(
                f"(v{i}.dtype, v{i}.shape, v{i}.stride(), v{i}.device, v{i}.data_ptr() & 15) "
                f"if type(v{i}) is Tensor else v{i} if v{i} is MISSING else fp(v{i})"
            )
    lines.append(f"    return ({index}, config, {', '.join(parts)})")
    scope: dict[str, Any] = {"MISSING": MISSING, "Tensor": torch.Tensor, "fp": fingerprint}
    exec(compile("\n".join(lines) + "\n", f"<kcompiler fast-path key {index}>", "exec"), scope)
    return scope["key"]
