"""kcompiler.autotune."""
