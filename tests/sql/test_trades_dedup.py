"""stg_trades: a trade loaded more than once is kept once (its first load), every trade loaded once is kept as it is
(#20: only the trade ids seen more than once are ranked; the others bypass the window)."""

from __future__ import annotations

from kalshi_lake import warehouse

from .lakegen import D, at, write_stream


def trade(tid, minutes, price, loaded_day):
    return {
        "trade_id": tid,
        "ticker": "KXD-X",
        "count_fp": D(1),
        "yes_price_dollars": D(price),
        "no_price_dollars": 1 - D(price),
        "taker_outcome_side": "yes",
        "taker_book_side": None,
        "created_time": at(minutes),
        "is_block_trade": False,
        "_loaded_at": at(days=loaded_day),
    }


def test_repeated_ids_keep_their_first_load_and_single_ids_pass(tmp_path):
    root = tmp_path / "lake"
    write_stream(root, "trades", [trade("a", 1, ".40", 3), trade("b", 2, ".50", 3)], run_id="late")
    write_stream(root, "trades", [trade("a", 1, ".40", 2), trade("c", 3, ".60", 2)], run_id="early")
    write_stream(root, "trades", [trade("a", 1, ".40", 4)], run_id="later")
    con = warehouse.build_in_memory(root, run_tests=True)
    try:
        rows = con.execute(
            "select trade_id, _run_id, taker_book_side, trade_source from stg_trades order by trade_id"
        ).fetchall()
    finally:
        con.close()
    assert rows == [
        ("a", "early", "bid", "rest"),
        ("b", "late", "bid", "rest"),
        ("c", "early", "bid", "rest"),
    ]
