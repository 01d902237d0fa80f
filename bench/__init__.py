"""Benchmarks for kalshi-lake: pull speed, CPU, memory and incremental cost, side by side with baselines.

Run everything with ``uv run --group bench python -m bench`` (see BENCHMARKS.md). Every figure is a ratio taken in
the same run against the same local exchange; nothing here is a timed unit test.
"""
