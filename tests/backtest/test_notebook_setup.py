"""`kalshi_lake.notebook`: the setup the notebooks share (find the lake, open the warehouse or build it in memory)."""

from __future__ import annotations

import duckdb
import pytest

from kalshi_lake import warehouse
from kalshi_lake.notebook import lake_dir_for, open_warehouse
from tests.backtest.lakegen import synthetic_lake


def test_lake_dir_for_finds_the_repo_root_lake_from_notebooks(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    monkeypatch.setenv("KALSHI_LAKE_DIR", "data")
    assert lake_dir_for() == tmp_path / "data"  # settings' relative dir, found one level up
    assert lake_dir_for(tmp_path / "elsewhere") == tmp_path / "elsewhere"  # an explicit dir is taken as given
    (tmp_path / "notebooks" / "data").mkdir()
    assert lake_dir_for().resolve() == (tmp_path / "notebooks" / "data").resolve()  # here wins over one up


def test_open_warehouse_builds_in_memory_then_opens_the_built_file_read_only(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KALSHI_LAKE_DIR", raising=False)
    synthetic_lake(tmp_path / "lake", n_markets=4, n_trades=300, days=2)
    count = "select count(*) from stg_trades"

    con = open_warehouse(tmp_path)
    assert capsys.readouterr().out == f"warehouse: in memory over {tmp_path / 'lake'}\n"
    trades = con.execute(count).fetchone()[0]
    con.close()
    assert trades == 300

    warehouse.build(str(tmp_path), run_tests=False)
    con = open_warehouse(tmp_path)
    assert capsys.readouterr().out == f"warehouse: {tmp_path / 'kalshi.duckdb'}\n"
    assert con.execute(count).fetchone()[0] == trades
    with pytest.raises(duckdb.Error):
        con.execute("create table scratch (x int)")
    con.close()
