"""Invariants of the simulated world: trades ↔ candlesticks ↔ market volume, uncrossed books, every fill has a
counterparty, and balance + positions + settlements reconcile to the micro-dollar for every account."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

D = Decimal


def _ts(s: str) -> int:
    return int(dt.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1_000_000)


def _all(c, path, key, params=None):
    return [row for body in c.pages(path, key, params, 1000) for row in body[key]]


def test_trade_pages_are_newest_first_without_gaps(scenario):
    c = scenario.anon
    big = _all(c, "/markets/trades", "trades")
    small = [t for body in c.pages("/markets/trades", "trades", None, 97) for t in body["trades"]]
    assert [t["trade_id"] for t in big] == [t["trade_id"] for t in small]
    assert len({t["trade_id"] for t in big}) == len(big)
    times = [_ts(t["created_time"]) for t in big]
    assert times == sorted(times, reverse=True)
    cutoff = _ts(c.get_json("/historical/cutoff")["trades_created_ts"])
    hist = _all(c, "/historical/trades", "trades")
    assert hist and all(_ts(t["created_time"]) < cutoff for t in hist)
    assert all(_ts(t["created_time"]) >= cutoff for t in big)
    assert not {t["trade_id"] for t in hist} & {t["trade_id"] for t in big}


def _candles(c, path, start, end, period):
    """All candles in [start, end], fetched in windows of at most 4000 candles (the server caps 5000)."""
    step = 4000 * period * 60
    out = []
    lo = start
    while lo <= end:
        hi = min(lo + step - 1, end)
        body = c.get_json(path, {"start_ts": lo, "end_ts": hi, "period_interval": period})
        out += body["candlesticks"]
        lo = hi + 1
    return {"candlesticks": out}


def test_trades_candlesticks_and_market_volume_agree(scenario):
    c = scenario.anon
    trades = _all(c, "/markets/trades", "trades") + _all(c, "/historical/trades", "trades")
    by_ticker = defaultdict(list)
    for t in trades:
        by_ticker[t["ticker"]].append(t)
    live = {m["ticker"]: m for m in _all(c, "/markets", "markets")}
    hist = {m["ticker"]: m for m in _all(c, "/historical/markets", "markets")}
    markets = {**live, **hist}
    assert not set(live) & set(hist)
    checked = 0
    for ticker, rows in sorted(by_ticker.items(), key=lambda kv: -len(kv[1]))[:12]:
        m = markets[ticker]
        vol = sum(D(t["count_fp"]) for t in rows)
        assert vol == D(m["volume_fp"]), ticker
        assert m["last_price_dollars"] == max(rows, key=lambda t: _ts(t["created_time"]))["yes_price_dollars"]
        start = _ts(m["open_time"]) // 1_000_000
        end = _ts(m["close_time"]) // 1_000_000
        for period in (1, 60, 1440):
            if ticker in hist:
                body = _candles(
                    c, f"/historical/markets/{ticker}/candlesticks", start, end + 86_400 * 2, period
                )
                vols = [D(x["volume"]) for x in body["candlesticks"]]
                closes = [(x["end_period_ts"], x["price"]["close"]) for x in body["candlesticks"]]
                oi = body["candlesticks"][-1]["open_interest"]
            else:
                series = m["event_ticker"].split("-")[0]
                body = _candles(
                    c, f"/series/{series}/markets/{ticker}/candlesticks", start, end + 86_400 * 2, period
                )
                vols = [D(x["volume_fp"]) for x in body["candlesticks"]]
                closes = [(x["end_period_ts"], x["price"].get("close_dollars")) for x in body["candlesticks"]]
                oi = body["candlesticks"][-1]["open_interest_fp"]
            assert sum(vols) == vol, (ticker, period)
            assert oi == m["open_interest_fp"], (ticker, period)
            ends = [e for e, _ in closes]
            assert ends == sorted(ends) and len(set(ends)) == len(ends)
            if period == 1440:
                for e in ends:  # daily candles end at midnight US/Eastern
                    local = dt.datetime.fromtimestamp(e, dt.UTC).astimezone(
                        __import__("zoneinfo").ZoneInfo("America/New_York")
                    )
                    assert (local.hour, local.minute) == (0, 0), e
            if period == 60:
                for e, close in closes:
                    inside = [
                        t
                        for t in rows
                        if e * 1_000_000 - 3_600_000_000 < _ts(t["created_time"]) <= e * 1_000_000
                    ]
                    if inside:
                        assert close == max(inside, key=lambda t: _ts(t["created_time"]))["yes_price_dollars"]
                    else:
                        assert close is None
        checked += 1
    assert checked >= 5


def test_books_never_cross_and_match_the_market(scenario):
    c = scenario.anon
    for m in _all(c, "/markets", "markets", {"status": "open"}):
        book = c.get_json(f"/markets/{m['ticker']}/orderbook")["orderbook_fp"]
        yes = [D(p) for p, _ in book["yes_dollars"]]
        no = [D(p) for p, _ in book["no_dollars"]]
        assert yes == sorted(yes) and no == sorted(no)
        best_yes = max(yes, default=D(0))
        best_no = max(no, default=D(0))
        assert best_yes + best_no < 1, m["ticker"]
        assert D(m["yes_bid_dollars"]) == best_yes
        assert D(m["yes_ask_dollars"]) == (1 - best_no if no else 1)
        assert D(m["no_bid_dollars"]) == 1 - D(m["yes_ask_dollars"])
        assert D(m["no_ask_dollars"]) == 1 - D(m["yes_bid_dollars"])


def _fills(c):
    return _all(c, "/portfolio/fills", "fills") + _all(c, "/historical/fills", "fills")


def test_every_fill_has_a_counterparty(scenario):
    c = scenario.anon
    trades = {
        t["trade_id"]: t
        for t in _all(c, "/markets/trades", "trades") + _all(c, "/historical/trades", "trades")
    }
    fills_a, fills_b = _fills(scenario.a), _fills(scenario.b)
    assert fills_a and fills_b
    for f in fills_a + fills_b:
        t = trades[f["trade_id"]]
        assert (t["ticker"], t["count_fp"], t["yes_price_dollars"]) == (
            f["ticker"],
            f["count_fp"],
            f["yes_price_dollars"],
        )
        if f["is_taker"]:
            assert t["taker_book_side"] == f["book_side"]
        else:
            assert t["taker_book_side"] != f["book_side"]
    a_ids = {f["trade_id"]: f for f in fills_a}
    shared = [f for f in fills_b if f["trade_id"] in a_ids]
    assert shared, "the scenario has user-to-user trades"
    for f in shared:
        g = a_ids[f["trade_id"]]
        assert f["book_side"] != g["book_side"] and f["is_taker"] != g["is_taker"]


def _replay(fills, settlements):
    """Independent FIFO replay of an account's fills (CONTRACTS.md conventions); returns per-market state."""
    state = defaultdict(lambda: {"lots": [], "cash": D(0), "fees": D(0), "realized": D(0), "pos": D(0)})
    for f in sorted(fills, key=lambda f: (_ts(f["created_time"]), f["fill_id"])):
        s = state[f["ticker"]]
        n, p = D(f["count_fp"]), D(f["yes_price_dollars"])
        sign = 1 if f["book_side"] == "bid" else -1
        s["cash"] -= n * p if sign > 0 else n * (1 - p)
        s["fees"] += D(f["fee_cost"])
        left = n
        while left and s["lots"] and (s["lots"][0][0] > 0) != (sign > 0):
            lot = s["lots"][0]
            x = min(left, abs(lot[0]))
            s["realized"] += x * (lot[1] - p) if sign > 0 else x * (p - lot[1])
            lot[0] += x * sign
            s["cash"] += x
            left -= x
            if lot[0] == 0:
                s["lots"].pop(0)
        if left:
            s["lots"].append([sign * left, p])
        s["pos"] += sign * n
    return state


def test_balance_positions_and_settlements_reconcile(scenario):
    for c, start in ((scenario.a, D(5000)), (scenario.b, D(5000))):
        fills = _fills(c)
        settlements = _all(c, "/portfolio/settlements", "settlements")
        positions = _all(c, "/portfolio/positions", "market_positions") + _all(
            c, "/historical/positions", "market_positions"
        )
        pos = {p["ticker"]: p for p in positions}
        state = _replay(fills, settlements)
        assert set(pos) == set(state)
        revenue = D(0)
        for s in settlements:
            st = state[s["ticker"]]
            value = D(s["value"]) / 100
            payout = sum(c * value if c > 0 else -c * (1 - value) for c, _ in st["lots"])
            assert D(s["revenue"]) == (payout * 100).to_integral_value(rounding="ROUND_FLOOR"), s["ticker"]
            assert D(s["yes_count_fp"]) == sum(c for c, _ in st["lots"] if c > 0)
            assert D(s["no_count_fp"]) == sum(-c for c, _ in st["lots"] if c < 0)
            assert D(s["fee_cost"]) == st["fees"]
            st["realized"] += sum(c * (value - p) if c > 0 else -c * (p - value) for c, p in st["lots"])
            st["lots"] = []
            st["settled"] = True
            revenue += payout
        for ticker, st in state.items():
            p = pos[ticker]
            assert D(p["fees_paid_dollars"]) == st["fees"], ticker
            assert D(p["realized_pnl_dollars"]) == st["realized"], ticker
            open_net = sum(c for c, _ in st["lots"])
            assert D(p["position_fp"]) == open_net, ticker
            exposure = sum(c * q if c > 0 else -c * (1 - q) for c, q in st["lots"])
            assert D(p["market_exposure_dollars"]) == exposure, ticker
        cash = sum(st["cash"] for st in state.values())
        fees = sum(st["fees"] for st in state.values())
        expected = start + cash + revenue - fees
        bal = c.get_json("/portfolio/balance")
        assert D(bal["balance_dollars"]) == expected.quantize(D("0.0001"), rounding="ROUND_DOWN")
        assert bal["balance"] == int((expected * 100).to_integral_value(rounding="ROUND_FLOOR"))
        realized = sum(D(p["realized_pnl_dollars"]) for p in positions)
        unrealized_cost = sum(D(p["market_exposure_dollars"]) for p in positions)
        assert expected == start + realized - fees - unrealized_cost
        assert settlements, "the scenario settles markets the accounts traded"
