"""Candlesticks (live, batch and historical) computed from the trade tape and the quote history.

A candle ending at ``end_period_ts`` covers trades with ``end − period < t ≤ end``. Minute and hour
candles end on UTC multiples of the period; daily candles end at midnight US/Eastern (DST aware). Candles
run from the market's open to its close (or now), no-trade periods included: their ``price`` object is
``{}`` before the first trade and ``{"previous_dollars": …}`` after, as in the production recording.
Historical candlesticks use the historical field names (``open``/``volume``/``open_interest``…).
"""

from __future__ import annotations

import bisect
import datetime as dt
from zoneinfo import ZoneInfo

from kalshi_sim import fmt
from kalshi_sim.http import bad, dumps, not_found
from kalshi_sim.views_public import market_or_404

ET = ZoneInfo("America/New_York")
MAX_CANDLES = 5000
MAX_BATCH_CANDLES = 10_000


def _period_ends(period: int, lo_s: int, hi_s: int) -> list[int]:
    """Candle end times (Unix s) whose period intersects [lo_s, hi_s]."""
    if period in (1, 60):
        p = period * 60
        first = (lo_s // p + 1) * p
        last = -(-hi_s // p) * p
        return list(range(first, last + 1, p))
    d = dt.datetime.fromtimestamp(lo_s, ET).date()
    out = []
    while True:
        end = int(dt.datetime.combine(d + dt.timedelta(days=1), dt.time(0), ET).timestamp())
        if end > lo_s:
            out.append(end)
        if end >= hi_s:
            return out
        d += dt.timedelta(days=1)


def _period_start(period: int, end: int) -> int:
    if period in (1, 60):
        return end - period * 60
    d = dt.datetime.fromtimestamp(end - 1, ET).date()
    return int(dt.datetime.combine(d, dt.time(0), ET).timestamp())


def _params(q):
    start = q.int("start_ts")
    end = q.int("end_ts")
    period = q.int("period_interval")
    if start is None or end is None or period is None:
        raise bad("start_ts, end_ts and period_interval are required")
    if period not in (1, 60, 1440):
        raise bad("invalid period_interval", "period_interval must be 1, 60 or 1440 (minutes)")
    if end < start:
        raise bad("end_ts must not be before start_ts")
    return start, end, period


def _candles(ex, m, start: int, end: int, period: int, latest_before: bool, historical: bool) -> list:
    s = ex.tape.series[m.idx]
    tape = ex.tape
    hi = min(m.close_us, ex.now_us) // 1_000_000
    lo = m.open_us // 1_000_000
    ends = [e for e in _period_ends(period, lo, hi) if start <= e <= end]
    if latest_before:
        before = [e for e in _period_ends(period, lo, min(hi, start)) if e < start]
        if before:
            ends.insert(0, before[-1])
    if len(ends) > MAX_CANDLES:
        raise bad("too many candlesticks requested", f"at most {MAX_CANDLES} per request; narrow the window")
    out = []
    for e in ends:
        b_us = _period_start(period, e) * 1_000_000
        e_us = e * 1_000_000
        a = bisect.bisect_right(s.trade_ts, b_us)
        z = bisect.bisect_right(s.trade_ts, e_us)
        ob, oa = s.quote_at(b_us)
        cb, ca = s.quote_at(e_us)
        qa = bisect.bisect_right(s.q_ts, b_us)
        qz = bisect.bisect_right(s.q_ts, e_us)
        bids = list(s.q_bid[qa:qz]) + [ob]
        asks = list(s.q_ask[qa:qz]) + [oa]
        yes_bid = (ob, min(bids), max(bids), cb)
        yes_ask = (oa, min(asks), max(asks), ca)
        prev = tape.price[s.trade_idx[a - 1]] if a > 0 else None
        vol = (s.cumvol[z - 1] if z else 0) - (s.cumvol[a - 1] if a else 0)
        oi = s.oi[z - 1] if z else 0
        price = None
        if z > a:
            idx = s.trade_idx[a:z]
            prices = [tape.price[i] for i in idx]
            counts = [tape.count[i] for i in idx]
            tot = sum(p * c for p, c in zip(prices, counts, strict=True))
            mean, r = divmod(tot, vol)
            if 2 * r >= vol:
                mean += 1
            price = (prices[0], min(prices), max(prices), prices[-1], mean)
        out.append(
            _hist_candle(e, yes_bid, yes_ask, price, prev, vol, oi)
            if historical
            else _candle(e, yes_bid, yes_ask, price, prev, vol, oi)
        )
    return out


def _ohlc(v, suffix: str) -> dict:
    o, lo, hi, c = v
    return {
        f"open{suffix}": fmt.d4(o),
        f"low{suffix}": fmt.d4(lo),
        f"high{suffix}": fmt.d4(hi),
        f"close{suffix}": fmt.d4(c),
    }


def _candle(e, yes_bid, yes_ask, price, prev, vol, oi) -> dict:
    p: dict = {}
    if price is not None:
        o, lo, hi, c, mean = price
        p = {
            "open_dollars": fmt.d4(o),
            "low_dollars": fmt.d4(lo),
            "high_dollars": fmt.d4(hi),
            "close_dollars": fmt.d4(c),
            "mean_dollars": fmt.d4(mean),
        }
    if prev is not None:
        p["previous_dollars"] = fmt.d4(prev)
    return {
        "end_period_ts": e,
        "yes_bid": _ohlc(yes_bid, "_dollars"),
        "yes_ask": _ohlc(yes_ask, "_dollars"),
        "price": p,
        "volume_fp": fmt.fp(vol),
        "open_interest_fp": fmt.fp(oi),
    }


def _hist_candle(e, yes_bid, yes_ask, price, prev, vol, oi) -> dict:
    if price is not None:
        o, lo, hi, c, mean = price
        p = {
            "open": fmt.d4(o),
            "low": fmt.d4(lo),
            "high": fmt.d4(hi),
            "close": fmt.d4(c),
            "mean": fmt.d4(mean),
        }
    else:
        p = {"open": None, "low": None, "high": None, "close": None, "mean": None}
    p["previous"] = fmt.d4(prev) if prev is not None else None
    return {
        "end_period_ts": e,
        "yes_bid": _ohlc(yes_bid, ""),
        "yes_ask": _ohlc(yes_ask, ""),
        "price": p,
        "volume": fmt.fp(vol),
        "open_interest": fmt.fp(oi),
    }


def candlesticks(api, req):
    ex = api.ex
    start, end, period = _params(req.q)
    m = market_or_404(ex, req.params["ticker"], False)
    if m.series_ticker != req.params["series_ticker"]:
        raise not_found("market")
    rows = _candles(ex, m, start, end, period, req.q.bool("include_latest_before_start"), False)
    return dumps({"ticker": m.ticker, "candlesticks": rows})


def historical_candlesticks(api, req):
    ex = api.ex
    start, end, period = _params(req.q)
    m = market_or_404(ex, req.params["ticker"], True)
    return dumps({"ticker": m.ticker, "candlesticks": _candles(ex, m, start, end, period, False, True)})


def candlesticks_batch(api, req):
    ex = api.ex
    tickers = req.q.all("market_tickers")
    if not tickers:
        raise bad("market_tickers is required")
    if len(tickers) > 100:
        raise bad("too many market_tickers", "at most 100 tickers per request")
    start, end, period = _params(req.q)
    latest = req.q.bool("include_latest_before_start")
    out, total = [], 0
    for t in tickers:
        m = market_or_404(ex, t, False)
        rows = _candles(ex, m, start, end, period, latest, False)
        total += len(rows)
        if total > MAX_BATCH_CANDLES:
            raise bad("too many candlesticks requested", f"at most {MAX_BATCH_CANDLES} candles per batch")
        out.append({"market_ticker": m.ticker, "candlesticks": rows})
    return dumps({"markets": out})


def event_candlesticks(api, req):
    """Candles of every (live) market of an event; ``adjusted_end_ts`` is end_ts unless the total would pass
    the cap, in which case the window is shortened to fit."""
    ex = api.ex
    start, end, period = _params(req.q)
    ev = ex.events_by_ticker.get(req.params["ticker"])
    if ev is None or ev.series_ticker != req.params["series_ticker"] or ev.created_us > ex.now_us:
        raise not_found("event")
    markets = [m for m in ev.markets if not ex.is_historical_market(m)]
    per_market = max(1, MAX_CANDLES // max(len(markets), 1))
    adjusted = end
    ends = _period_ends(period, max(start, min((m.open_us for m in ev.markets), default=0) // 1_000_000), end)
    ends = [e for e in ends if start <= e <= end]
    if len(ends) > per_market:
        adjusted = ends[per_market - 1]
    rows = [_candles(ex, m, start, adjusted, period, False, False) for m in markets]
    return dumps(
        {
            "market_tickers": [m.ticker for m in markets],
            "market_candlesticks": rows,
            "adjusted_end_ts": adjusted,
        }
    )
