"""Benchmark scripts; each writes JSON under bench/results/. Summary in docs/BENCHMARKS.md."""
