"""Benchmarks for the 12348 bot (run as scripts: see each module's docstring)."""
