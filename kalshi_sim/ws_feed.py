"""The WebSocket feed: subscriptions, and the messages the exchange publishes to them as the world moves.

The exchange calls the feed under its lock (from whatever thread advances the clock or runs an order):
``trade`` for each print, ``fill`` for each user fill, ``order_dirty``/``position_dirty`` when a user's order
or position changed, ``lifecycle``/``event_created`` from the clock's agenda, and ``step(t, market)`` at the
end of every atomic change of a market (a background arrival, a user order action, an expiry, a close). A
step publishes the touched orders and positions, then the **book diff** of that market: the feed keeps the
last published levels of every market someone watches and sends one ``orderbook_delta`` per level that
changed. Diffing (instead of hooking every queue mutation) makes a client's snapshot + deltas equal the
engine's book after every step by construction.

Messages are serialised here (orjson, the exchange's own JSON) and handed to each connection's bounded
outbox (``kalshi_sim.ws.Conn.push``); ``seq`` is per subscription (``sid``), never per market, and only the
``orderbook_*`` messages carry it, as in the recorded frames. Exchange times (``ts``, ``ts_ms``) are the
simulated clock. Field formats follow the genuine frames in ``../shared/real-data`` (``yes_dollars_fp``,
``price_dollars``, ``delta_fp``, ``ts`` RFC3339 on deltas) and the AsyncAPI schemas elsewhere.

Subaccounts (AsyncAPI 2026-06-10): ``user_order`` always carries ``subaccount_number``; ``fill`` and
``market_position`` have an optional ``subaccount`` ("Optional subaccount number for the fill / for the
position"). A position is per subaccount (each holds its own), so a fill in subaccount 2 publishes subaccount 2's
position. Decision (no genuine private frames are recorded): ``subaccount`` is sent for a numbered subaccount
(1–63) and left out for the primary (0), as the spec words it for ``orderbook_delta`` ("present only when … using
subaccounts"), so an account without subaccounts sees the frames it always did; a reader takes a missing
``subaccount`` as 0.

Who caused a book change (AsyncAPI ``orderbook_delta``: ``client_order_id`` and ``subaccount`` "present only when
you caused this orderbook change"): the exchange marks the order whose request is changing the books
(``Exchange.caused_by``: a place, amend, decrease or cancel, the cancels of an order-group trigger or delete;
the matches of a user's taker order). Every delta of that step goes to the owner's subscriptions with the order's
``client_order_id`` (and ``subaccount`` for a numbered one), between ``side`` and ``ts``; every other subscriber
gets the same delta without them. Background flow, expiries and closes have no cause. The genuine frames
(``../shared/real-data/fortuna_demo``) were recorded by a key with no orders of its own and show neither field;
the order of the keys follows the schema.
"""

from __future__ import annotations

import hashlib

import orjson

from kalshi_sim import fmt

PUBLIC = ("ticker", "trade", "market_lifecycle_v2", "multivariate_market_lifecycle")
PRIVATE = (
    "orderbook_delta",
    "fill",
    "market_positions",
    "user_orders",
    "communications",
    "order_group_updates",
    "cfbenchmarks_value",
)
CHANNELS = PUBLIC + PRIVATE
NO_MARKET_FILTER = (
    "market_lifecycle_v2",
    "multivariate_market_lifecycle",
    "communications",
    "order_group_updates",
)
LIFECYCLE = ("market_lifecycle_v2", "multivariate_market_lifecycle")


def market_id(seed: int, ticker: str) -> str:
    """A stable UUID per market (the sim has no other market id; REST does not show one)."""
    return fmt.uuid_from_int(int.from_bytes(hashlib.sha256(f"{seed}:{ticker}".encode()).digest()[:16], "big"))


class Sub:
    """One subscription: a channel, its markets (None = all) and its sequence counter."""

    __slots__ = ("sid", "channel", "conn", "tickers", "seq", "use_yes_price", "skip_ack")

    def __init__(self, sid: int, channel: str, conn, tickers: set[str] | None, use_yes_price: bool) -> None:
        self.sid = sid
        self.channel = channel
        self.conn = conn
        self.tickers = tickers
        self.seq = 0
        self.use_yes_price = use_yes_price
        self.skip_ack = False

    def covers(self, ticker: str) -> bool:
        return self.tickers is None or ticker in self.tickers

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq


def _dump(obj) -> bytes:
    return orjson.dumps(obj)


class Feed:
    """All subscriptions of all connections, and the published state they are diffed against."""

    def __init__(self, ex) -> None:
        self.ex = ex
        self.subs: list[Sub] = []
        self.books: dict[int, tuple[dict[int, int], dict[int, int]]] = {}  # market → (bids, asks) published
        self.book_watch: dict[int, int] = {}  # market → number of orderbook subscriptions on it
        self.tickers_sent: dict[int, tuple] = {}  # market → last ticker state sent
        self.dollar_volume: dict[int, int] = {}  # market → Σ count·price (hundredths·pips), from first use
        self.dirty_orders: dict[int, object] = {}
        self.dirty_positions: dict[tuple[str, int, int], object] = {}  # (key, market, subaccount) → account
        self._ids: dict[str, str] = {}
        self.cause = None  # the order whose request is changing the books now (Exchange.caused_by)

    # -- registry (called by connections under ex.lock) -------------------------------------------
    def market_id(self, ticker: str) -> str:
        mid = self._ids.get(ticker)
        if mid is None:
            mid = self._ids[ticker] = market_id(self.ex.seed, ticker)
        return mid

    def ticker_of_id(self, mid: str) -> str | None:
        for m in self.ex.visible_markets():
            if self.market_id(m.ticker) == mid:
                return m.ticker
        return None

    def add(self, sub: Sub) -> None:
        self.subs.append(sub)
        if sub.channel == "orderbook_delta":
            for t in sub.tickers or ():
                self.watch(t)

    def remove(self, sub: Sub) -> None:
        if sub in self.subs:
            self.subs.remove(sub)
        if sub.channel == "orderbook_delta":
            for t in sub.tickers or ():
                self.unwatch(t)

    def watch(self, ticker: str) -> None:
        i = self.ex.market_by_ticker[ticker].idx
        self.book_watch[i] = self.book_watch.get(i, 0) + 1
        if i not in self.books:
            self.books[i] = self._levels(i)

    def unwatch(self, ticker: str) -> None:
        i = self.ex.market_by_ticker[ticker].idx
        n = self.book_watch.get(i, 0) - 1
        if n <= 0:
            self.book_watch.pop(i, None)
            self.books.pop(i, None)
        else:
            self.book_watch[i] = n

    def _levels(self, i: int) -> tuple[dict[int, int], dict[int, int]]:
        book = self.ex.books[i]
        return dict(book.levels("bid")), dict(book.levels("ask"))

    # -- messages for one subscription --------------------------------------------------------------
    def snapshot(self, sub: Sub, ticker: str) -> None:
        """Queue an ``orderbook_snapshot`` of ``ticker`` (the published book, equal to the engine's)."""
        i = self.ex.market_by_ticker[ticker].idx
        bids, asks = self.books[i]
        msg = {"market_ticker": ticker, "market_id": self.market_id(ticker)}
        if bids:
            msg["yes_dollars_fp"] = [[fmt.d4(p), fmt.fp(c)] for p, c in sorted(bids.items())]
        if asks:
            if sub.use_yes_price:
                no = sorted(asks.items())
            else:
                no = sorted((10_000 - p, c) for p, c in asks.items())
            msg["no_dollars_fp"] = [[fmt.d4(p), fmt.fp(c)] for p, c in no]
        sub.conn.push(
            _dump({"type": "orderbook_snapshot", "sid": sub.sid, "seq": sub.next_seq(), "msg": msg}), True
        )

    def ticker_now(self, sub: Sub, ticker: str) -> None:
        m = self.ex.market_by_ticker[ticker]
        state = self._ticker_state(m.idx)
        sub.conn.push(_dump(self._ticker_msg(sub, m, state, self.ex.now_us)), False)

    # -- hooks called by the exchange (under its lock) ----------------------------------------------
    def trade(self, t: int, i: int, price: int, count: int, taker_side: str, trade_id: str) -> None:
        if i in self.dollar_volume:
            self.dollar_volume[i] += count * price
        subs = [s for s in self.subs if s.channel == "trade"]
        if not subs:
            return
        m = self.ex.markets[i]
        outcome = "yes" if taker_side == "bid" else "no"
        msg = {
            "trade_id": trade_id,
            "market_ticker": m.ticker,
            "yes_price_dollars": fmt.d4(price),
            "no_price_dollars": fmt.d4(10_000 - price),
            "count_fp": fmt.fp(count),
            "taker_side": outcome,
            "taker_outcome_side": outcome,
            "taker_book_side": taker_side,
            "is_block_trade": False,
            "ts": t // 1_000_000,
            "ts_ms": t // 1000,
        }
        for s in subs:
            if s.covers(m.ticker):
                s.conn.push(_dump({"type": "trade", "sid": s.sid, "msg": msg}), False)

    def fill(
        self, acct, o, n: int, p: int, t: int, trade_id: str, is_taker: bool, fee: int, net: int
    ) -> None:
        subs = [s for s in self.subs if s.channel == "fill" and s.conn.key_id == acct.key_id]
        if not subs:
            return
        m = self.ex.markets[o.market]
        bid = o.side == "bid"
        msg = {
            "trade_id": trade_id,
            "order_id": o.order_id,
            "market_ticker": m.ticker,
            "is_taker": is_taker,
            "side": "yes",
            "action": "buy" if bid else "sell",
            "purchased_side": "yes" if bid else "no",
            "outcome_side": "yes" if bid else "no",
            "book_side": o.side,
            "yes_price_dollars": fmt.d4(p),
            "count_fp": fmt.fp(n),
            "fee_cost": fmt.d6(fee),
            "post_position_fp": fmt.fp(net),
            "client_order_id": o.client_order_id,
            "ts": t // 1_000_000,
            "ts_ms": t // 1000,
        }
        if o.subaccount:
            msg["subaccount"] = o.subaccount
        for s in subs:
            if s.covers(m.ticker):
                s.conn.push(_dump({"type": "fill", "sid": s.sid, "msg": msg}), False)

    def order_group(self, g, event: str, t: int) -> None:
        """An ``order_group_updates`` message (AsyncAPI ``orderGroupUpdatesPayload``; ``seq`` per subscription)."""
        msg = {"event_type": event, "order_group_id": g.id, "ts_ms": t // 1000}
        if event in ("created", "limit_updated"):
            msg["contracts_limit_fp"] = fmt.fp(g.limit)
        for s in self.subs:
            if s.channel == "order_group_updates" and s.conn.key_id == g.owner:
                frame = {"type": "order_group_updates", "sid": s.sid, "seq": s.next_seq(), "msg": msg}
                s.conn.push(_dump(frame), True)

    def order_dirty(self, o) -> None:
        if self.subs:
            self.dirty_orders[id(o)] = o

    def position_dirty(self, acct, i: int, sub: int = 0) -> None:
        """Subaccount ``sub``'s position in market ``i`` changed."""
        if self.subs:
            self.dirty_positions[(acct.key_id, i, sub or 0)] = acct

    def event_created(self, ev) -> None:
        channel = "multivariate_market_lifecycle" if ev.is_mve else "market_lifecycle_v2"
        msg = {
            "event_ticker": ev.event_ticker,
            "title": ev.title,
            "subtitle": ev.sub_title,
            "collateral_return_type": "MECNET" if ev.mutually_exclusive else "",
            "series_ticker": ev.series_ticker,
            "strike_date": ev.strike_us // 1_000_000,
        }
        if ev.strike_period:
            msg["strike_period"] = ev.strike_period
        self._to_channel(channel, "event_lifecycle", msg)

    def lifecycle(self, m, what: str) -> None:
        """A market lifecycle message: created | activated | determined | settled."""
        msg: dict = {"market_ticker": m.ticker, "event_type": what}
        if what == "created":
            ev = self.ex.events_by_ticker[m.event_ticker]
            meta = {
                "name": ev.title,
                "title": m.title,
                "yes_sub_title": m.yes_sub_title,
                "no_sub_title": m.no_sub_title,
                "rules_primary": m.rules_primary,
                "rules_secondary": m.rules_secondary,
                "can_close_early": True,
                "event_ticker": m.event_ticker,
                "expected_expiration_ts": m.expected_exp_us // 1_000_000,
                "strike_type": m.strike_type,
            }
            for k in ("floor_strike", "cap_strike"):
                v = getattr(m, k)
                if v is not None:
                    meta[k] = int(v) if float(v).is_integer() else v
            if m.mve:
                meta["custom_strike"] = m.mve["custom_strike"]
            msg.update(
                open_ts=m.open_us // 1_000_000,
                close_ts=m.close_us // 1_000_000,
                price_level_structure=m.structure,
                additional_metadata=meta,
            )
        elif what == "activated":
            msg["is_deactivated"] = False
        elif what == "determined":
            msg.update(
                result=m.result,
                determination_ts=m.determine_us // 1_000_000,
                settlement_value=fmt.d4(m.settle_pips),
            )
        elif what == "settled":
            msg["settled_ts"] = m.settle_us // 1_000_000
        channel = "multivariate_market_lifecycle" if m.is_mve else "market_lifecycle_v2"
        self._to_channel(channel, channel, msg)

    def wants_lifecycle(self) -> bool:
        return any(s.channel in LIFECYCLE for s in self.subs)

    def _to_channel(self, channel: str, kind: str, msg: dict) -> None:
        for s in self.subs:
            if s.channel == channel:
                s.conn.push(_dump({"type": kind, "sid": s.sid, "msg": msg}), False)

    def step(self, t: int, i: int | None) -> None:
        """End of one atomic change: publish touched orders and positions, then market ``i``'s changes."""
        if not self.subs:
            self.dirty_orders.clear()
            self.dirty_positions.clear()
            return
        if self.dirty_orders:
            orders, self.dirty_orders = list(self.dirty_orders.values()), {}
            for o in orders:
                self._user_order(o)
        if self.dirty_positions:
            items, self.dirty_positions = list(self.dirty_positions.items()), {}
            for (_, mi, sub), acct in items:
                self._position(acct, mi, sub)
        if i is None:
            return
        if i in self.books:
            self._book_diff(t, i)
        if any(s.channel == "ticker" for s in self.subs):
            self._ticker(t, i)

    # -- rendering ----------------------------------------------------------------------------------
    def _book_diff(self, t: int, i: int) -> None:
        old_bids, old_asks = self.books[i]
        bids, asks = self._levels(i)
        self.books[i] = (bids, asks)
        changes = []
        for side, old, new in (("bid", old_bids, bids), ("ask", old_asks, asks)):
            for p in sorted(old.keys() | new.keys()):
                d = new.get(p, 0) - old.get(p, 0)
                if d:
                    changes.append((side, p, d))
        if not changes:
            return
        ticker = self.ex.markets[i].ticker
        mid = self.market_id(ticker)
        stamp, ms = fmt.ts(t), t // 1000
        cause = self.cause
        owner = cause.owner if cause is not None and isinstance(cause.owner, str) else None
        for s in self.subs:
            if s.channel != "orderbook_delta" or not s.covers(ticker):
                continue
            mine = owner is not None and s.conn.key_id == owner
            for side, p, d in changes:
                if side == "bid":
                    name, price = "yes", p
                else:
                    name, price = "no", (p if s.use_yes_price else 10_000 - p)
                msg = {
                    "market_ticker": ticker,
                    "market_id": mid,
                    "price_dollars": fmt.d4(price),
                    "delta_fp": fmt.fp(d),
                    "side": name,
                }
                if mine:  # only the account whose order caused the change sees its client_order_id
                    msg["client_order_id"] = cause.client_order_id
                    if cause.subaccount:
                        msg["subaccount"] = cause.subaccount
                msg["ts"], msg["ts_ms"] = stamp, ms
                frame = {"type": "orderbook_delta", "sid": s.sid, "seq": s.next_seq(), "msg": msg}
                s.conn.push(_dump(frame), True)

    def _ticker_state(self, i: int) -> tuple:
        ex = self.ex
        series = ex.tape.series[i]
        if i not in self.dollar_volume:
            tape = ex.tape
            self.dollar_volume[i] = sum(tape.count[k] * tape.price[k] for k in series.trade_idx)
        book = ex.books[i]
        bid, ask = book.best_bid(), book.best_ask()
        last_size = ex.tape.count[series.trade_idx[-1]] if len(series.trade_idx) else 0
        return (
            series.last_price,
            bid,
            ask,
            book.size_at("bid", bid) if bid else 0,
            book.size_at("ask", ask) if ask < 10_000 else 0,
            series.volume,
            ex.long_oi[i],
            last_size,
            self.dollar_volume[i],
        )

    def _ticker_msg(self, sub: Sub, m, state: tuple, t: int) -> dict:
        last, bid, ask, bid_size, ask_size, volume, oi, last_size, dvol = state
        msg = {
            "market_ticker": m.ticker,
            "market_id": self.market_id(m.ticker),
            "price_dollars": fmt.d4(last),
            "yes_bid_dollars": fmt.d4(bid),
            "yes_ask_dollars": fmt.d4(ask),
            "yes_bid_size_fp": fmt.fp(bid_size),
            "yes_ask_size_fp": fmt.fp(ask_size),
            "last_trade_size_fp": fmt.fp(last_size),
            "volume_fp": fmt.fp(volume),
            "open_interest_fp": fmt.fp(oi),
            # whole dollars: YES premium traded so far, and open interest valued at the last price
            "dollar_volume": dvol // 1_000_000,
            "dollar_open_interest": oi * last // 1_000_000,
            "ts": t // 1_000_000,
            "ts_ms": t // 1000,
            "time": fmt.ts(t),
        }
        return {"type": "ticker", "sid": sub.sid, "msg": msg}

    def _ticker(self, t: int, i: int) -> None:
        m = self.ex.markets[i]
        subs = [s for s in self.subs if s.channel == "ticker" and s.covers(m.ticker)]
        if not subs:
            return
        state = self._ticker_state(i)
        if self.tickers_sent.get(i) == state:
            return
        self.tickers_sent[i] = state
        for s in subs:
            s.conn.push(_dump(self._ticker_msg(s, m, state, t)), False)

    def _user_order(self, o) -> None:
        subs = [s for s in self.subs if s.channel == "user_orders" and s.conn.key_id == o.owner]
        if not subs:
            return
        m = self.ex.markets[o.market]
        bid = o.side == "bid"
        msg = {
            "order_id": o.order_id,
            "user_id": o.user_id,
            "ticker": m.ticker,
            "status": o.status,
            "side": "yes",
            "is_yes": bid,
            "outcome_side": "yes" if bid else "no",
            "book_side": o.side,
            "yes_price_dollars": fmt.d4(o.price),
            "fill_count_fp": fmt.fp(o.filled),
            "remaining_count_fp": fmt.fp(o.remaining),
            "initial_count_fp": fmt.fp(o.initial),
            "taker_fill_cost_dollars": fmt.d6(o.taker_cost),
            "maker_fill_cost_dollars": fmt.d6(o.maker_cost),
            "taker_fees_dollars": fmt.d6(o.taker_fees),
            "maker_fees_dollars": fmt.d6(o.maker_fees),
            "client_order_id": o.client_order_id,
            "self_trade_prevention_type": o.stp,
            "created_time": fmt.ts(o.created_us),
            "created_ts_ms": o.created_us // 1000,
            "last_update_time": fmt.ts(o.updated_us),
            "last_updated_ts_ms": o.updated_us // 1000,
            "subaccount_number": o.subaccount,
        }
        if o.expiration_us:
            msg["expiration_time"] = fmt.ts(o.expiration_us)
            msg["expiration_ts_ms"] = o.expiration_us // 1000
        for s in subs:
            if s.covers(m.ticker):
                s.conn.push(_dump({"type": "user_order", "sid": s.sid, "msg": msg}), False)

    def _position(self, acct, i: int, sub: int) -> None:
        subs = [s for s in self.subs if s.channel == "market_positions" and s.conn.key_id == acct.key_id]
        if not subs:
            return
        pos = acct.ledger(sub).positions.get(i)
        if pos is None:
            return
        m = self.ex.markets[i]
        msg = {
            "user_id": acct.user_id,
            "market_ticker": m.ticker,
            "position_fp": fmt.fp(pos.net),
            "position_cost_dollars": fmt.d6(pos.exposure()),
            "realized_pnl_dollars": fmt.d6(pos.realized),
            "fees_paid_dollars": fmt.d6(pos.fees),
            "position_fee_cost_dollars": fmt.d6(pos.fees),
            "volume_fp": fmt.fp(pos.volume),
        }
        if sub:
            msg["subaccount"] = sub
        for s in subs:
            if s.covers(m.ticker):
                s.conn.push(_dump({"type": "market_position", "sid": s.sid, "msg": msg}), False)
