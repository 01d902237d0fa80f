"""The notebooks execute top to bottom (nbclient) against a freshly built demo lake (the `demo_lake` fixture
in conftest.py); any cell error fails."""

from __future__ import annotations

import json
import re
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


MODEL = re.compile(r"\b(?:fct|dim|stg|int|bt)_[a-z0-9_]+\b")


def _readme_reads() -> dict[str, set[str]]:
    """The 'reads' column of notebooks/README.md's table, per notebook."""
    reads = {}
    for line in (NOTEBOOKS / "README.md").read_text().splitlines():
        cols = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cols) == 3 and cols[0].strip("`") in NAMES:
            reads[cols[0].strip("`")] = set(MODEL.findall(cols[2]))
    return reads


@pytest.mark.parametrize("name", NAMES)
def test_readme_lists_the_models_a_notebook_queries(name):
    """A notebook that starts reading a mart (or stops) keeps its README row true; every listed model exists."""
    import jupytext

    nb = jupytext.read(NOTEBOOKS / f"{name}.py")
    queried = set(MODEL.findall(" ".join(c.source for c in nb.cells if c.cell_type == "code")))
    listed = _readme_reads()[name]
    assert queried <= listed, f"{name} queries {sorted(queried - listed)}, not listed in notebooks/README.md"
    sql = NOTEBOOKS.parent / "sql"
    models = {p.stem for p in sql.rglob("*.sql")}
    missing = {m for m in listed if not m.startswith("bt_") and m not in models}
    assert not missing, f"notebooks/README.md lists {sorted(missing)} for {name}: no such model in sql/"
    if not name.startswith("05"):
        # the read-only notebooks list exactly what they query (05 also lists the tables its backtest writes)
        assert listed == queried, f"{name}: listed but not queried {sorted(listed - queried)}"


def _execute(names: list[str]) -> dict[str, object]:
    """Execute notebooks concurrently (one kernel each) and return them; raises on the first cell error."""
    import nbformat

    return _execute_books({name: nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4) for name in names})


def _execute_books(books: dict[str, object]) -> dict[str, object]:
    import asyncio

    from nbclient import NotebookClient

    clients = [
        NotebookClient(
            nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
        )
        for nb in books.values()
    ]

    async def run_all():
        # every kernel finishes and shuts down before the first error is raised (none is cancelled mid-cell)
        return await asyncio.gather(*(c.async_execute() for c in clients), return_exceptions=True)

    for outcome in asyncio.run(run_all()):
        if isinstance(outcome, BaseException):
            raise outcome
    return books


def test_a_notebook_that_raises_fails_the_run():
    """The harness must not swallow an error: a cell that raises fails the test (nbclient raises
    CellExecutionError), even while another notebook runs fine beside it."""
    import nbformat
    from nbclient.exceptions import CellExecutionError
    from nbformat.v4 import new_code_cell, new_notebook

    good = new_notebook(cells=[new_code_cell("x = 1")])
    bad = new_notebook(
        cells=[new_code_cell("x = 1"), new_code_cell("raise RuntimeError('a notebook failed')")]
    )
    for nb in (good, bad):
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.validate(nb)
    with pytest.raises(CellExecutionError, match="a notebook failed"):
        _execute_books({"good": good, "bad": bad})


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
    # 02: quoted spread, mid ages, costs, by time to close, relative spread; 03: equity curve, P&L by market,
    # attribution; 04: calibration plots, Brier by event, YES sums
    assert images["02_spreads_liquidity"] >= 5 and images["03_portfolio_pnl"] >= 3
    assert images["04_calibration"] >= 3
    assert images["05_backtest"] >= 5
    # 05 wrote its report into the warehouse the other notebooks read
    con = duckdb.connect(str(demo_lake / "kalshi.duckdb"), read_only=True)
    runs = con.execute("select strategy, n_fills from bt_runs").fetchall()
    research = con.execute(
        "select strategy, in_sample, folds, pnl_low_dollars <= pnl_dollars and pnl_dollars <= pnl_high_dollars"
        " from bt_research"
    ).fetchall()
    con.close()
    assert {s for s, _ in runs} == {"threshold", "longshot_fade"}
    # the walk-forward is out of sample, with its bootstrap interval around the point
    assert research == [("threshold", False, 3, True)]
    assert list((demo_lake / "backtests").glob("*.png"))
