"""stg_candlesticks and stg_orderbook_snapshots: a row loaded more than once is kept once (its latest load, the
greater _run_id at a tie), every row loaded once is kept as it is (#20: only the keys seen more than once are
ranked; the others bypass the window). Null parts of a key (an empty side's level) still match."""

from __future__ import annotations

from kalshi_lake import warehouse

from .lakegen import D, at, book, write_stream


def candle(minutes, interval, bid, loaded_day, ticker="KXQ-C"):
    return {
        "ticker": ticker,
        "series_ticker": "KXQ",
        "period_interval": interval,
        "end_period_ts": at(minutes),
        "yes_bid_close_dollars": D(bid),
        "yes_ask_close_dollars": D("0.90"),
        "_loaded_at": at(days=loaded_day),
    }


def test_candles_keep_the_latest_load_of_a_repeated_key(tmp_path):
    root = tmp_path / "lake"
    write_stream(root, "candlesticks", [candle(60, 60, ".10", 2), candle(120, 60, ".20", 2)], run_id="a")
    write_stream(root, "candlesticks", [candle(60, 60, ".11", 3), candle(60, 1440, ".30", 3)], run_id="b")
    write_stream(root, "candlesticks", [candle(60, 60, ".12", 3)], run_id="c")  # same _loaded_at: greater run
    write_stream(root, "candlesticks", [candle(120, 60, ".25", 1)], run_id="d")  # an older load: loses
    con = warehouse.build_in_memory(root, run_tests=True)
    try:
        rows = con.execute(
            "select period_interval, end_period_ts, yes_bid_close_dollars, _run_id from stg_candlesticks "
            "order by end_period_ts, period_interval"
        ).fetchall()
    finally:
        con.close()
    assert rows == [
        (60, at(60), D("0.12"), "c"),
        (1440, at(60), D("0.30"), "b"),
        (60, at(120), D("0.20"), "a"),
    ]


def test_book_levels_keep_the_latest_load_and_empty_sides_dedup(tmp_path):
    root = tmp_path / "lake"
    levels = lambda loaded_day, count: [  # noqa: E731
        {**r, "_loaded_at": at(days=loaded_day)} for r in book("KXQ-B", 10, yes=[(".40", count), (".39", 5)])
    ]
    write_stream(root, "orderbook_snapshots", levels(2, 7), run_id="a")
    write_stream(root, "orderbook_snapshots", levels(3, 8), run_id="b")
    write_stream(root, "orderbook_snapshots", book("KXQ-B", 20, yes=[(".41", 3)]), run_id="c")
    con = warehouse.build_in_memory(root, run_tests=True)
    try:
        rows = con.execute(
            "select snapshot_ts, side, level, price_dollars, count_fp, _run_id from stg_orderbook_snapshots "
            "order by snapshot_ts, side, level nulls first"
        ).fetchall()
    finally:
        con.close()
    assert rows == [
        (at(10), "no", None, None, None, "b"),
        (at(10), "yes", 0, D("0.40"), D("8.00"), "b"),
        (at(10), "yes", 1, D("0.39"), D("5.00"), "b"),
        (at(20), "no", None, None, None, "c"),
        (at(20), "yes", 0, D("0.41"), D("3.00"), "c"),
    ]
