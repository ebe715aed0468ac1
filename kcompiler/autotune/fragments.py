"""Search domains of user-named tunables (``kl.register_tunable(name, fragment)``).

A fragment is the declaration a kernel makes of one knob of its own: its values and default.
It is Helion's vocabulary (``PowerOfTwoFragment(1, 256)``, ``EnumFragment(choices=...)``), and
each fragment maps onto one knob of the config space (``knob(name)``), so the tuner searches a
user's knob as it searches block sizes. Fragments are plain records: they are compared (a
name registered twice must mean the same domain) and printed in errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kcompiler.autotune.space import BoolKnob, ChoiceKnob, IntKnob, Knob, PowerOfTwoKnob
from kcompiler.exc import InvalidConfig


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


class Fragment:
    """The domain of one tunable: ``default()``, ``contains(value)``, ``knob(name)``."""

    def default(self) -> Any:
        raise NotImplementedError

    def contains(self, value: Any) -> bool:
        raise NotImplementedError

    def knob(self, name: str) -> Knob:
        raise NotImplementedError

    def check(self, name: str, value: Any) -> Any:
        """``value`` if it lies in the domain, else InvalidConfig naming the tunable."""
        if not self.contains(value):
            raise InvalidConfig(f"{name} = {value!r}: must be in {self!r}")
        return value


@dataclass(frozen=True)
class IntegerFragment(Fragment):
    """An int in ``[low, high]``; the default is ``default_val``, else ``low`` (clamped)."""

    low: int
    high: int
    default_val: int | None = None

    def __post_init__(self) -> None:
        if not (_is_int(self.low) and _is_int(self.high)) or self.low > self.high:
            raise ValueError(f"{type(self).__name__}: need ints low <= high, got {self!r}")

    def default(self) -> int:
        v = self.low if self.default_val is None else self.default_val
        return max(self.low, min(self.high, v))

    def contains(self, value: Any) -> bool:
        return _is_int(value) and self.low <= value <= self.high

    def knob(self, name: str) -> Knob:
        return IntKnob(name, self.low, self.high, self.default())


@dataclass(frozen=True)
class PowerOfTwoFragment(IntegerFragment):
    """A power of two in ``[low, high]`` (both powers of two)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        for v in (self.low, self.high):
            if v < 1 or v & (v - 1):
                raise ValueError(f"PowerOfTwoFragment: {v} is not a power of two")

    def default(self) -> int:
        v = super().default()
        return 1 << (v.bit_length() - 1)  # the power of two at or below a clamped default

    def contains(self, value: Any) -> bool:
        return super().contains(value) and not value & (value - 1)

    def knob(self, name: str) -> Knob:
        return PowerOfTwoKnob(name, self.low, self.high, self.default())


@dataclass(frozen=True)
class EnumFragment(Fragment):
    """One of ``choices``; the first is the default. ``search_choices``: the subset the tuner
    draws from (all choices stay valid in a given config)."""

    choices: tuple[Any, ...]
    search_choices: tuple[Any, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "choices", tuple(self.choices))
        if not self.choices:
            raise ValueError("EnumFragment: choices must not be empty")
        if self.search_choices is not None:
            object.__setattr__(self, "search_choices", tuple(self.search_choices))
            if not self.search_choices or any(c not in self.choices for c in self.search_choices):
                raise ValueError("EnumFragment: search_choices must be a non-empty subset")

    def default(self) -> Any:
        return self.choices[0]

    def contains(self, value: Any) -> bool:
        return any(type(value) is type(c) and value == c for c in self.choices)

    def knob(self, name: str) -> Knob:
        searched = self.search_choices or self.choices
        default = self.default() if self.default() in searched else searched[0]
        return ChoiceKnob(name, list(searched), default)


@dataclass(frozen=True)
class BooleanFragment(Fragment):
    """True or False; the default is False."""

    def default(self) -> bool:
        return False

    def contains(self, value: Any) -> bool:
        return isinstance(value, bool)

    def knob(self, name: str) -> Knob:
        return BoolKnob(name, False)


def as_fragment(fragment: Any) -> Fragment:
    """``fragment`` if it is one; a list or tuple of choices as an EnumFragment."""
    if isinstance(fragment, Fragment):
        return fragment
    if isinstance(fragment, (list, tuple)) and not isinstance(fragment, str):
        return EnumFragment(tuple(fragment))
    raise TypeError(
        f"a tunable's domain must be a fragment (PowerOfTwoFragment, IntegerFragment, "
        f"EnumFragment, BooleanFragment from kcompiler.autotuner), got {fragment!r}"
    )


__all__ = [
    "BooleanFragment",
    "EnumFragment",
    "Fragment",
    "IntegerFragment",
    "PowerOfTwoFragment",
    "as_fragment",
]
