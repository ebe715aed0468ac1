"""kcompiler.runtime."""
