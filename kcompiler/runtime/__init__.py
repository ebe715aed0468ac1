"""kcompiler.runtime: the ``Kernel`` object users call, and what it drives per call.

Importing this package (any runtime module) first calls ``settings.default_to_interpreter()``,
before a runtime module can import triton: with no CUDA device it sets ``TRITON_INTERPRET=1``,
the one change to global state that importing kcompiler makes (its docstring says why it must
be the process environment; README, "Settings").
"""

from kcompiler import settings

settings.default_to_interpreter()
