"""The notebooks execute top to bottom (nbclient) against a freshly built demo lake (the `demo_lake` fixture
in conftest.py); any cell error fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
NAMES = ["01_market_overview", "02_spreads_liquidity", "03_portfolio_pnl", "04_calibration", "05_backtest"]


@pytest.mark.parametrize("name", NAMES)
def test_paired_py_and_ipynb_agree_and_carry_no_outputs(name):
    import jupytext
    import nbformat

    ipynb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    py = jupytext.read(NOTEBOOKS / f"{name}.py")
    assert ipynb.metadata.get("jupytext", {}).get("formats") == "ipynb,py:percent"
    assert [(c.cell_type, c.source) for c in ipynb.cells] == [(c.cell_type, c.source) for c in py.cells]
    assert all(
        not c.get("outputs") and not c.get("execution_count") for c in ipynb.cells if c.cell_type == "code"
    )


def _execute(names: list[str]) -> dict[str, object]:
    """Execute notebooks concurrently (one kernel each) and return them; raises on the first cell error."""
    import asyncio

    import nbformat
    from nbclient import NotebookClient

    books = {name: nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4) for name in names}
    clients = [
        NotebookClient(
            nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
        )
        for nb in books.values()
    ]

    async def run_all():
        await asyncio.gather(*(c.async_execute() for c in clients))

    asyncio.run(run_all())
    return books


@pytest.mark.slow
def test_every_notebook_executes_on_a_fresh_demo_lake(demo_lake, monkeypatch):
    import duckdb

    monkeypatch.setenv("KALSHI_LAKE_DIR", str(demo_lake))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    # 01-04 only read the warehouse (read-only connections can share it); 05 writes, so it runs alone after
    books = _execute(NAMES[:4])
    books.update(_execute(NAMES[4:]))
    images = {}
    for name, nb in books.items():
        images[name] = sum(
            1
            for c in nb.cells
            if c.cell_type == "code"
            for o in c.get("outputs", [])
            if "image/png" in o.get("data", {})
        )
        errors = [
            o
            for c in nb.cells
            if c.cell_type == "code"
            for o in c.get("outputs", [])
            if o.get("output_type") == "error"
        ]
        assert not errors, f"{name}: {json.dumps(errors)[:500]}"
    # every notebook draws real figures
    assert all(n >= 1 for n in images.values()), images
    assert images["05_backtest"] >= 3
    # 05 wrote its report into the warehouse the other notebooks read
    con = duckdb.connect(str(demo_lake / "kalshi.duckdb"), read_only=True)
    runs = con.execute("select strategy, n_fills from bt_runs").fetchall()
    con.close()
    assert {s for s, _ in runs} == {"threshold", "longshot_fade"}
    assert list((demo_lake / "backtests").glob("*.png"))
