"""int_market_marks: the last trade is the latest priced instant's highest trade_id (a trade without a price or a
time is never the last trade), the latest mid the most recently current one (the better source at one instant);
and top-ups that land unpriced trades after the last priced one build the marks, and fct_pnl_daily's midnight marks,
as a full build does (both carry each market's last priced trade)."""

from __future__ import annotations

from kalshi_lake import warehouse

from .lakegen import D, at, book, fill, market, trade, write_stream

MARKS = "select ticker, mark_price_dollars, mark_source, mark_as_of, mid_source from int_market_marks order by ticker"
DAILY = "select * from fct_pnl_daily order by all"


def _marks(root, sql=MARKS):
    con = warehouse.build_in_memory(root)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_the_last_trade_is_the_latest_priced_instant_and_its_highest_trade_id(tmp_path):
    root = tmp_path / "lake"
    write_stream(root, "markets", [market("M1", "E1", last_price_dollars=None), market("M2", "E1")])
    unpriced = {**trade("z9", "M1", 20, ".50"), "yes_price_dollars": None, "no_price_dollars": None}
    timeless = {**trade("z8", "M1", 0, ".99"), "created_time": None}
    write_stream(
        root,
        "trades",
        [
            trade("b1", "M1", 10, ".40"),
            trade("a1", "M1", 10, ".45"),
            trade("a0", "M1", 5, ".30"),
            unpriced,
            timeless,
        ],
    )
    # M2: a REST book at minute 10 and one at minute 30; a trade at 30 ties the later book: the mid wins the tie
    write_stream(root, "orderbook_snapshots", book("M2", 10, yes=[(".20", 1)], no=[(".70", 1)]))
    write_stream(root, "orderbook_snapshots", book("M2", 30, yes=[(".30", 1)], no=[(".60", 1)]), run_id="r2")
    write_stream(root, "trades", [trade("c1", "M2", 30, ".90")], run_id="r2")
    marks = dict((r[0], r[1:]) for r in _marks(root))
    assert marks["M1"] == (D(".40"), "last_trade", at(10), None)
    assert marks["M2"] == (D(".35"), "mid", at(30), "orderbook")


def test_a_top_up_with_an_unpriced_trade_after_the_last_priced_one_builds_as_a_full_build(tmp_path):
    root = tmp_path / "lake"
    write_stream(root, "markets", [market("M1", "E1"), market("M2", "E1")])
    write_stream(root, "trades", [trade("a1", "M1", 10, ".40")])
    write_stream(
        root, "fills", [fill("f1", "M1", "bid", 1, "0.30", "0.00", 5)]
    )  # held: marked every midnight
    db = str(tmp_path / "w.duckdb")
    warehouse.build(root.parent, db_path=db, run_tests=False)  # (test_trades_sane names the unpriced trade)
    # the next pull: an unpriced trade (carried as the market's last row before a later window) ...
    unpriced = {**trade("z9", "M1", 60 * 26, ".50"), "yes_price_dollars": None, "no_price_dollars": None}
    write_stream(root, "trades", [unpriced], run_id="r2")
    warehouse.build(root.parent, db_path=db, run_tests=False)
    # ... and a day later another: M1's last priced trade is read from the carry alone
    later = {**trade("z8", "M1", 60 * 50, ".50"), "yes_price_dollars": None, "no_price_dollars": None}
    write_stream(root, "trades", [trade("b1", "M2", 60 * 50, ".60"), later], run_id="r3")
    result = warehouse.build(root.parent, db_path=db, run_tests=False)
    hows = {m.name: m.how for m in result.models}
    assert hows["int_market_marks"] == hows["fct_pnl_daily"] == "incremental", str(result)
    con = warehouse.connect(db)
    try:
        incremental, daily = con.execute(MARKS).fetchall(), con.execute(DAILY).fetchall()
    finally:
        con.close()
    assert incremental == _marks(root)
    assert incremental[0] == ("M1", D(".40"), "last_trade", at(10), None)
    assert daily == _marks(root, DAILY)  # the midnight marks too
    assert {r for r in _marks(root, "select mark_sources from fct_pnl_daily")} == {("last_trade",)}
