"""kcompiler.language."""
