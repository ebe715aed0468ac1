"""kcompiler: tile-level Python kernels -> `tile` IR (xDSL) -> passes -> Triton, autotuned."""

from kcompiler.config import Config

__all__ = ["Config"]
