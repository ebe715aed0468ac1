"""The compile layer: one device loop's traced IR and a config in, a loaded launcher out.

It sits between the backend (code generation) and the runtime (``Kernel``, which decides
*what* to compile and caches the results): dialects <- passes <- backends <- compiler <-
runtime. ``driver.compile_loop`` is the one path from IR to a runnable launcher; kc-opt's
``-t triton`` uses the same driver for its source. The runtime hands it a ``CompileRequest``
and ``CompileSettings`` and keeps the ``CompiledLoop`` it returns.
"""

from kcompiler.compiler.artifacts import BlocksView, CompiledLoop, CompileRequest
from kcompiler.compiler.checks import resolve_block_sizes, validate_config
from kcompiler.compiler.driver import CompileSettings, compile_loop, generate_kernel

__all__ = [
    "BlocksView",
    "CompileRequest",
    "CompileSettings",
    "CompiledLoop",
    "compile_loop",
    "generate_kernel",
    "resolve_block_sizes",
    "validate_config",
]
