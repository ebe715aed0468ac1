"""A compile-pool job for test_target_compile: compile a launch for a target in a worker
whose Triton cache holds an installed artifact store, and report whether Triton found it."""

from __future__ import annotations

from typing import Any


def compile_and_report_cache_hits(spec: Any, target: str) -> tuple[Any, list[bool]]:
    """(the TargetBinary, Triton's cache_hit flag of each compile it ran)."""
    from triton import knobs

    from kcompiler.backends.triton.target_compile import compile_for_target

    hits: list[bool] = []

    def listener(*, src: Any, metadata: Any, metadata_group: Any, times: Any, cache_hit: bool):
        hits.append(cache_hit)

    knobs.compilation.listener = listener
    try:
        return compile_for_target(spec, target), hits
    finally:
        knobs.compilation.listener = None
