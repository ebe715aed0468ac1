"""kcompiler.backends.triton."""
