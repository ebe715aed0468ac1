"""kcompiler.kernels."""
