"""User orders (V2 API semantics) on top of the exchange's matching engine.

Decisions where the docs are silent (documented here, mirrored by tests):
- a duplicate ``client_order_id`` of the same account → 409 ``order_already_exists`` (whatever the state of
  the first order);
- buying power: a new order must be covered by the cash balance minus the collateral of the account's
  resting orders (a bid reserves count × price, an ask count × (1 − price)), else 400
  ``insufficient_balance``; the part of an order that closes an existing opposite position needs no cash;
- an immediate-or-cancel order that fills partly ends ``canceled``; a fill-or-kill that cannot fill
  completely is rejected with 400 ``fill_or_kill_insufficient_resting_volume`` and changes nothing;
- cancelling an order that is no longer resting → 400 ``order_not_resting``.
"""

from __future__ import annotations

from kalshi_sim import fmt, order_groups
from kalshi_sim.book import Order
from kalshi_sim.http import ApiError, bad, not_found
from kalshi_sim.world import on_grid

TIFS = ("fill_or_kill", "good_till_canceled", "immediate_or_cancel")
STPS = ("taker_at_cross", "maker")


def _need(body: dict, name: str):
    if name not in body or body[name] is None:
        raise ApiError(400, "missing_parameters", f"{name} is required", f"the request body has no {name}")
    return body[name]


def _count(value, name: str = "count", allow_zero: bool = False) -> int:
    n = fmt.parse_count(value)
    if n is None or (n <= 0 and not allow_zero):
        raise bad(f"invalid {name}", f"{name} must be a fixed-point count string with ≤ 2 decimals, > 0")
    return n


def reserved(ex, acct, sub: int | None = 0) -> int:
    """Cash held by subaccount ``sub``'s resting orders (micro-dollars)."""
    total = 0
    for o in acct.orders:
        if o.status == "resting" and (o.subaccount or 0) == (sub or 0):
            total += o.remaining * (o.price if o.side == "bid" else 10_000 - o.price)
    return total


def subaccount_of(acct, value) -> int:
    """A request's ``subaccount`` (missing = 0, the primary account), checked: an integer 0–63 the account has
    (0 or a created one); a one-line 400 otherwise."""
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 63:
        raise bad("invalid subaccount", "subaccount is 0 (primary) or 1-63")
    if value and value not in acct.subaccounts:
        raise bad("invalid subaccount", f"subaccount {value} does not exist (POST /portfolio/subaccounts)")
    return value


def _market_for(ex, ticker):
    if not isinstance(ticker, str):
        raise bad("invalid ticker")
    m = ex.market_by_ticker.get(ticker)
    if m is None or m.created_us > ex.now_us:
        raise not_found("market")
    return m


def validate_create(ex, acct, body) -> dict:
    """Check a CreateOrderV2Request; returns normalised fields. Raises ApiError, changes nothing."""
    if not isinstance(body, dict):
        raise bad("request body must be a JSON object")
    m = _market_for(ex, _need(body, "ticker"))
    side = _need(body, "side")
    if side not in ("bid", "ask"):
        raise bad("invalid side", "side must be bid (buy YES) or ask (sell YES)")
    count = _count(_need(body, "count"))
    price = fmt.parse_price(_need(body, "price"))
    if price is None or not on_grid(m.structure, price):
        raise bad("invalid price", f"price must be a dollar string on the market's tick grid ({m.structure})")
    tif = _need(body, "time_in_force")
    if tif not in TIFS:
        raise bad("invalid time_in_force", f"time_in_force must be one of {', '.join(TIFS)}")
    stp = _need(body, "self_trade_prevention_type")
    if stp not in STPS:
        raise bad("invalid self_trade_prevention_type", "use taker_at_cross or maker")
    coid = body.get("client_order_id") or ""
    if not isinstance(coid, str):
        raise bad("invalid client_order_id")
    exp = body.get("expiration_time")
    if exp is not None:
        if not isinstance(exp, int) or isinstance(exp, bool):
            raise bad("invalid expiration_time", "expiration_time is a Unix timestamp in seconds")
        if tif != "good_till_canceled":
            raise bad("invalid expiration_time", "expiration_time is only allowed with good_till_canceled")
        if exp * 1_000_000 <= ex.now_us:
            raise bad("invalid expiration_time", "expiration_time must be in the future")
    for flag in ("post_only", "reduce_only", "cancel_order_on_pause"):
        if flag in body and not isinstance(body[flag], bool):
            raise bad(f"invalid {flag}", f"{flag} must be a boolean")
    if body.get("reduce_only") and tif != "immediate_or_cancel":
        raise bad("invalid reduce_only", "reduce_only orders must be immediate_or_cancel")
    sub = subaccount_of(acct, body.get("subaccount"))
    led = acct.ledger(sub)
    if body.get("exchange_index", 0) not in (0, -1, None):
        raise bad("invalid exchange_index", "only exchange_index 0 exists")
    if ex.market_status(m) != "active":
        raise ApiError(
            400, "market_closed", "market is not open for trading", f"{m.ticker} is {ex.market_status(m)}"
        )
    if coid and coid in acct.client_ids:
        raise ApiError(
            409,
            "order_already_exists",
            "an order with this client_order_id already exists",
            f"client_order_id {coid}",
        )
    book = ex.books[m.idx]
    if body.get("post_only") and book.crosses(side, price):
        raise bad("post only order would cross", "post_only orders must not take liquidity")
    if body.get("reduce_only"):
        pos = led.positions.get(m.idx)
        net = pos.net if pos else 0
        if (side == "bid" and net >= 0) or (side == "ask" and net <= 0):
            raise bad("reduce_only order would increase the position")
        count = min(count, abs(net))
    pos = led.positions.get(m.idx)
    net = pos.net if pos and not pos.settled else 0
    closing = min(count, max(-net, 0)) if side == "bid" else min(count, max(net, 0))
    need = (count - closing) * (price if side == "bid" else 10_000 - price)  # closing legs need no cash
    # at most $0.0175 per contract of trade fee, plus what fee rounding can add on top (kalshi_sim.fees)
    fee_cap = count * 175 + acct.balance_precision
    if need + fee_cap > led.balance - reserved(ex, acct, sub):
        raise ApiError(
            400,
            "insufficient_balance",
            "insufficient balance for this order",
            f"needs {fmt.d6(need)} plus fees",
        )
    if tif == "fill_or_kill" and _fillable(ex, m.idx, side, price, acct.key_id) < count:
        raise ApiError(400, "fill_or_kill_insufficient_resting_volume", "fill-or-kill order cannot be filled")
    group = order_groups.group_for_order(ex, acct, body.get("order_group_id"), sub)
    return {
        "group": group,
        "m": m,
        "side": side,
        "count": count,
        "price": price,
        "tif": tif,
        "stp": stp,
        "coid": coid,
        "exp": exp,
        "post_only": bool(body.get("post_only")),
        "cancel_on_pause": bool(body.get("cancel_order_on_pause")),
        "sub": sub,
    }


def _fillable(ex, i: int, side: str, price: int, owner: str) -> int:
    book = ex.books[i]
    total = 0
    if side == "bid":
        for p in book.ask_prices:
            if p > price:
                break
            total += sum(o.remaining for o in book.asks[p] if o.owner != owner)
    else:
        for p in reversed(book.bid_prices):
            if p < price:
                break
            total += sum(o.remaining for o in book.bids[p] if o.owner != owner)
    return total


def create(ex, acct, f: dict) -> dict:
    """Place a validated order; returns the CreateOrderV2Response body."""
    t = ex.tick()
    m = f["m"]
    o = Order(ex.new_id(), acct.key_id, m.idx, f["side"], f["price"], f["count"], t)
    o.client_order_id = f["coid"] or ex.new_id()
    o.user_id = acct.user_id
    o.tif, o.stp = f["tif"], f["stp"]
    o.expiration_us = f["exp"] * 1_000_000 if f["exp"] else None
    o.post_only, o.cancel_on_pause = f["post_only"], f["cancel_on_pause"]
    o.subaccount = f.get("sub") or 0
    ex.orders[o.order_id] = o
    acct.orders.append(o)
    acct.client_ids[o.client_order_id] = o.order_id
    with ex.caused_by(o):
        group = f.get("group")
        held = 0
        if group is not None:  # a group caps what its orders may match (kalshi_sim.order_groups)
            o.group_id = group.id
            group.orders.append(o)
            held = max(o.remaining - group.allowance(t), 0)
            o.remaining -= held
        capped = o.remaining
        filled, cost, fee = ex._execute(o, t)
        if not (o.remaining == 0 and filled < capped):  # stopped by self-trade prevention: nothing is left
            o.remaining += held
        if group is not None and group.triggered and o.remaining:
            ex._finish_order(o, "canceled", t)  # the group hit its limit: the rest of the order is canceled
        elif o.remaining == 0:
            # fully filled → executed; stopped by self-trade prevention before filling completely → canceled
            ex._finish_order(o, "executed" if o.filled == o.initial else "canceled", t)
        elif o.tif == "good_till_canceled":
            ex.books[m.idx].add(o)
        else:
            ex._finish_order(o, "canceled", t)
        ex._touch_order(o)
        ex._quote(t, m.idx)
    return response(o, filled, cost, fee, t)


def response(o: Order, filled: int, cost: int, fee: int, t: int) -> dict:
    out = {
        "order_id": o.order_id,
        "client_order_id": o.client_order_id,
        "fill_count": fmt.fp(filled),
        "remaining_count": fmt.fp(o.remaining),
        "ts_ms": t // 1000,
    }
    if filled:
        out["average_fill_price"] = _avg(cost * 100, filled)
        out["average_fee_paid"] = _avg(fee * 100, filled)
    return out


def _avg(total_micros_x100: int, filled: int) -> str:
    """Average per contract, in dollars, from a micro-dollar total ×100 over a hundredths count."""
    q, r = divmod(total_micros_x100, filled)
    if 2 * r >= filled:
        q += 1
    return fmt.d4(q // 100) if q % 100 == 0 else fmt.d6(q)


def own_order(ex, acct, order_id: str) -> Order:
    o = ex.orders.get(order_id)
    if o is None or o.owner != acct.key_id:
        raise not_found("order")
    return o


def cancel(ex, acct, o: Order) -> dict:
    if o.status != "resting":
        raise bad_state(o)
    t = ex.tick()
    with ex.caused_by(o):
        reduced = o.remaining
        ex.books[o.market].remove(o)
        ex._finish_order(o, "canceled", t)
        ex._quote(t, o.market)
    return {
        "order_id": o.order_id,
        "client_order_id": o.client_order_id,
        "reduced_by": fmt.fp(reduced),
        "ts_ms": t // 1000,
    }


def bad_state(o: Order) -> ApiError:
    return ApiError(400, "order_not_resting", "order is not resting", f"order {o.order_id} is {o.status}")


def decrease(ex, acct, o: Order, body) -> dict:
    if not isinstance(body, dict):
        raise bad("request body must be a JSON object")
    by, to = body.get("reduce_by"), body.get("reduce_to")
    if (by is None) == (to is None):
        raise bad("exactly one of reduce_by and reduce_to is required")
    if o.status != "resting":
        raise bad_state(o)
    if by is not None:
        n = _count(by, "reduce_by")
        new_remaining = max(o.remaining - n, 0)
    else:
        new_remaining = _count(to, "reduce_to", allow_zero=True)
        if new_remaining >= o.remaining:
            raise bad("invalid reduce_to", "reduce_to must be below the remaining count")
    t = ex.tick()
    with ex.caused_by(o):
        if new_remaining == 0:
            ex.books[o.market].remove(o)
            ex._finish_order(o, "canceled", t)
        else:
            o.remaining = new_remaining
            o.updated_us = t
        ex._touch_order(o)
        ex._quote(t, o.market)
    return {
        "order_id": o.order_id,
        "client_order_id": o.client_order_id,
        "remaining_count": fmt.fp(o.remaining),
        "ts_ms": t // 1000,
    }


def amend(ex, acct, o: Order, body) -> dict:
    if not isinstance(body, dict):
        raise bad("request body must be a JSON object")
    m = ex.markets[o.market]
    if _need(body, "ticker") != m.ticker:
        raise bad("ticker does not match the order")
    if _need(body, "side") != o.side:
        raise bad("side does not match the order", "an amend cannot change the side")
    price = fmt.parse_price(_need(body, "price"))
    if price is None or not on_grid(m.structure, price):
        raise bad("invalid price", f"price must be on the market's tick grid ({m.structure})")
    total = _count(_need(body, "count"))
    if o.status != "resting":
        raise bad_state(o)
    if total <= o.filled:
        raise bad("invalid count", "count is the new total including filled contracts and must exceed it")
    new_coid = body.get("updated_client_order_id")
    if new_coid and new_coid in acct.client_ids and acct.client_ids[new_coid] != o.order_id:
        raise ApiError(409, "order_already_exists", "an order with this client_order_id already exists")
    new_remaining = total - o.filled
    extra = max(
        new_remaining * (price if o.side == "bid" else 10_000 - price)
        - o.remaining * (o.price if o.side == "bid" else 10_000 - o.price),
        0,
    )
    if extra and extra > acct.ledger(o.subaccount).balance - reserved(ex, acct, o.subaccount):
        raise ApiError(400, "insufficient_balance", "insufficient balance for this amend")
    t = ex.tick()
    if new_coid:
        acct.client_ids[new_coid] = o.order_id
        o.client_order_id = new_coid
    with ex.caused_by(o):
        book = ex.books[o.market]
        filled = cost = fee = 0
        if price == o.price and new_remaining <= o.remaining:
            o.remaining = new_remaining  # a pure decrease keeps queue priority
            o.updated_us = t
        else:
            book.remove(o)
            o.price = price
            o.remaining = new_remaining
            o.initial = total
            o.updated_us = t
            filled, cost, fee = ex._execute(o, t)
            if o.remaining == 0:
                ex._finish_order(o, "executed", t)
            else:
                book.add(o)
        ex._touch_order(o)
        ex._quote(t, o.market)
    out = {
        "order_id": o.order_id,
        "client_order_id": o.client_order_id,
        "remaining_count": fmt.fp(o.remaining),
        "fill_count": fmt.fp(o.filled),
        "ts_ms": t // 1000,
    }
    if filled:
        out["average_fill_price"] = _avg(cost * 100, filled)
        out["average_fee_paid"] = _avg(fee * 100, filled)
    return out


def cancel_all(ex, acct) -> None:
    t = ex.tick()
    for o in acct.orders:
        if o.status == "resting":
            with ex.caused_by(o):
                ex.books[o.market].remove(o)
                ex._finish_order(o, "canceled", t)
                ex._quote(t, o.market)
