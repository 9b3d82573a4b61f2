"""Benchmarks for the 12348 bot (scripts, and the `nlu_eval` package run as `python -m bench.nlu_eval`)."""
