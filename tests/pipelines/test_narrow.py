"""`status`, `sql` and the demo's tables in an 80-column terminal: numbers, dates and tickers never fold or get
cut, money is exact without padding zeros, and a query result too wide for a table becomes one record per block."""

from __future__ import annotations

import os
import re
from decimal import Decimal

import pytest
from rich.console import Console
from typer.testing import CliRunner

from kalshi_lake.cli import app

TICKER = "KXFEDDECISION-26NOV25-H25"


@pytest.fixture
def lake_dir(tmp_path, monkeypatch):
    for key in list(os.environ):
        if key.startswith("KALSHI_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("KALSHI_LAKE_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "data"


def _run(args: list[str], columns: int = 80):
    result = CliRunner().invoke(app, args, env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, f"{args}: {result.output}\n{result.exception!r}"
    return result.stdout


def _stream(name: str, rows: int, **extra) -> dict:
    base = {
        "stream": name,
        "rows": rows,
        "first": "2026-11-03",
        "last": "2026-11-24",
        "gaps": [],
        "last_run_age": "2m ago",
        "last_outcome": "ok",
        "failed_since_ok": 0,
        "freshness": "2m ago",
        "range_start": "2026-11-03T12:01:10+00:00",
        "range_end": "2026-11-24T22:58:37+00:00",
    }
    return base | extra


def test_status_at_80_columns_keeps_counts_and_dates_whole(lake_dir, monkeypatch):
    import kalshi_extract.ingest.status

    report = {
        "lake": str(lake_dir / "lake"),
        "streams": [
            _stream("orderbook_snapshots", 40829),
            _stream("candlesticks", 11834, last_outcome="failed", failed_since_ok=3),
        ],
    }
    monkeypatch.setattr(
        kalshi_extract.ingest.status, "lake_status", lambda settings, **kw: {**report, "schema_drift": []}
    )
    out = _run(["status"])
    assert all(len(line) <= 80 for line in out.splitlines())
    assert "40,829" in out and "11,834" in out and "orderbook_snapshots" in out
    assert out.count("2026-11-03") == 2 and out.count("2026-11-24") == 2
    assert "failed ×3" in out
    assert "…" not in out
    assert "fresh left out" in out  # named, not silently cut
    wide = _run(["status"], columns=120)
    assert "fresh" in wide and "left out" not in wide


@pytest.fixture
def warehouse(lake_dir):
    import duckdb

    lake_dir.mkdir(parents=True)
    con = duckdb.connect(str(lake_dir / "kalshi.duckdb"))
    money = ", ".join(
        f"cast({v} as decimal(18,6)) as m{i}_dollars" for i, v in enumerate(["0.001", "-9.74", "0.2495"])
    )
    con.execute(
        f"""create table wide as select 'demo-c8f523d6' as account, '{TICKER}' as ticker,
        cast(5 as decimal(18,2)) as position_fp, {money}, 40829 as trade_count,
        timestamptz '2026-11-24 21:10:00.387987+00' as settled_time, 'fills' as pnl_source,
        cast(null as varchar) as mark_source, true as settled, 'KXFEDDECISION-26NOV25' as event_ticker,
        'KXFEDDECISION' as series_ticker, cast(1.9 as decimal(18,6)) as yes_notional_dollars"""
    )
    con.execute(
        "create table narrow as select * from (values ('A', cast(0.12 as decimal(18,6))), "
        "('B', cast(0.0014 as decimal(18,6)))) t(ticker, price_dollars)"
    )
    con.close()
    return lake_dir / "kalshi.duckdb"


def test_sql_too_wide_for_a_table_prints_one_record_per_block(warehouse):
    out = _run(["sql", "select * from wide"])
    assert "one record per block" in out and "--format csv" in out
    lines = out.splitlines()
    assert "-[ record 1 ]" in out
    fields = dict(re.match(r"^(\w+):\s*(.*)$", ln).groups() for ln in lines if re.match(r"^\w+:", ln))
    assert fields["ticker"] == TICKER
    assert (
        fields["m0_dollars"] == "0.001"
        and fields["m1_dollars"] == "-9.74"
        and fields["m2_dollars"] == "0.2495"
    )
    assert fields["position_fp"] == "5"
    assert fields["trade_count"] == "40,829"
    assert fields["settled_time"] == "2026-11-24 21:10:00.387987"  # UTC, as the title says
    assert fields["mark_source"] == "" and fields["settled"] == "true"
    assert "times in UTC" in out


def test_sql_that_fits_is_a_table_with_exact_aligned_money(warehouse):
    out = _run(["sql", "select * from narrow order by ticker"])
    assert "record" not in out
    assert out.splitlines()[0].startswith("2 rows")
    assert re.search(r"A\s+0\.1200\s*$", out, re.M) and re.search(r"B\s+0\.0014\s*$", out, re.M)
    assert "0.120000" not in out


def test_sql_empty_result_and_limit(warehouse):
    assert _run(["sql", "select * from narrow where false"]).startswith(
        "0 rows; columns: ticker, price_dollars"
    )
    out = _run(["sql", "select * from narrow", "--limit", "1"])
    assert "first 1 of 2 rows (--limit 0 for all)" in out


def test_sql_wide_table_at_a_wide_terminal_stays_a_table(warehouse):
    out = _run(["sql", "select * from wide"], columns=400)
    assert "record" not in out and TICKER in out


def test_demo_reconciliation_cells():
    from kalshi_lake.demo import _ours_vs_exchange

    assert _ours_vs_exchange(Decimal("-9.740000"), Decimal("-9.74")) == "-9.74"
    assert _ours_vs_exchange(Decimal("0.001000"), None) == "0.001"
    assert _ours_vs_exchange(Decimal("0.118300"), Decimal("0.1184")) == "0.1183 ≠ 0.1184"


def test_demo_next_steps_print_whole_commands_at_80_columns():
    from kalshi_lake.demo import _next_steps

    con = Console(width=80, record=True, force_terminal=False)
    _next_steps(con, os.path.abspath("data"), "demo-c8f523d6")
    lines = con.export_text().splitlines()
    commands = [ln.strip() for ln in lines if ln.strip().startswith("uv run")]
    assert len(commands) == 7
    assert any(c.endswith('limit 5" --format csv') for c in commands)  # the long query is not folded
    assert "uv run --with jupyterlab jupyter lab notebooks/" in commands
    assert not any(c.startswith(("jupyter", "notebooks/")) for c in commands)


def test_pull_summary_at_80_columns_keeps_stream_names_and_counts():
    from kalshi_lake.cli.data_cmd import _summary_table

    names = ["orderbook_snapshots", "exchange_status", "candlesticks", "settlements"]
    rows = [
        {
            "stream": n,
            "outcome": "ok",
            "pages": 165,
            "rows": 40829,
            "requests": 168,
            "retries": 0,
            "throttled": 0,
            "seconds": 3.03,
        }
        for n in names
    ]
    rows[-1] |= {"outcome": "failed", "rows": 0}
    con = Console(width=80, record=True, force_terminal=False)
    con.print(_summary_table(rows, con.width))
    out = con.export_text()
    assert all(n in out for n in names) and out.count("40,829") == 3 and "failed" in out
    assert "…" not in out and all(len(line) <= 80 for line in out.splitlines())
    assert "left out" in out and "retries" in out.splitlines()[0]  # named in the title, not silently cut


def test_sql_with_long_names_but_short_values_stays_a_table(warehouse):
    query = "select ticker, position_fp, m1_dollars as realized_pnl_dollars, m2_dollars as fees_dollars, "
    query += "m0_dollars as total_pnl_dollars from wide"
    out = _run(["sql", query])
    assert "record" not in out
    assert re.search(rf"^ {TICKER}\s+5\s+-9\.74\s+0\.2495\s+0\.001\s*$", out, re.M), out
    assert "realized_" in out and "dollars" in out  # names broken after underscores, not cut
    assert all(len(line) <= 80 for line in out.splitlines())
