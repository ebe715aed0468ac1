"""kcompiler.backends."""
