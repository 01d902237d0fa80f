"""fct_pnl_daily has every calendar day, and marks prefer the newer of a quote and a trade (#15, defects 3 and 4).

Market D1 (account default), by hand:
  11-20 12:00 buy 2 YES @0.40 (fee .02); 12:30 order book yes .48 / no .48 -> mid (.48 + .52) / 2 = .50
  11-22 10:00 a trade at .80 (newer than the mid)
  11-23 12:00 sell 1 @0.70 (fee .01): realized 1 x .30 = .30; 1 @.40 stays open
  11-24 09:00 a trade at .60; market snapshot 11-24 12:00 (last price .60) is the lake's latest observation
Day rows (marks at the next midnight UTC; age = midnight - mark time):
  11-20 mid .50 (age 11.5 h = 41400 s): unrealized 2 x .10 = .20, net -.02, mtm .18
  11-21 no activity (was missing): same mid (age 35.5 h = 127800 s), mtm .18
  11-22 trade .80 at 10:00 beats the older mid (age 14 h = 50400 s): unrealized 2 x .40 = .80, mtm .78
  11-23 realized .30, fees .01 -> cumulative net .27; trade .80 (age 38 h = 136800 s): unrealized .40, mtm .67
  11-24 the position is open and the market traded that day: trade .60 (age 15 h = 54000 s): unrealized .20, mtm .47
fct_pnl: mark = last trade .60 (not the 4-day-old mid .50), as of 11-24 09:00, age 3 h to the lake's end (10800 s);
unrealized 1 x .20 = .20.
"""

from __future__ import annotations

from datetime import timedelta

from kalshi_lake import warehouse

from .lakegen import D, at, book, fill, market, write_stream


def trade(trade_id, ticker, price, when):
    return {
        "trade_id": trade_id,
        "ticker": ticker,
        "count_fp": D(1),
        "yes_price_dollars": D(price),
        "no_price_dollars": 1 - D(price),
        "taker_outcome_side": "yes",
        "taker_book_side": "bid",
        "created_time": when,
    }


def build(root):
    h = timedelta(hours=1)
    write_stream(
        root,
        "fills",
        [
            fill("d1", "D1", "bid", 2, "0.40", "0.02", 0),
            fill("d2", "D1", "ask", 1, "0.70", "0.01", 0, created_time=at(days=3), ts=at(days=3)),
        ],
    )
    write_stream(root, "orderbook_snapshots", book("D1", 30, yes=[("0.48", 5)], no=[("0.48", 5)]))
    write_stream(
        root,
        "trades",
        [trade("t1", "D1", "0.80", at(days=2) - 2 * h), trade("t2", "D1", "0.60", at(days=4) - 3 * h)],
    )
    write_stream(
        root, "markets", [market("D1", "EV-D1", last_price_dollars=D("0.60"), _loaded_at=at(days=4))]
    )
    return warehouse.build_in_memory(root, run_tests=True)


def test_every_calendar_day_with_marks_source_and_age(tmp_path):
    con = build(tmp_path / "lake")
    rows = con.execute(
        "select pnl_date::varchar, fill_count, realized_pnl_dollars, fees_dollars, cumulative_net_pnl_dollars, "
        "unrealized_pnl_dollars, mtm_pnl_dollars, mark_sources, max_mark_age_seconds, unmarked_lots "
        "from fct_pnl_daily order by pnl_date"
    ).fetchall()
    assert rows == [
        ("2026-11-20", 1, D(0), D("0.02"), D("-0.02"), D("0.20"), D("0.18"), "mid", 41400, 0),
        ("2026-11-21", 0, D(0), D(0), D("-0.02"), D("0.20"), D("0.18"), "mid", 127800, 0),
        ("2026-11-22", 0, D(0), D(0), D("-0.02"), D("0.80"), D("0.78"), "last_trade", 50400, 0),
        ("2026-11-23", 1, D("0.30"), D("0.01"), D("0.27"), D("0.40"), D("0.67"), "last_trade", 136800, 0),
        ("2026-11-24", 0, D(0), D(0), D("0.27"), D("0.20"), D("0.47"), "last_trade", 54000, 0),
    ]


def test_a_later_trade_beats_an_older_mid_and_the_mark_age_is_exposed(tmp_path):
    con = build(tmp_path / "lake")
    assert con.execute(
        "select mark_price_dollars, mark_source, mark_as_of, mark_age_seconds, unrealized_pnl_dollars from fct_pnl"
    ).fetchone() == (D("0.60"), "last_trade", at(days=4) - timedelta(hours=3), 10800, D("0.20"))


def test_the_midnight_trade_mark_is_the_latest_priced_instant_and_its_highest_trade_id(tmp_path):
    """Two trades at one instant (the higher trade_id marks, whatever the order they were landed in) and a later
    trade without a price (it marks nothing, nor lends its time): day 11-21 is marked at .75, 14 h old."""
    root = tmp_path / "lake"
    h = timedelta(hours=1)
    write_stream(root, "fills", [fill("e1", "E1", "bid", 1, "0.40", "0.00", 0)])
    unpriced = {
        **trade("z", "E1", "0.99", at(days=1) - h),
        "yes_price_dollars": None,
        "no_price_dollars": None,
    }
    write_stream(
        root,
        "trades",
        [trade("b", "E1", "0.75", at(days=1) - 2 * h), trade("a", "E1", "0.70", at(days=1) - 2 * h)],
    )
    write_stream(root, "trades", [trade("a9", "E1", "0.72", at(days=1) - 2 * h), unpriced], run_id="r2")
    write_stream(root, "markets", [market("E1", "EV-E1", _loaded_at=at(days=1))])
    con = warehouse.build_in_memory(root)  # (test_trades_sane names the trade without a price)
    assert con.execute(
        "select unrealized_pnl_dollars, mark_sources, max_mark_age_seconds from fct_pnl_daily "
        "where pnl_date = date '2026-11-21'"
    ).fetchone() == (D("0.35"), "last_trade", 14 * 3600)
