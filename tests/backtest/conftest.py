"""Fixtures of the backtest tests."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pytest


def _has_trades(lake_dir: Path) -> bool:
    return any((lake_dir / "lake" / "trades").glob("**/*.parquet"))


@pytest.fixture(scope="session")
def demo_lake(tmp_path_factory):
    """A fresh demo lake + warehouse, built the real way: `kalshi_lake.demo.run_demo` (the local exchange, the
    order module, the flows' pulls, `warehouse.build`) into a temporary KALSHI_LAKE_DIR. If that path cannot
    produce a lake with trades, fall back to a contract-typed generated lake (`lakegen.synthetic_lake`) and
    say so in a warning."""
    lake_dir = tmp_path_factory.mktemp("nbdemo")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KALSHI_LAKE_DIR", str(lake_dir))
        source, problem = "kalshi_lake.demo.run_demo", None
        try:
            from rich.console import Console

            from kalshi_lake.demo import run_demo

            run_demo(seed=7, size="small", console=Console(file=io.StringIO(), width=120))
        except Exception as exc:  # the demo belongs to another part; its own tests judge it
            problem = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
        from kalshi_lake import warehouse

        if not _has_trades(lake_dir):
            from tests.backtest.lakegen import synthetic_lake

            source = "tests.backtest.lakegen.synthetic_lake"
            synthetic_lake(lake_dir / "lake", n_markets=24, n_trades=4000, days=6)
        warehouse.build(str(lake_dir), run_tests=False)
    if problem:
        warnings.warn(f"notebooks ran on a lake from {source}; the demo reported {problem}", stacklevel=1)
    return lake_dir
