"""A market resolved void before its settlement record arrives is marked at cost in the daily marts, and says so.

Market V4, by hand: 11-20 12:00 buy 2 YES @.30 (fee .02); 11-20 12:30 book yes .48 / no .48 -> mid .50.
11-21 06:00 the market is seen `determined`, result `void` (no settlement record yet, not finalized: not settled).
11-22 00:30 a last book (mid .50) keeps the held market's days going to 11-22.
Day rows (marks at the next midnight UTC):
  11-20 mid .50 (age 11.5 h = 41400 s): unrealized 2 x .20 = .40, mtm .38
  11-21 void seen at 06:00: marked at cost, 'void_at_cost', unrealized 0 (before the fix: the mid, .40), age 18 h
  11-22 the same, age 42 h = 151200 s; mtm -.02
fct_pnl: not settled, mark_source 'void', unrealized 0; fct_pnl_attribution: the open lot is a void lot, P&L -.02.
"""

from __future__ import annotations

from kalshi_lake import warehouse

from .lakegen import D, book, fill, market, write_stream


def test_void_not_yet_paid_is_marked_at_cost(tmp_path):
    root = tmp_path / "lake"
    write_stream(root, "fills", [fill("v1", "V4", "bid", 2, "0.30", "0.02", 0)])
    write_stream(
        root,
        "orderbook_snapshots",
        book("V4", 30, yes=[("0.48", 5)], no=[("0.48", 5)])
        + book("V4", 36 * 60 + 30, yes=[("0.48", 5)], no=[("0.48", 5)]),
    )
    write_stream(
        root,
        "markets",
        [
            market("V4", "EV-V4", minutes=-60),
            market("V4", "EV-V4", status="determined", result="void", minutes=18 * 60),
        ],
    )
    con = warehouse.build_in_memory(root, run_tests=True)
    assert con.execute(
        "select pnl_date::varchar, unrealized_pnl_dollars, mtm_pnl_dollars, mark_sources, max_mark_age_seconds, "
        "unmarked_lots from fct_pnl_daily order by pnl_date"
    ).fetchall() == [
        ("2026-11-20", D("0.40"), D("0.38"), "mid", 41400, 0),
        ("2026-11-21", D(0), D("-0.02"), "void_at_cost", 64800, 0),
        ("2026-11-22", D(0), D("-0.02"), "void_at_cost", 151200, 0),
    ]
    assert con.execute(
        "select settled, is_void, mark_source, unrealized_pnl_dollars, total_pnl_dollars from fct_pnl"
    ).fetchone() == (False, True, "void", D(0), D("-0.02"))
    assert con.execute(
        "select value_source, void_lots, unattributed_pnl_dollars, total_pnl_dollars from fct_pnl_attribution"
    ).fetchone() == ("void", 1, D(0), D("-0.02"))
