"""Benchmarks run through the ordinary judging path, their statistics and reports."""
