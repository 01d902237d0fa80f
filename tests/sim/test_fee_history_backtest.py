"""The backtester's time-correct fees against the local exchange's own charges: trade across a series fee change
and an event's fee-free override, land the lake, and price every real fill with the schedule the backtester
builds from it. Each fill matches the exchange to the $0.0001 unless it is flagged as priced on assumed terms."""

from __future__ import annotations

from decimal import Decimal

from kalshi_extract.api.client import KalshiClient
from kalshi_extract.ingest.pull import Selection, pull
from kalshi_extract.lake.store import Lake
from kalshi_extract.settings import Settings
from kalshi_lake.backtest.data import load_replay_data
from kalshi_lake.backtest.money import contracts_to_centi, dollars_to_micros, units_to_dollars
from tests.sim.test_fee_changes import _open_market, _take

STREAMS = ["series", "events", "markets", "series_fee_changes", "event_fee_changes", "fills"]


def test_backtest_fees_match_the_exchange_across_fee_changes(fresh_exchange, tmp_path):
    ex = fresh_exchange
    acct = ex.create_account(balance_cents=1_000_000)
    settings = Settings.load(environ=dict(acct.env, KALSHI_LAKE_DIR=str(tmp_path)))
    lake = Lake.from_settings(settings)
    sel = Selection(series=["KXHIGHNY"])
    with KalshiClient(settings) as c:
        promo = c.get("/events/fee_changes")["event_fee_changes"][0]["event_ticker"]
        assert pull(c, lake, STREAMS, sel).ok  # the series row seen before its change
        _take(c, _open_market(c, skip=promo))  # origin: x1
        ex.advance(13 * 3600)
        _take(c, _open_market(c, promo))  # the promo override: free
        _take(c, _open_market(c, skip=promo))  # x1
        ex.advance(14 * 3600)
        _take(c, _open_market(c, skip=promo))  # x0.5
        _take(c, _open_market(c, promo))  # still free
        ex.advance(10 * 3600)
        _take(c, _open_market(c, promo))  # override cleared: x0.5
        res = pull(c, lake, STREAMS, sel)
        assert res.ok, [(s.stream, s.error) for s in res.streams]

    data = load_replay_data(str(lake.root), series=["KXHIGHNY"], include_books=False, include_candles=False)
    index = data.index
    fills = lake.read("fills").to_pylist()
    assert len(fills) == 6
    priced = []
    for f in sorted(fills, key=lambda f: f["created_time"]):
        sched = data.fees[index[f["ticker"]]]
        ts = int(f["created_time"].timestamp()) * 1_000_000 + f["created_time"].microsecond
        units = sched.fee_units(
            contracts_to_centi(f["count_fp"]), dollars_to_micros(f["yes_price_dollars"]), f["is_taker"], ts
        )
        priced.append((units_to_dollars(units), f["fee_cost"], sched.terms_at(ts).source))
    # the two fills before the series' change on an event without override history: no landed row shows the terms
    # then in force (the lake's _loaded_at is this machine's clock, the local exchange's clock is simulated), so
    # today's x0.5 stands in for the exchange's x1 -- flagged; every other fill matches the exchange exactly
    assert [src for *_, src in priced] == [
        "current_assumed",
        "history",  # the promo override (whole: quadratic x 0)
        "current_assumed",
        "no_change_listed",  # the series' change; the event lists none
        "history",
        "history",  # the override cleared: the series' change
    ]
    for ours, theirs, src in priced:
        if src == "current_assumed":
            assert ours < theirs  # the assumption understates these fees: which is why each fill says so
        else:
            assert ours == theirs
    assert sum(Decimal(t) == 0 for _, t, _ in priced) == 2  # the two promo fills were free
