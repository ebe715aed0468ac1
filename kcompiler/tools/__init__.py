"""Command-line tools: ``kc-opt`` (parse tile IR, run passes, print IR or Triton)."""
