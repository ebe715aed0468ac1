"""What the compile layer takes (``CompileRequest``) and what it returns (``CompiledLoop``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from xdsl.dialects.builtin import ModuleOp


@dataclass
class BlocksView:
    """What the compiler reads of a kernel's block allocator: literal block sizes (fixed by
    the source), the defaults of registered ones, and how many block sizes the kernel has."""

    fixed: dict[str, int]
    defaults: dict[str, int]
    count: int | None = None  # block sizes of the kernel (Config.block_sizes' length at most)


@dataclass(frozen=True)
class CompileRequest:
    """One device loop to compile: its traced IR, as ``pass_manager.run_frontend_pipeline`` left it (shared
    by every config's variant: the driver rewrites clones), the specialization it was traced
    for (``frontend.specialize.Specialization``: int64 indexing, size symbols), the kernel's
    block sizes, and where its bounds checks report (``error_flag()`` gives the kernel's
    ``bounds.ErrorFlag``, called only when the code checks an index; None: a new flag) and
    the device loop's source line."""

    module: ModuleOp
    spec: Any
    blocks: BlocksView
    error_flag: Callable[[], Any] | None = None
    location: str | None = None  # the device loop's ``file:line``, for resource messages


@dataclass
class CompiledLoop:
    """A compiled variant: the generated module's source, its launcher (loaded), the
    launcher's parameters (names of host values) and the block sizes it was made with."""

    source: str
    launcher: Callable[..., Any]
    params: list[str]
    block_sizes: dict[str, int]
    # Where the kernel records out-of-bounds computed indices (backends/triton/bounds.py), or
    # None when it has none to check.
    errors: Any = None
    # The config's knobs that size the kernel's resources (``checks.describe_knobs``) and the
    # device loop's ``file:line``: what a launch's out-of-resources error names
    # (``launch_errors.invalid_config``).
    knobs: str = ""
    location: str | None = None

    def launch(self, env: dict[str, Any]) -> Any:
        """Launch through Triton's JIT; returns its compiled kernel (None when interpreting)."""
        return self.launcher(*[env[p] for p in self.params])
