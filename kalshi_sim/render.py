"""JSON objects of the API, built from the exchange state (keys as the real API sends them in 2026-11).

Field choices follow v3.31 where it differs from the stored v3.21 spec: no integer-cent legacy fields,
no ``liquidity_dollars`` / ``fractional_trading_enabled`` / ``response_price_units`` (removed 2026-07/10),
no ``resting_orders_count`` on positions, no ``available_on_brokers`` on events, ``exchange_index`` present.
The deprecated direction fields the production recordings still carry (``taker_side`` on trades,
``side``/``action`` on fills and orders) are kept, as recorded: a V2 ``bid`` shows ``side: yes, action:
buy``, an ``ask`` ``side: yes, action: sell`` (the demo recording of an ask order). Optional order fields
(``expiration_time``, ``cancel_order_on_pause``) are omitted when empty, as recorded.

Settlements: one per market in which the account held or traded a position when it settled (a position
closed before settlement still gets a record with zero counts and revenue 0); ``fee_cost`` is the total of
the trading fees paid in that market ("Total fees paid" in the spec), ``revenue``/``value`` integer cents.
``portfolio_value`` on the balance marks open positions at the market's last price.
"""

from __future__ import annotations

import bisect

from kalshi_sim import fmt
from kalshi_sim.fees import number
from kalshi_sim.world import DAY, PRICE_RANGES, MarketDef


def series_json(ex, s, include_volume: bool = False) -> dict:
    fee_type, mult = ex.fees.series_terms(s.ticker, ex.now_us)  # the terms in effect now (kalshi_sim.fees)
    out = {
        "ticker": s.ticker,
        "frequency": s.frequency,
        "title": s.title,
        "category": s.category,
        "tags": list(s.tags),
        "settlement_sources": [{"name": s.source_name, "url": s.source_url}],
        "contract_url": f"https://kalshi.com/contracts/{s.ticker.lower()}",
        "contract_terms_url": f"https://kalshi.com/docs/terms/{s.ticker.lower()}.pdf",
        "fee_type": fee_type,
        "fee_multiplier": number(mult),
        "additional_prohibitions": [],
        "last_updated_ts": fmt.ts(s.created_us),
        "exchange_index": 0,
    }
    if include_volume:
        vol = sum(ex.tape.series[m.idx].volume for m in ex.markets if m.series_ticker == s.ticker)
        out["volume_fp"] = fmt.fp(vol)
    return out


def event_status(ex, ev) -> str:
    st = {ex.market_status(m) for m in ev.markets}
    if st <= {"initialized"}:
        return "unopened"
    if "active" in st or "initialized" in st:
        return "open"
    if st <= {"finalized"}:
        return "settled"
    return "closed"


def event_json(ex, ev, nested: list | None = None) -> dict:
    s = ex.series_by_ticker[ev.series_ticker]
    out = {
        "event_ticker": ev.event_ticker,
        "series_ticker": ev.series_ticker,
        "title": ev.title,
        "sub_title": ev.sub_title,
        "collateral_return_type": "MECNET" if ev.mutually_exclusive else "",
        "mutually_exclusive": ev.mutually_exclusive,
        "category": s.category,
        "strike_date": fmt.ts(ev.strike_us),
        "last_updated_ts": fmt.ts(event_updated_us(ex, ev)),
        "exchange_index": 0,
    }
    if ev.strike_period:  # omitted when empty, like the other optional fields
        out["strike_period"] = ev.strike_period
    o_type, o_mult = ex.fees.event_override(ev.event_ticker, ex.now_us)
    if o_type is not None or o_mult is not None:  # x-omitempty: present only while an override is in effect
        out["fee_type_override"] = o_type
        out["fee_multiplier_override"] = number(o_mult)
    if nested is not None:
        out["markets"] = nested
    return out


def event_updated_us(ex, ev) -> int:
    return max(ex.market_updated_us(m) for m in ev.markets) if ev.markets else ev.created_us


def market_json(ex, m: MarketDef) -> dict:
    now = ex.now_us
    i = m.idx
    status = ex.market_status(m)
    series = ex.tape.series[i]
    book = ex.books[i]
    if status == "active":
        bid, ask = book.best_bid(), book.best_ask()
        bid_size = book.size_at("bid", bid) if bid else 0
        ask_size = book.size_at("ask", ask) if ask < 10_000 else 0
    else:
        bid, ask, bid_size, ask_size = 0, 10_000, 0, 0
    day_ago = now - DAY
    k = bisect.bisect_right(series.trade_ts, day_ago)
    vol_24h = series.volume - (series.cumvol[k - 1] if k > 0 else 0)
    prev_price = ex.tape.price[series.trade_idx[k - 1]] if k > 0 else 0
    pb, pa = series.quote_at(day_ago)
    if not len(series.q_ts) or series.q_ts[0] > day_ago:
        pb = pa = 0
    determined = status in ("determined", "finalized")
    out = {
        "ticker": m.ticker,
        "event_ticker": m.event_ticker,
        "market_type": m.market_type,
        "title": m.title,
        "yes_sub_title": m.yes_sub_title,
        "no_sub_title": m.no_sub_title,
        "created_time": fmt.ts(m.created_us),
        "updated_time": fmt.ts(ex.market_updated_us(m)),
        "open_time": fmt.ts(m.open_us),
        "close_time": fmt.ts(m.close_us),
        "expected_expiration_time": fmt.ts(m.expected_exp_us),
        "expiration_time": fmt.ts(m.latest_exp_us),
        "latest_expiration_time": fmt.ts(m.latest_exp_us),
        "settlement_timer_seconds": m.settlement_timer,
        "status": status,
        "yes_bid_dollars": fmt.d4(bid),
        "yes_bid_size_fp": fmt.fp(bid_size),
        "yes_ask_dollars": fmt.d4(ask),
        "yes_ask_size_fp": fmt.fp(ask_size),
        "no_bid_dollars": fmt.d4(10_000 - ask),
        "no_ask_dollars": fmt.d4(10_000 - bid),
        "last_price_dollars": fmt.d4(series.last_price),
        "previous_yes_bid_dollars": fmt.d4(pb),
        "previous_yes_ask_dollars": fmt.d4(pa),
        "previous_price_dollars": fmt.d4(prev_price),
        "volume_fp": fmt.fp(series.volume),
        "volume_24h_fp": fmt.fp(vol_24h),
        "open_interest_fp": fmt.fp(ex.long_oi[i]),
        "notional_value_dollars": "1.0000",
        "result": m.result if determined else "",
        "can_close_early": True,
        "expiration_value": m.expiration_value if determined else "",
        "settlement_bounds_type": "default",
        "early_close_condition": m.early_close_condition,
        "strike_type": m.strike_type,
        "rules_primary": m.rules_primary,
        "rules_secondary": m.rules_secondary,
        "price_level_structure": m.structure,
        "price_ranges": PRICE_RANGES[m.structure],
        "occurrence_datetime": fmt.ts(ex.event_of[i].strike_us),
        "exchange_index": 0,
    }
    if m.floor_strike is not None:
        out["floor_strike"] = _num(m.floor_strike)
    if m.cap_strike is not None:
        out["cap_strike"] = _num(m.cap_strike)
    if determined:
        out["settlement_value_dollars"] = fmt.d4(m.settle_pips)
    if status == "finalized":
        out["settlement_ts"] = fmt.ts(m.settle_us)
    if m.mve:
        out["mve_collection_ticker"] = m.mve["mve_collection_ticker"]
        out["mve_selected_legs"] = [_leg_json(ex, leg) for leg in m.mve["mve_selected_legs"]]
        out["custom_strike"] = m.mve["custom_strike"]
        out["is_provisional"] = True  # a combo made on request: removable after determination if never traded
    return out


def _leg_json(ex, leg: dict) -> dict:
    """A combo's selected leg; ``yes_settlement_value_dollars`` only once the leg's market is determined."""
    lm = ex.market_by_ticker[leg["market_ticker"]]
    if ex.market_status(lm) not in ("determined", "finalized"):
        return dict(leg)
    return {**leg, "yes_settlement_value_dollars": fmt.d4(lm.settle_pips)}


def _num(v: float):
    """A strike as the API writes it: 85, 3.5 (never 85.0)."""
    return int(v) if float(v).is_integer() else v


def order_json(ex, o) -> dict:
    m = ex.markets[o.market]
    yes = o.side == "bid"
    out = {
        "order_id": o.order_id,
        "user_id": o.user_id,
        "client_order_id": o.client_order_id,
        "ticker": m.ticker,
        "side": "yes",
        "action": "buy" if yes else "sell",
        "outcome_side": "yes" if yes else "no",
        "book_side": o.side,
        "type": "limit",
        "status": o.status,
        "yes_price_dollars": fmt.d4(o.price),
        "no_price_dollars": fmt.d4(10_000 - o.price),
        "fill_count_fp": fmt.fp(o.filled),
        "remaining_count_fp": fmt.fp(o.remaining),
        "initial_count_fp": fmt.fp(o.initial),
        "taker_fill_cost_dollars": fmt.d6(o.taker_cost),
        "maker_fill_cost_dollars": fmt.d6(o.maker_cost),
        "taker_fees_dollars": fmt.d6(o.taker_fees),
        "maker_fees_dollars": fmt.d6(o.maker_fees),
        "created_time": fmt.ts(o.created_us),
        "last_update_time": fmt.ts(o.updated_us),
        "self_trade_prevention_type": o.stp,
        **({"order_group_id": o.group_id} if o.group_id else {}),
        "subaccount_number": o.subaccount,
        "exchange_index": 0,
    }
    # optional fields are omitted when empty, as in the recorded production responses
    if o.expiration_us:
        out["expiration_time"] = fmt.ts(o.expiration_us)
    if o.cancel_on_pause:
        out["cancel_order_on_pause"] = True
    return out


def fill_json(ex, f: dict) -> dict:
    m = ex.markets[f["market"]]
    yes = f["side"] == "bid"
    t = f["t"]
    return {
        "fill_id": f["fill_id"],
        "trade_id": f["fill_id"],
        "order_id": f["order_id"],
        "ticker": m.ticker,
        "market_ticker": m.ticker,
        "side": "yes",
        "action": "buy" if yes else "sell",
        "outcome_side": "yes" if yes else "no",
        "book_side": f["side"],
        "count_fp": fmt.fp(f["count"]),
        "yes_price_dollars": fmt.d4(f["price"]),
        "no_price_dollars": fmt.d4(10_000 - f["price"]),
        "is_taker": f["is_taker"],
        "created_time": fmt.ts(t),
        "fee_cost": fmt.d6(f["fee"]),
        "subaccount_number": f.get("sub", 0),
        "ts": t // 1_000_000,
        "exchange_index": 0,
    }


def settlement_json(ex, s: dict) -> dict:
    m = ex.markets[s["market"]]
    return {
        "ticker": m.ticker,
        "event_ticker": m.event_ticker,
        "market_result": m.result,
        "yes_count_fp": fmt.fp(s["yes_count"]),
        "yes_total_cost_dollars": fmt.d6(s["yes_cost"]),
        "no_count_fp": fmt.fp(s["no_count"]),
        "no_total_cost_dollars": fmt.d6(s["no_cost"]),
        "revenue": s["revenue_cents"],
        "settled_time": fmt.ts(s["t"]),
        "fee_cost": fmt.d6(s["fee"]),
        "value": m.settle_pips // 100,
        "exchange_index": 0,
    }


def position_json(ex, i: int, pos) -> dict:
    return {
        "ticker": ex.markets[i].ticker,
        "total_traded_dollars": fmt.d6(pos.traded),
        "position_fp": fmt.fp(pos.net),
        "market_exposure_dollars": fmt.d6(pos.exposure()),
        "realized_pnl_dollars": fmt.d6(pos.realized),
        "fees_paid_dollars": fmt.d6(pos.fees),
        "last_updated_ts": fmt.ts(pos.last_updated_us),
        "exchange_index": 0,
    }


def event_position_json(ex, event_ticker: str, items: list) -> dict:
    exposure = sum(p.exposure() for _, p in items)
    return {
        "event_ticker": event_ticker,
        "total_cost_dollars": fmt.d6(exposure),
        "total_cost_shares_fp": fmt.fp(sum(abs(p.net) for _, p in items)),
        "event_exposure_dollars": fmt.d6(exposure),
        "realized_pnl_dollars": fmt.d6(sum(p.realized for _, p in items)),
        "fees_paid_dollars": fmt.d6(sum(p.fees for _, p in items)),
    }
