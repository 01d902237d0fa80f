"""fct_effective_spreads against the mid just before the trade, with a maximum mid age (#15, defect 1).

E1 order-book snapshots (minutes:seconds after 12:00 UTC 2026-11-20), bid / ask (= 1 - best NO bid) / mid:
  q0 00:00  .40 / .44 / .42     q1 01:00  .44 / .48 / .46     q2 05:00  .46 / .50 / .48
  q3 60:00  .50 / .52 / .51     q4 61:30  NO .48 only (ask_only)
Trades (D = +1 taker bought YES, -1 sold):
  A 00:30 buy @.44: mid q0 .42 (30 s): signed 2(.44 - .42) = .04, relative .04/.42 = .095238;
    +1m (01:30) q1 .46 (30 s): realized 2(.44 - .46) = -.04, impact 2(.46 - .42) = .08
    +5m (05:30) q2 .48 (30 s): realized -.08, impact .12
    +1h (60:30) q3 .51 (30 s): realized -.14, impact .18
  B 10:00 sell @.45: latest quote q2 is 300 s old > 60: 'stale', counted, not measured
  C 60:20 sell @.50: q3 .51 (20 s): signed -2(.50 - .51) = .02; +1m (61:20): q3 80 s old -> null
  D 62:00 buy @.52: latest quote q4 is one-sided: 'one_sided'
  Z 00:00 - 1 min buy @.50: no quote yet: 'no_quote'
With SET VARIABLE max_mid_age_seconds = 400, B is matched against q2 .48: signed -2(.45 - .48) = .06.
Daily: 5 trades, 2 with a fresh mid, 3 without; mean signed (.04 + .02) / 2 = .03; volume-weighted
(.04 x 10 + .02 x 2) / 12 = .036667; realized 1m -.04 (1 trade), impact 1m .08.
"""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pytest

from kalshi_lake import warehouse

from .lakegen import D, at, book, write_stream


def trade(tid, when, price, count, side):
    return {
        "trade_id": tid,
        "ticker": "E1",
        "count_fp": D(count),
        "yes_price_dollars": D(price),
        "no_price_dollars": 1 - D(price),
        "taker_outcome_side": "yes" if side == "bid" else "no",
        "taker_book_side": side,
        "created_time": when,
        "is_block_trade": False,
    }


def write_lake(root):
    write_stream(
        root,
        "orderbook_snapshots",
        book("E1", 0, yes=[("0.40", 5)], no=[("0.56", 5)])
        + book("E1", 1, yes=[("0.44", 5)], no=[("0.52", 5)])
        + book("E1", 5, yes=[("0.46", 5)], no=[("0.50", 5)])
        + book("E1", 60, yes=[("0.50", 5)], no=[("0.48", 5)])
        + book("E1", 61.5, no=[("0.48", 5)]),
    )
    s = timedelta(seconds=1)
    write_stream(
        root,
        "trades",
        [
            trade("A", at(0) + 30 * s, "0.44", 10, "bid"),
            trade("B", at(10), "0.45", 3, "ask"),
            trade("C", at(60) + 20 * s, "0.50", 2, "ask"),
            trade("D", at(62), "0.52", 1, "bid"),
            trade("Z", at(-1), "0.50", 1, "bid"),
        ],
    )


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    r = tmp_path_factory.mktemp("eff") / "lake"
    write_lake(r)
    return r


def test_signed_spread_against_a_fresh_mid_and_later_mids(root):
    con = warehouse.build_in_memory(root, run_tests=True)
    rows = {
        r[0]: r[1:]
        for r in con.execute(
            "select trade_id, mid_status, mid_source, mid_age_seconds, mid_dollars, signed_effective_spread_dollars, "
            "relative_effective_spread, max_mid_age_seconds from fct_effective_spreads"
        ).fetchall()
    }
    assert rows == {
        "A": ("matched", "orderbook", 30, D("0.42"), D("0.04"), D("0.095238"), 60),
        "B": ("stale", "orderbook", 300, None, None, None, 60),
        "C": ("matched", "orderbook", 20, D("0.51"), D("0.02"), D("0.039216"), 60),
        "D": ("one_sided", "orderbook", 30, None, None, None, 60),
        "Z": ("no_quote", None, None, None, None, None, 60),
    }
    a = con.execute(
        "select mid_1m_dollars, mid_1m_age_seconds, realized_spread_1m_dollars, price_impact_1m_dollars, "
        "realized_spread_5m_dollars, price_impact_5m_dollars, realized_spread_1h_dollars, price_impact_1h_dollars, "
        "mid_1h_source from fct_effective_spreads where trade_id = 'A'"
    ).fetchone()
    assert a == (
        D("0.46"),
        30,
        D("-0.04"),
        D("0.08"),
        D("-0.08"),
        D("0.12"),
        D("-0.14"),
        D("0.18"),
        "orderbook",
    )
    assert con.execute(
        "select mid_1m_dollars, realized_spread_1m_dollars from fct_effective_spreads where trade_id = 'C'"
    ).fetchone() == (None, None)
    daily = con.execute(
        "select trade_count, trades_with_mid, trades_without_fresh_mid, mean_signed_effective_spread_dollars, "
        "volume_weighted_signed_effective_spread_dollars, trades_with_mid_1m, mean_realized_spread_1m_dollars, "
        "mean_price_impact_1m_dollars from fct_effective_spreads_daily"
    ).fetchall()
    assert daily == [(5, 2, 3, D("0.03"), D("0.036667"), 1, D("-0.04"), D("0.08"))]
    # the matched mids' source and age: A's 30 s, C's 20 s
    assert con.execute(
        "select mid_sources, median_mid_age_seconds, max_mid_age_used_seconds, max_mid_age_seconds "
        "from fct_effective_spreads_daily"
    ).fetchone() == ("orderbook", 25, 30, 60)


def test_the_maximum_mid_age_is_settable_per_build(root):
    con = duckdb.connect()
    con.execute("set variable max_mid_age_seconds = 400")
    result = warehouse.build_on(con, str(root))
    assert result.ok, str(result)
    assert con.execute(
        "select mid_status, mid_dollars, signed_effective_spread_dollars, max_mid_age_seconds "
        "from fct_effective_spreads where trade_id = 'B'"
    ).fetchone() == ("matched", D("0.48"), D("0.06"), 400)


def test_a_trade_of_a_market_no_quote_names_keeps_its_ticker(tmp_path):
    """The lookups carry a market as an integer id taken from the quotes' timeline; a trade of a ticker with no
    quote at all (E1 has quotes, E2 none) keeps its ticker and is counted as 'no_quote', never dropped."""
    root = tmp_path / "lake"
    write_stream(root, "orderbook_snapshots", book("E1", 0, yes=[("0.40", 5)], no=[("0.56", 5)]))
    lone = trade("Y", at(0) + timedelta(seconds=30), "0.47", 4, "bid") | {"ticker": "E2"}
    write_stream(root, "trades", [trade("A", at(0) + timedelta(seconds=30), "0.44", 10, "bid"), lone])
    con = warehouse.build_in_memory(root, run_tests=True)
    assert con.execute(
        "select trade_id, ticker, mid_status, mid_source, mid_dollars, mid_1h_dollars, count_fp "
        "from fct_effective_spreads order by trade_id"
    ).fetchall() == [
        ("A", "E1", "matched", "orderbook", D("0.42"), None, D("10")),
        ("Y", "E2", "no_quote", None, None, None, D("4")),
    ]
