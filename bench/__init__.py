"""Benchmarks of the aiusage proxy (see bench/README.md)."""
