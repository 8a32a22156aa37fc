"""Benchmarks, run by `make bench` (`python -m bench`): each `bench_*.py` module is one file
with a `run(ctx) -> list[Row]` function; the runner prints all rows as one table."""
