"""kcompiler.dialects."""
