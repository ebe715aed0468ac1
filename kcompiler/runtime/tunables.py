"""User-named tunables (``kl.register_tunable``): how a call gets its value and how the
kernel's declarations reach the config space.

The value of a tunable is read from the call's config by name (``Config(split_k=8)``), else
it is the fragment's default; it is checked against the fragment, so a config never carries
a value outside the declared domain. Each kernel remembers its declarations
(``Kernel.tunables``: name -> fragment), which ``runtime/tuning.build_space`` turns into knobs.
A config field that is a tunable name this kernel does not declare is refused when the
kernel compiles, so a tunable meant for another kernel is never silently ignored.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kcompiler.autotune.fragments import Fragment, as_fragment
from kcompiler.config import KNOWN_FIELDS, Config, declare_tunable
from kcompiler.exc import CompileError, InvalidConfig
from kcompiler.frontend.specialize import SpecializedInt

if TYPE_CHECKING:
    from kcompiler.runtime.kernel import Kernel

# ``register_tunable("name", ...)`` with a literal name, in a kernel's source.
_LITERAL_CALL = re.compile(r"register_tunable\(\s*['\"]([A-Za-z][A-Za-z0-9_]*)['\"]")


def declare_from_source(fn: Callable[..., Any]) -> None:
    """Declare the literal tunable names ``fn``'s source registers, so that a Config naming
    them can be made before the kernel first runs (its host code declares them too)."""
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        return
    if "register_tunable" not in source:
        return
    for name in _LITERAL_CALL.findall(source):
        try:
            declare_tunable(name)
        except ValueError:
            pass  # the call itself raises, naming its line, when the host code runs


def register(kernel: Kernel, config: Config, name: Any, fragment: Any, where: str) -> Any:
    """The value of tunable ``name`` in ``config`` (else its default), declaring it."""
    try:
        frag: Fragment = as_fragment(fragment)
        declare_tunable(name)
    except (TypeError, ValueError) as e:
        raise CompileError(f"kl.register_tunable({name!r}, ...): {e}", where) from None
    known = kernel.tunables.get(name)
    if known is not None and known != frag:
        raise CompileError(
            f"kl.register_tunable({name!r}, {frag!r}): {name!r} is already registered by this "
            f"kernel as {known!r}; one name, one domain",
            where,
        )
    kernel.tunables[name] = frag
    value = config.get(name)
    if value is None:
        value = frag.default()
    elif not frag.contains(value):
        raise InvalidConfig(f"{name} = {value!r}: must be in {frag!r} (registered at {where})")
    if isinstance(value, int) and not isinstance(value, bool):
        return SpecializedInt(value)  # a device loop that reads it has it baked in
    return value


def check_config(kernel: Kernel, config: Config) -> None:
    """Refuse a config field that is neither a known field nor one of ``kernel``'s tunables."""
    for name in config:
        if name not in KNOWN_FIELDS and name not in kernel.tunables:
            declared = ", ".join(kernel.tunables) or "none"
            raise InvalidConfig(
                f"Config field {name!r} is a tunable that kernel {kernel.fn.__name__!r} does not "
                f"register with kl.register_tunable (its tunables: {declared})"
            )


__all__ = ["check_config", "declare_from_source", "register"]
