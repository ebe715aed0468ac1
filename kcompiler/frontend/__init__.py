"""kcompiler.frontend."""
