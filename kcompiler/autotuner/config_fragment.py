"""``helion.autotuner.config_fragment``'s fragments (kcompiler/autotune/fragments.py)."""

from __future__ import annotations

from kcompiler.autotune.fragments import (
    BooleanFragment,
    EnumFragment,
    IntegerFragment,
    PowerOfTwoFragment,
)
from kcompiler.autotune.fragments import Fragment as ConfigSpecFragment

__all__ = [
    "BooleanFragment",
    "ConfigSpecFragment",
    "EnumFragment",
    "IntegerFragment",
    "PowerOfTwoFragment",
]
