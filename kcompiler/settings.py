"""Every environment variable and torch setting kcompiler reads, in one typed record.

The rule: no other module of kcompiler reads ``os.environ`` for a setting of its own or asks
torch for a global setting; each calls :func:`current` and reads a field. The README's
"Settings" table lists every variable with its default and effect; :data:`VARIABLES` is the
same list in code, and a test keeps the two equal.

``current()`` parses and validates the environment once per distinct set of values: it compares
the raw strings of the variables it knows (and torch's float32 matmul precision) with those it
last parsed, and parses again only when one changed. So a process that sets a variable after
importing kcompiler (the benchmark drivers do), and a test using ``monkeypatch.setenv``, see the
new value at the next compile, and a bad value raises :class:`SettingError` naming the variable
and the values it accepts. Tests may also pin fields directly with :func:`override`.

Settings that change generated code (``index_checks``, ``out_of_bounds``, ``peel_tail``,
``fp8_accumulate``, ``fp32_dot_precision``) are part of the key of a compiled variant (:meth:`Settings.codegen_key`),
so changing one compiles a new variant instead of reusing an old one.

Variables named ``KC_*`` (the old prefix) are still read when their ``KCOMPILER_*`` name is
unset, with a ``DeprecationWarning``; see :data:`DEPRECATED`.

This module imports nothing heavy: torch's setting is read only if torch is already imported
(otherwise nobody can have changed it from its default).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kcompiler.exc import KCompilerError


class SettingError(KCompilerError, ValueError):
    """An environment variable holds a value kcompiler does not accept."""


TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")
FP8_ACCUMULATE_MODES = ("imprecise_acc", "block", "fast")
# torch.get_float32_matmul_precision() -> the input_precision of float32 tl.dot.
FP32_DOT_PRECISION = {"highest": "ieee", "high": "tf32", "medium": "tf32"}
CACHE_URL_SCHEMES = ("redis", "rediss", "unix")
COMPILE_BACKENDS = ("local", "ray")
# What a launch whose checked index fell outside its tensor does (backends/triton/bounds.py):
# raise IndexOutOfBounds, or warn and keep the masked lanes' result (opt-in).
OUT_OF_BOUNDS_MODES = ("error", "warn")  # where compile jobs run (autotune/compile_backends.py)

# The old name of a variable -> its name now. Read only when the new name is unset.
DEPRECATED = {
    "KC_DEBUG_PASSES": "KCOMPILER_DEBUG_PASSES",
    "KC_INTERPRETER_SMS": "KCOMPILER_INTERPRETER_SMS",
}


@dataclass(frozen=True)
class Settings:
    """One reading of kcompiler's settings. Field docs: the README's "Settings" table."""

    # Generated code (part of every compiled variant's key).
    index_checks: bool = True
    out_of_bounds: str = "error"
    peel_tail: bool = True
    fp8_accumulate: str = "imprecise_acc"
    fp32_dot_precision: str = "ieee"
    # Runtime (read once, when kcompiler.runtime is imported: the per-call path tests a
    # module constant, not this record).
    direct_launch: bool = True
    custom_op: bool = True
    interpret: bool = False
    interpreter_sms: int = 4
    # Passes and debugging.
    debug: bool = False
    debug_passes: bool = False
    dump_ir: str | None = None
    # Autotuning and caches.
    autotune_strategy: str | None = None
    autotune_effort: str | None = None
    cache_dir: str | None = None
    xdg_cache_home: str | None = None
    cache_url: str | None = None
    aot_strict: bool = False
    compile_backend: str = "local"
    ray_address: str | None = None
    spill_check: bool = True
    # Testing (kcompiler.testing_values).
    test_seed: int = 0

    def codegen_key(self) -> tuple[Any, ...]:
        """The settings that change generated code: part of a compiled variant's key. The
        opt-in ``out_of_bounds`` mode joins it only when set, so the keys of tuning results
        recorded before it existed stay valid."""
        key = (self.fp32_dot_precision, self.fp8_accumulate, self.peel_tail, self.index_checks)
        return key if self.out_of_bounds == "error" else (*key, self.out_of_bounds)


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise SettingError(f"{name}={raw!r}: expected one of {', '.join(TRUE + FALSE)}")


def _triton_bool(name: str, raw: str) -> bool:
    """Triton's own reading of a boolean variable (never an error): on, true or 1. kcompiler
    must agree with Triton about whether it interprets."""
    return raw.strip().lower() in ("1", "true", "on")


def _choice(choices: tuple[str, ...]) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        value = raw.strip()
        if value not in choices:
            raise SettingError(f"{name}={raw!r}: expected one of {', '.join(choices)}")
        return value

    return parse


def _seed(name: str, raw: str) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        value = -1
    if value < 0:
        raise SettingError(f"{name}={raw!r}: expected a non-negative integer")
    return value


def _positive_int(name: str, raw: str) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        value = 0
    if value < 1:
        raise SettingError(f"{name}={raw!r}: expected a positive integer")
    return value


def _text(name: str, raw: str) -> str | None:
    return raw.strip() or None


def _cache_url(name: str, raw: str) -> str | None:
    url = raw.strip()
    if not url:
        return None
    if url.partition("://")[0].lower() not in CACHE_URL_SCHEMES:
        raise SettingError(
            f"{name}={raw!r}: expected a URL starting with "
            f"{', '.join(s + '://' for s in CACHE_URL_SCHEMES)}, or unset for the local cache"
        )
    return url


@dataclass(frozen=True)
class Variable:
    """One environment variable: the field it sets and how its text is parsed. An empty value
    counts as unset (the field keeps its default)."""

    name: str
    field: str
    parse: Callable[[str, str], Any]


VARIABLES = (
    Variable("KCOMPILER_INDEX_CHECKS", "index_checks", _bool),
    Variable("KCOMPILER_OUT_OF_BOUNDS", "out_of_bounds", _choice(OUT_OF_BOUNDS_MODES)),
    Variable("KCOMPILER_PEEL_TAIL", "peel_tail", _bool),
    Variable("KCOMPILER_FP8_ACCUMULATE", "fp8_accumulate", _choice(FP8_ACCUMULATE_MODES)),
    Variable("KCOMPILER_DIRECT_LAUNCH", "direct_launch", _bool),
    Variable("KCOMPILER_CUSTOM_OP", "custom_op", _bool),
    Variable("TRITON_INTERPRET", "interpret", _triton_bool),
    Variable("KCOMPILER_INTERPRETER_SMS", "interpreter_sms", _positive_int),
    Variable("KCOMPILER_DEBUG", "debug", _bool),
    Variable("KCOMPILER_DEBUG_PASSES", "debug_passes", _bool),
    Variable("KCOMPILER_DUMP_IR", "dump_ir", _text),
    Variable("KCOMPILER_AUTOTUNE_STRATEGY", "autotune_strategy", _text),
    Variable("KCOMPILER_AUTOTUNE_EFFORT", "autotune_effort", _text),
    Variable("KCOMPILER_CACHE_DIR", "cache_dir", _text),
    Variable("XDG_CACHE_HOME", "xdg_cache_home", _text),
    Variable("KCOMPILER_CACHE_URL", "cache_url", _cache_url),
    Variable("KCOMPILER_AOT_STRICT", "aot_strict", _bool),
    Variable("KCOMPILER_COMPILE_BACKEND", "compile_backend", _choice(COMPILE_BACKENDS)),
    Variable("KCOMPILER_RAY_ADDRESS", "ray_address", _text),
    Variable("KCOMPILER_SPILL_CHECK", "spill_check", _bool),
    Variable("KCOMPILER_TEST_SEED", "test_seed", _seed),
)
_NAMES = tuple(v.name for v in VARIABLES) + tuple(DEPRECATED)


def _matmul_precision() -> str:
    torch = sys.modules.get("torch")
    return torch.get_float32_matmul_precision() if torch is not None else "highest"


def from_environ(environ: Mapping[str, str], matmul_precision: str = "highest") -> Settings:
    """Parse and validate ``environ`` (and torch's float32 matmul precision) into a record."""
    values: dict[str, Any] = {}
    for var in VARIABLES:
        raw = environ.get(var.name)
        old = next((o for o, n in DEPRECATED.items() if n == var.name), None)
        if not raw and old is not None and environ.get(old):
            warnings.warn(
                f"{old} is deprecated: set {var.name} instead",
                DeprecationWarning,
                stacklevel=3,
            )
            raw, name = environ[old], old
        else:
            name = var.name
        if raw is not None and raw.strip():
            values[var.field] = var.parse(name, raw)
    values["fp32_dot_precision"] = FP32_DOT_PRECISION.get(matmul_precision, "ieee")
    if values.get("out_of_bounds") == "warn" and values.get("index_checks") is False:
        # Unchecked code has no masked lanes to keep and nothing to warn about: the two
        # settings ask for opposite things, so neither wins silently.
        raise SettingError(
            "KCOMPILER_OUT_OF_BOUNDS=warn needs the bounds checks: unset KCOMPILER_INDEX_CHECKS=0"
        )
    return Settings(**values)


def _raw_reader() -> Callable[[], tuple[Any, ...]]:
    """The raw values of every known variable, for comparing with the last parse. Reads the
    mapping behind ``os.environ`` when it has one (CPython: ``_data``, keys encoded by
    ``encodekey``): ``os.environ.get`` raises and catches a KeyError for each unset variable,
    several times the cost of the lookups themselves on a path that runs per compile lookup."""
    data = getattr(os.environ, "_data", None)
    encode = getattr(os.environ, "encodekey", None)
    if isinstance(data, dict) and callable(encode):
        keys = tuple(encode(n) for n in _NAMES)
        return lambda: tuple(map(data.get, keys))
    return lambda: tuple(map(os.environ.get, _NAMES))


_raw = _raw_reader()
_lock = threading.Lock()
_last: tuple[tuple[Any, ...], Settings] | None = None
_pinned: list[Settings] = []


def current() -> Settings:
    """The settings now: the innermost :func:`override` if any, else the environment's."""
    global _last
    if _pinned:
        return _pinned[-1]
    precision = _matmul_precision()
    stamp = (_raw(), precision)
    last = _last
    if last is not None and last[0] == stamp:
        return last[1]
    with _lock:
        parsed = from_environ(os.environ, precision)
        _last = (stamp, parsed)
    return parsed


def default_to_interpreter() -> None:
    """With no CUDA device, ``TRITON_INTERPRET`` unset and triton not yet imported, set
    ``TRITON_INTERPRET=1`` in the process environment so kernels run on Triton's CPU interpreter.

    ``kcompiler.runtime`` calls this when it is imported; it is the only global state importing
    kcompiler changes. It has to be the process environment, not a field of :class:`Settings`:
    Triton decides per ``@triton.jit`` function, when the decorator runs, whether to make an
    interpreted function, and reads that from ``TRITON_INTERPRET``. The generated code and any
    Triton helper a user writes are decorated outside kcompiler's control, and all of them must
    agree on one mode. When triton is already imported or the variable is set, the user chose,
    and nothing changes."""
    if "TRITON_INTERPRET" in os.environ or "triton" in sys.modules:
        return
    import torch  # only the runtime calls this, and it imports torch anyway

    if not torch.cuda.is_available():
        os.environ["TRITON_INTERPRET"] = "1"


@contextlib.contextmanager
def override(**fields: Any) -> Iterator[Settings]:
    """Within the block, :func:`current` returns the environment's settings with ``fields``
    replaced (for tests: ``with settings.override(peel_tail=False): ...``). Not thread-local:
    meant for single-threaded tests. Unknown field names raise ``TypeError``."""
    pinned = dataclasses.replace(current(), **fields)
    _pinned.append(pinned)
    try:
        yield pinned
    finally:
        _pinned.remove(pinned)
