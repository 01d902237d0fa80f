"""fct_effective_spreads finds the quote prevailing at each of a trade's four instants (the trade, +1 min, +5 min,
+1 h) with hash joins on time buckets that adapt to each hour's quote density (macros.sql lookup_width()). This
checks every lookup against a plain reference — the latest quote at or before the instant — on timelines built to
hit the buckets' edges: a burst of hundreds of quotes inside one minute (narrow buckets), several quotes within
one second, quotes and lookups exactly on hour and bucket boundaries, one quote held for many hours, a sparse
market (regions of many hours, lookups days after its last quote), lookups before a market's first quote, and a
market with no quote at all.

The maximum mid age is set far beyond the data so every lookup that finds a quote is 'matched' and reports its
age: the age pins down which quote was found, to the second, and the mid which one among quotes of one second.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from datetime import timedelta
from decimal import Decimal

import duckdb
import pytest

from kalshi_lake import warehouse

from .lakegen import T0, at, book, trade, write_stream

HORIZONS = {"": 0, "_1m": 60, "_5m": 300, "_1h": 3600}


def quote_instants(rng: random.Random) -> dict[str, list[float]]:
    """Quote instants (minutes after T0, an hour boundary) per ticker, distinct within a ticker."""
    dense = [60 + rng.random() for _ in range(300)]  # 300 quotes inside 13:00-13:01
    dense += [61 + 0.5 / 60 + k / 600_000 for k in range(20)]  # 20 quotes inside one second of 13:01
    dense += [0, 30, 59.999, 120, 125, 240]  # on and near the hour boundaries, then a 115-minute gap
    dense += [rng.uniform(0, 300) for _ in range(200)]  # scattered over five hours
    return {
        "DENSE": sorted(set(dense)),
        "HELD": [10.0],  # one quote, held for hours: every later lookup finds it
        # about one quote in ten hours over 20 days: regions of many hours, lookups days after the last quote
        "SPARSE": sorted({rng.uniform(0, 20 * 1440) for _ in range(48)}),
    }


def lookup_minutes(rng: random.Random, ticker: str) -> list[float]:
    if ticker == "SPARSE":
        return [rng.uniform(-600, 25 * 1440) for _ in range(300)]
    base = [
        -5,
        0,
        9.999,
        10,
        30,
        59,
        59.5,
        60,
        60.5,
        61 + 0.5 / 60,
        61.01,
        120,
        124,
        179,
        180,
        239.99,
        300,
        400,
    ]
    return base + [rng.uniform(-10, 420) for _ in range(300)]


def build(tmp_path, rng):
    quotes = quote_instants(rng)
    mids = {}  # (ticker, minutes) -> mid
    books = []
    for ticker, instants in quotes.items():
        for m in instants:
            bid = Decimal(rng.randint(5, 90)) / 100
            ask = bid + Decimal(rng.randint(1, 8)) / 100
            mids[ticker, m] = (bid + ask) / 2
            books += book(ticker, m, yes=[(str(bid), 5)], no=[(str(1 - ask), 5)])
    trades = [
        trade(f"{ticker}-{i}", ticker, m, "0.50")
        for ticker in ("DENSE", "HELD", "SPARSE", "NOQUOTE")
        for i, m in enumerate(lookup_minutes(rng, ticker))
    ]
    root = tmp_path / "lake"
    write_stream(root, "orderbook_snapshots", books)
    write_stream(root, "trades", trades)
    con = duckdb.connect()
    con.execute("set variable max_mid_age_seconds = 100000000")
    result = warehouse.build_on(con, str(root))
    assert result.ok, str(result)
    return con, quotes, mids, trades


def reference(quotes, mids, ticker, when):
    """(mid, age in whole seconds) of the latest quote at or before `when`, or (None, None)."""
    instants = quotes.get(ticker, [])
    exact = [at(m) for m in instants]
    i = bisect_right(exact, when)
    if i == 0:
        return None, None
    return mids[ticker, instants[i - 1]], int((when - exact[i - 1]).total_seconds() // 1)


@pytest.mark.parametrize("seed", [1, 2])
def test_every_lookup_finds_the_latest_quote_at_or_before_its_instant(tmp_path, seed):
    rng = random.Random(seed)
    con, quotes, mids, trades = build(tmp_path, rng)
    columns = ", ".join(f"mid{h}_dollars, mid{h}_age_seconds" for h in HORIZONS)
    got = {
        r[0]: r[1:]
        for r in con.execute(f"select trade_id, mid_status, {columns} from fct_effective_spreads").fetchall()
    }
    assert len(got) == len(trades)
    for t in trades:
        expected = []
        for seconds in HORIZONS.values():
            mid, age = reference(quotes, mids, t["ticker"], t["created_time"] + timedelta(seconds=seconds))
            expected += [mid, age]
        status = "matched" if expected[0] is not None else "no_quote"
        assert got[t["trade_id"]] == (status, *expected), (t["trade_id"], t["created_time"] - T0)


def test_quote_source_codes_round_trip_and_an_unknown_source_fails():
    con = duckdb.connect()
    con.execute((warehouse.SQL_DIR / "macros.sql").read_text())
    for source in ("ws_book", "orderbook", "market", "candle"):
        assert con.execute("select quote_source_name(quote_source_code(?))", [source]).fetchone()[0] == source
    assert con.execute("select quote_source_code(null), quote_source_name(null)").fetchone() == (None, None)
    with pytest.raises(duckdb.Error, match="unknown quote source: tape"):
        con.execute("select quote_source_code('tape')").fetchall()
