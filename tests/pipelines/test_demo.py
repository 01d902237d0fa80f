"""`kalshi-lake demo` end to end in a temporary directory: the real command, then the lake, the warehouse and the
printed summary; a second run in the same directory tops up without duplicating."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAKE_TRADES = "select count(*), count(distinct trade_id) from read_parquet(?)"


def _run_demo(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KALSHI_", "PREFECT_API_URL"))}
    env["COLUMNS"] = "80"  # a classic terminal: every table must still read whole
    return subprocess.run(
        [sys.executable, "-c", "from kalshi_lake.cli import main; main()", "demo", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _warehouse(path: Path):
    import duckdb

    return duckdb.connect(str(path), read_only=True)


@pytest.mark.slow
def test_demo_end_to_end_and_rerun(tmp_path):
    first = _run_demo(tmp_path)
    out = first.stdout
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    for needle in (
        "rows per stream",
        "most active markets",
        "current spreads",
        "spreads from the recorded WebSocket books",
        "✓ reconciled",
        "Next:",
        "kalshi-lake sql",
    ):
        assert needle in out, needle
    assert "✗" not in out
    # At 80 columns nothing is cut ("KXFEDDECISION-26NOV…") and money has no padding zeros ("0.001000").
    assert not re.search(r"\S…", out), re.search(r".*\S….*", out).group(0)
    assert not re.search(r"\d\.\d{6}\b", out), re.search(r".*\d\.\d{6}\b.*", out).group(0)
    assert re.search(r"realized P&L -?\$[\d,]+\.\d{2,4}\b", out)
    assert re.search(r"^ +uv run kalshi-lake sql \".*\" --format csv$", out, re.M)  # commands never fold
    assert "PRIVATE KEY" not in out + first.stderr

    lake = tmp_path / "data" / "lake"
    for stream in (
        "markets",
        "trades",
        "orderbook_snapshots",
        "fills",
        "orders",
        "positions",
        "balance",
        "settlements",
        "order_events",
        "ws_book",  # recorded from the WebSocket while the world advanced
        "ws_trades",
        "ws_coverage",
    ):
        assert list((lake / stream).glob("date=*/*.parquet")), f"no {stream} in the lake"
    db = tmp_path / "data" / "kalshi.duckdb"
    con = _warehouse(db)
    try:
        trades_1, unique_1 = con.execute(LAKE_TRADES, [str(lake / "trades" / "**" / "*.parquet")]).fetchone()
        accounts = [r[0] for r in con.execute("select distinct account from fct_pnl").fetchall()]
        bad = con.execute(
            "select count(*) from fct_pnl_reconciliation where positions_comparable and "
            "(realized_pnl_diff_dollars <> 0 or fees_diff_dollars <> 0 or position_diff_fp <> 0)"
        ).fetchone()[0]
    finally:
        con.close()
    assert trades_1 > 0 and trades_1 == unique_1
    assert len(accounts) == 1 and accounts[0].startswith("demo-")
    assert bad == 0

    second = _run_demo(tmp_path)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "✓ reconciled" in second.stdout
    con = _warehouse(db)
    try:
        trades_2, unique_2 = con.execute(LAKE_TRADES, [str(lake / "trades" / "**" / "*.parquet")]).fetchone()
        accounts_2 = [r[0] for r in con.execute("select distinct account from fct_pnl").fetchall()]
        fills, unique_fills = con.execute(
            "select count(*), count(distinct fill_id) from stg_fills"
        ).fetchone()
    finally:
        con.close()
    assert trades_2 >= trades_1 and trades_2 == unique_2  # topped up, never duplicated
    assert accounts_2 == accounts  # same seed, same demo account
    assert fills == unique_fills > 0


def test_demo_settings_are_an_object_not_the_environment(sim_account, tmp_path):
    from kalshi_extract.settings import Settings
    from kalshi_lake.demo import demo_settings

    mine = {"KALSHI_LAKE_DIR": str(tmp_path), "KALSHI_CONCURRENCY": "3", "KALSHI_TIER": "premier"}
    user = Settings.load(environ={**mine, "KALSHI_PRIVATE_KEY_PATH": "/nonexistent.pem"})
    before = dict(os.environ)
    demo = demo_settings(user, sim_account, str(tmp_path))
    assert dict(os.environ) == before
    assert demo.env == "local" and demo.base_url == sim_account.env["KALSHI_API_URL"]
    assert demo.api_key_id == sim_account.key_id and demo.private_key_path is None and demo.has_key
    assert (
        demo.account == f"demo-{sim_account.key_id[:8]}" and demo.tier == "basic" and not demo.tier_explicit
    )
    assert demo.lake_dir == str(tmp_path) and demo.concurrency == 3
    assert "PRIVATE KEY" not in repr(demo)


@pytest.mark.slow
def test_another_demo_world_in_the_same_directory_starts_afresh(tmp_path):
    first = _run_demo(tmp_path, "--size", "tiny")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    other = _run_demo(tmp_path, "--size", "tiny", "--seed", "8")
    assert other.returncode == 0, other.stdout[-3000:] + other.stderr[-3000:]
    assert "holds another demo world (seed 7, size tiny): starting afresh" in other.stdout
    assert "✓ reconciled" in other.stdout
    con = _warehouse(tmp_path / "data" / "kalshi.duckdb")
    try:
        accounts = [r[0] for r in con.execute("select distinct account from fct_pnl").fetchall()]
    finally:
        con.close()
    assert len(accounts) == 1  # only the second world's account: the worlds never mix
    again = _run_demo(tmp_path, "--size", "tiny", "--seed", "8")
    assert again.returncode == 0 and "starting afresh" not in again.stdout  # the same world tops up
