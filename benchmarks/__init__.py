"""Side-by-side GPU benchmarks of kcompiler against its peers: `python -m benchmarks.run`."""
