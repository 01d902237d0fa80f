"""dim_markets and the calibration marts against hand-computed rows (#15 defect 6).

Every market closes at day 8 (minute 11520) and opens at minute 0, so the horizons are read at
7d -> minute 1440, 24h -> minute 10080, 1h -> minute 11460; 'open' at each market's first trade or mid.

Event KXC-E (mutually exclusive): A settles YES, B and C NO. Event KXC-F (mutually exclusive): D settles YES; N
settles YES, never trades and opens at day 7.5 (7d and 24h fall before its open: no as_of). Event KXC-G: S is a
scalar market settling at 0.25 (kept apart). O is still open (priced, not calibrated).

Prices (minute: price) and the one read at each horizon:
  A  10:.30  1380:.38  10079:.60  11400:.80  11519:.97 (after 1h)   open .30 | 7d .38 | 24h .60 | 1h .92
     order book 10075 (mid .55, 5 min old at 10080: stale, the trade .60 of 60 s before wins)
     order book 11459.5 (bid .90 / ask .94: mid .92, 30 s old at 11460: fresh, beats the trade .80)
  B  20:.50  1430:.35  10000:.30  11450:.08                         open .50 | 7d .35 | 24h .28 | 1h .08
     WebSocket book from 10000 (mid .28) until the recorder stops at 10100: current at 24h, not at 1h
  C  30:.20  1439:.20  10070:.05  11455:.05                         open .20 | 7d .20 | 24h .05 | 1h .05
  D  5:.60   1000:.70  10080:.995 11459:.95                         open .60 | 7d .70 | 24h .995 | 1h .95
  S  100:.40 1440:.30  10000:.20  11000:.25                         (scalar)

Binary 7d: bucket 3 = {A .38 o1, B .35 o0} (2 markets, 1 event), bucket 2 = {C .20 o0}, bucket 7 = {D .70 o1}.
  Brier (.62^2 + .35^2 + .2^2 + .3^2) / 4 = .159225 = REL .0416125 - RES .125 + UNC .25 + WBV .0001125
  - 2 WBC .00375 (the two within-bin terms are non-zero in bucket 3).
Binary 1h: bucket 0 = {C .05, B .08} (1 event), bucket 9 = {A .92, D .95} (2 events); Brier .00445
  = REL .004225 - RES .25 + UNC .25 + WBV .000225.
Sums of YES prices in event E: 7d .93, 24h .93, 1h 1.05; event F is never fully priced (N): no sum.
"""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from kalshi_lake import warehouse

from .lakegen import D, at, book, coverage, market, write_stream, ws_snapshot

CLOSE = at(days=8)
OPEN = at(0)


def trade(tid, ticker, minutes, price):
    return {
        "trade_id": tid,
        "ticker": ticker,
        "count_fp": D(1),
        "yes_price_dollars": D(price),
        "no_price_dollars": 1 - D(price),
        "taker_outcome_side": "yes",
        "taker_book_side": "bid",
        "created_time": at(minutes),
        "is_block_trade": False,
    }


PRICES = {
    "A": [(10, ".30"), (1380, ".38"), (10079, ".60"), (11400, ".80"), (11519, ".97")],
    "B": [(20, ".50"), (1430, ".35"), (10000, ".30"), (11450, ".08")],
    "C": [(30, ".20"), (1439, ".20"), (10070, ".05"), (11455, ".05")],
    "D": [(5, ".60"), (1000, ".70"), (10080, ".995"), (11459, ".95")],
    "S": [(100, ".40"), (1440, ".30"), (10000, ".20"), (11000, ".25")],
    "O": [(50, ".50")],
}


def mk(name, event, **kw):
    kw.setdefault("open_time", OPEN)
    return market(f"KXC-{name}", f"KXC-{event}", close_time=CLOSE, **kw)


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    root = tmp_path_factory.mktemp("calib") / "lake"
    series = {
        "ticker": "KXC",
        "title": "C",
        "category": "Weather",
        "fee_type": "quadratic",
        "fee_multiplier": D(1),
    }
    write_stream(root, "series", [series])
    write_stream(
        root,
        "events",
        [
            {"event_ticker": "KXC-E", "series_ticker": "KXC", "title": "E", "mutually_exclusive": True},
            {"event_ticker": "KXC-F", "series_ticker": "KXC", "title": "F", "mutually_exclusive": True},
            {"event_ticker": "KXC-G", "series_ticker": "KXC", "title": "G", "mutually_exclusive": False},
        ],
    )
    write_stream(
        root,
        "markets",
        [
            mk("A", "E", status="finalized", result="yes", settlement_value_dollars=D(1)),
            mk("B", "E", status="finalized", result="no"),
            mk("C", "E", status="determined", result="no"),
            mk("D", "F", status="finalized", result="yes"),
            mk("N", "F", status="finalized", result="yes", open_time=at(days=7.5)),
            mk("S", "G", status="finalized", market_type="scalar", settlement_value_dollars=D("0.25")),
            mk("O", "G", status="active"),
            # an older observation of A: stg_markets keeps the latest row only
            mk("A", "E", status="active", minutes=-60),
        ],
    )
    write_stream(
        root,
        "trades",
        [trade(f"{n}{i}", f"KXC-{n}", m, p) for n, ps in PRICES.items() for i, (m, p) in enumerate(ps)],
    )
    write_stream(
        root,
        "orderbook_snapshots",
        book("KXC-A", 10075, yes=[("0.50", 5)], no=[("0.40", 5)])
        + book("KXC-A", 11459.5, yes=[("0.90", 5)], no=[("0.06", 5)]),
    )
    # B's book recorded from the WebSocket from minute 10000 (bid .26 / ask .30) until the recorder stops at 10100
    write_stream(
        root, "ws_book", ws_snapshot("KXC-B", 10000, "c1", 1, 1, yes=[("0.26", 5)], no=[("0.70", 5)])
    )
    log = [
        coverage(9999, "started"),
        coverage(9999, "connected", connection_id="c1"),
        coverage(10000, "whole", "KXC-B", "c1", 1),
        coverage(10050, "alive"),
        coverage(10090, "alive"),
        coverage(10100, "stopped"),
    ]
    write_stream(root, "ws_coverage", log)
    c = warehouse.build_in_memory(root, run_tests=True)
    yield c
    c.close()


def test_dim_markets(con):
    rows = {
        r[0]: r[1:]
        for r in con.execute(
            "select ticker, series_ticker, category, status, result, settlement_value_dollars, fee_type "
            "from dim_markets"
        ).fetchall()
    }
    assert rows["KXC-A"] == ("KXC", "Weather", "finalized", "yes", D(1), "quadratic")
    assert rows["KXC-B"][4] == D(0)  # from result when the value is absent
    assert rows["KXC-O"][2:5] == ("active", None, None)
    assert len(rows) == 7


def test_prices_at_fixed_horizons_with_source_and_age(con):
    rows = {
        (r[0], r[1]): r[2:]
        for r in con.execute(
            "select ticker, horizon, implied_probability, price_source, quote_source, price_age_seconds, as_of "
            "from fct_calibration_prices"
        ).fetchall()
    }
    assert len(rows) == 7 * 4  # every market, every horizon
    want = {
        "A": (".30", ".38", ".60", ".92"),
        "B": (".50", ".35", ".28", ".08"),
        "C": (".20", ".20", ".05", ".05"),
        "D": (".60", ".70", ".995", ".95"),
        "S": (".40", ".30", ".20", ".25"),
    }
    for name, ps in want.items():
        for h, p in zip(("open", "7d", "24h", "1h"), ps, strict=True):
            assert rows[(f"KXC-{name}", h)][0] == D(p), (name, h)
    # the fresh mid wins at 1h; the 5-minute-old mid loses to a 60 s old trade at 24h
    assert rows[("KXC-A", "1h")][1:4] == ("mid", "orderbook", D(30))
    assert rows[("KXC-A", "24h")][1:4] == ("trade", "trade", D(60))
    assert rows[("KXC-A", "7d")][1:4] == ("trade", "trade", D(3600))
    # a recorded WebSocket top is current until its book changes or stops being known: 80 min old at 24h, it wins
    # over B's trade .30 of the same minute; at 1h the recorder has stopped and the trade .08 is used
    assert rows[("KXC-B", "24h")][1:4] == ("mid", "ws_book", D(4800))
    assert rows[("KXC-B", "1h")][1:4] == ("trade", "trade", D(600))
    assert rows[("KXC-D", "24h")][2:4] == ("trade", D(0))  # a trade exactly at as_of counts
    assert rows[("KXC-A", "open")][4] == at(10) and rows[("KXC-A", "open")][3] == D(0)
    assert rows[("KXC-A", "1h")][4] == at(11460)
    # N: 7d and 24h fall before its open; at 1h and open it has no price
    for h in ("open", "7d", "24h"):
        assert rows[("KXC-N", h)][0:2] == (None, "none") and rows[("KXC-N", h)][4] is None
    assert rows[("KXC-N", "1h")][0:2] == (None, "none") and rows[("KXC-N", "1h")][4] == at(11460)


def test_calibration_markets_keeps_unpriced_and_scores(con):
    rows = {
        (r[0], r[1]): r[2:]
        for r in con.execute(
            "select ticker, horizon, market_class, outcome, bucket, squared_error, log_loss "
            "from fct_calibration_markets"
        ).fetchall()
    }
    assert {t for t, _ in rows} == {f"KXC-{n}" for n in "ABCDNS"}  # O is open: not calibrated
    assert rows[("KXC-S", "1h")][:4] == ("scalar", D("0.25"), 2, D(0))
    assert rows[("KXC-N", "1h")][2:] == (None, None, None)
    assert rows[("KXC-A", "7d")][2:4] == (3, (D(".38") - 1) ** 2)
    assert rows[("KXC-D", "24h")][4] == pytest.approx(-math.log(0.99))  # .995 clipped to .99
    assert rows[("KXC-C", "1h")][4] == pytest.approx(-math.log(0.95))


def wilson(f, n, sign):
    z = 1.96
    return (f + z * z / (2 * n) + sign * z * math.sqrt(f * (1 - f) / n + z * z / (4 * n * n))) / (
        1 + z * z / n
    )


def test_calibration_buckets_with_events_and_wilson(con):
    rows = con.execute(
        "select level, bucket, markets, events, mean_implied_probability, realized_frequency, brier_score, "
        "wilson_low, wilson_high, wilson_low_events, wilson_high_events "
        "from fct_calibration where horizon = '7d' and market_class = 'binary' order by level, bucket"
    ).fetchall()
    b3 = [r for r in rows if r[1] == 3]
    assert [r[0] for r in b3] == ["all", "category", "series"]
    r = b3[0]
    assert r[2:7] == (2, 1, D("0.365"), D("0.5"), D("0.25345"))
    q = Decimal("0.000001")
    assert r[7:9] == tuple(Decimal(wilson(0.5, 2, s)).quantize(q) for s in (-1, 1))
    assert r[9:11] == tuple(Decimal(wilson(0.5, 1, s)).quantize(q) for s in (-1, 1))
    assert [(r[1], r[2], r[3]) for r in rows if r[0] == "all"] == [(2, 1, 1), (3, 2, 1), (7, 1, 1)]
    one_h = con.execute(
        "select bucket, markets, events, brier_score from fct_calibration "
        "where horizon = '1h' and market_class = 'binary' and level = 'all' order by bucket"
    ).fetchall()
    assert one_h == [(0, 2, 1, D("0.00445")), (9, 2, 2, D("0.00445"))]
    scalar = con.execute(
        "select horizon, bucket, markets, realized_frequency, wilson_low from fct_calibration "
        "where market_class = 'scalar' and level = 'all' order by horizon"
    ).fetchall()
    assert scalar == [
        ("1h", 2, 1, D("0.25"), None),
        ("24h", 2, 1, D("0.25"), None),
        ("7d", 3, 1, D("0.25"), None),
        ("open", 4, 1, D("0.25"), None),
    ]


def test_murphy_decomposition_is_an_identity(con):
    rows = {
        r[0]: r[1:]
        for r in con.execute(
            "select horizon, markets_settled, markets_priced, markets_without_price, markets_from_mid, "
            "events_priced, brier_score, reliability, resolution, uncertainty, within_bin_variance, "
            "within_bin_covariance, log_loss from fct_calibration_summary where market_class = 'binary'"
        ).fetchall()
    }
    assert rows["7d"][:5] == (5, 4, 1, 0, 2)
    assert rows["7d"][5:11] == tuple(
        D(x) for x in ("0.159225", "0.041613", "0.125", "0.25", "0.000113", "0.00375")
    )
    assert rows["1h"][:5] == (5, 4, 1, 1, 2)
    assert rows["1h"][5:11] == tuple(D(x) for x in ("0.00445", "0.004225", "0.25", "0.25", "0.000225", "0"))
    assert rows["1h"][11] == pytest.approx(-(2 * math.log(0.95) + 2 * math.log(0.92)) / 4)
    for h, r in rows.items():
        bs, rel, res, unc, wbv, wbc = r[5:11]
        assert abs(bs - (rel - res + unc + wbv - 2 * wbc)) <= D("0.000002"), h


def test_event_sums(con):
    rows = {
        (r[0], r[1]): r[2:]
        for r in con.execute(
            "select event_ticker, horizon, markets, markets_priced, all_priced, yes_price_sum, deviation "
            "from fct_event_probability_sums"
        ).fetchall()
    }
    assert set(rows) == {(e, h) for e in ("KXC-E", "KXC-F") for h in ("7d", "24h", "1h")}
    assert rows[("KXC-E", "7d")] == (3, 3, True, D("0.93"), D("-0.07"))
    assert rows[("KXC-E", "24h")] == (3, 3, True, D("0.93"), D("-0.07"))
    assert rows[("KXC-E", "1h")] == (3, 3, True, D("1.05"), D("0.05"))
    assert rows[("KXC-F", "1h")] == (2, 1, False, None, None)


def test_event_level_view(con):
    """Event E at 7d: A .38 (YES), B .35, C .20 -> sum .93, mean .31, Brier (.62^2 + .35^2 + .2^2) / 3 = .1823;
    at 1h: A .92, B .08, C .05 -> Brier (.08^2 + .08^2 + .05^2) / 3 = .0051. Event F at 7d: D .70 priced, N not
    (counted, not scored): Brier .3^2 = .09."""
    rows = {
        (r[0], r[1]): r[2:]
        for r in con.execute(
            "select event_ticker, horizon, mutually_exclusive, markets, markets_priced, yes_outcome_sum, "
            "yes_price_sum, mean_implied_probability, brier_score from fct_calibration_events "
            "where market_class = 'binary'"
        ).fetchall()
    }
    assert rows[("KXC-E", "7d")] == (True, 3, 3, D(1), D(".93"), D(".31"), D(".1823"))
    assert rows[("KXC-E", "1h")] == (True, 3, 3, D(1), D(".93") + D(".12"), D(".35"), D(".0051"))
    assert rows[("KXC-F", "7d")] == (True, 2, 1, D(2), D(".70"), D(".70"), D(".09"))
