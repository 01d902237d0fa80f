"""The market models a pull re-observing every market rebuilds whole read no whole trade tape."""

from __future__ import annotations

import duckdb

from kalshi_lake import warehouse
from kalshi_lake.warehouse.runner import discover, references
from tests.warehouse.test_incremental import World


def test_dim_markets_first_and_last_trade_come_from_the_daily_rows_not_every_trade(tmp_path):
    models = {m.name: m for m in discover(warehouse.SQL_DIR)}
    # dim_markets is rebuilt whole on every pull (every market observed again): reading stg_trades made each
    # top-up scan every trade of the lake
    assert "stg_trades" not in references(models["dim_markets"], set(models))
    assert "fct_market_daily" in references(models["dim_markets"], set(models))
    root = tmp_path / "lake"
    world = World(root, seed=9)
    world.top_up(0)
    world.top_up(2 * 1440)  # late trades for earlier days too
    db = str(tmp_path / "w.duckdb")
    assert warehouse.build(root.parent, db_path=db).ok
    with duckdb.connect(db, read_only=True) as con:
        differ = con.execute(
            "select count(*) from dim_markets as d full join (select ticker, min(created_time) as f, "
            "max(created_time) as l from stg_trades group by ticker) as t on t.ticker = d.ticker "
            "where d.first_trade_time is distinct from t.f or d.last_trade_time is distinct from t.l"
        ).fetchone()[0]
        assert differ == 0
        assert con.execute("select count(first_trade_time) from dim_markets").fetchone()[0] > 0
