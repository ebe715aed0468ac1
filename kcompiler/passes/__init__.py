"""kcompiler.passes."""
