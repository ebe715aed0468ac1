"""Peer implementations written for the benchmarks (Helion versions of the nine kernels)."""
