"""The live desk: the only place a live run turns an order into a request, through the order module.

* Every order gets its ``client_order_id`` here, before anything is sent: ``kl<run key>-<uuid hex>``. The run key
  is derived from the strategy, its parameters and the selection, so a restarted runner recognises its own
  orders on the exchange (and leaves anyone else's alone).
* ``Orders.prepare`` (the order module's own checks: grid, market open, balance, ``KALSHI_MAX_*``) then
  ``Orders.submit``: the intent is journaled in the lake before the first send, an unknown outcome is resolved by
  looking the order up, never by sending it again (``kalshi_extract.orders.executor``).
* ``reconcile`` (at start and after every reconnect) settles journaled intents that never got an answer
  (``resolve_pending``: lookups only), then reads the exchange — balance, positions of the selected markets, this
  run's resting orders — and makes the engine agree with it. An order whose outcome stayed unknown is shown as
  open until a reconcile finds it or proves it was never placed; it is never re-sent.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from kalshi_extract.errors import KalshiApiError, OrderError, OrderOutcomeUnknown, TransportError
from kalshi_extract.orders.journal import pending_intents
from kalshi_lake.backtest.events import Order
from kalshi_lake.backtest.money import (
    PRICE_SCALE,
    centi_to_contracts,
    contracts_to_centi,
    dollars_to_micros,
    dollars_to_units,
    micros_to_dollars,
)

if TYPE_CHECKING:
    from kalshi_lake.backtest.portfolio import MarketBook
    from kalshi_lake.live.engine import LiveEngine

_log = logging.getLogger(__name__)


def _centi(value: Any) -> int:
    return contracts_to_centi(Decimal(str(value or "0")))


class ExchangeDesk:
    """Sends, cancels and reconciles this run's orders (see the module docstring)."""

    def __init__(self, client: Any, orders: Any, run_key: str) -> None:
        self.client = client
        self.orders = orders
        self.prefix = f"kl{run_key}-"
        self.coid: dict[int, str] = {}  # local order id → client_order_id
        self.exchange_id: dict[int, str] = {}  # local order id → exchange order id
        self.by_coid: dict[str, Order] = {}
        self.by_exchange_id: dict[str, Order] = {}
        self.unknown: set[int] = set()  # local ids whose create outcome is not known yet

    def ours(self, client_order_id: str | None) -> bool:
        return bool(client_order_id) and client_order_id.startswith(self.prefix)

    # -- writes ---------------------------------------------------------------------------------------------
    def send(self, engine: LiveEngine, book: MarketBook, order: Order) -> Order:
        coid = self.prefix + uuid.uuid4().hex
        self.coid[order.order_id] = coid
        self.by_coid[coid] = order
        outcome_price = order.price if order.outcome == "yes" else PRICE_SCALE - order.price
        try:
            prepared = self.orders.prepare(
                order.action,
                order.ticker,
                order.outcome,
                centi_to_contracts(order.remaining),
                micros_to_dollars(outcome_price),
                time_in_force=order.time_in_force,
                client_order_id=coid,
            )
        except (OrderError, KalshiApiError, TransportError) as exc:
            return engine._reject(order, f"order checks: {exc}")
        try:
            res = self.orders.submit(prepared)
        except OrderOutcomeUnknown as exc:
            # it may be on the exchange: keep it open (it counts against the limits) and let reconcile decide
            self.unknown.add(order.order_id)
            order.reason = f"outcome unknown ({exc}); resolved by lookup at the next reconcile"
            book.resting.append(order)
            engine._reserve(book, order)
            engine.rec.order(engine, order, "unknown", coid)
            return order
        except (OrderError, KalshiApiError, TransportError) as exc:
            return engine._reject(order, f"exchange refused: {exc}")
        self._placed(engine, book, order, res.order_id, res.status, res.fill_count)
        return order

    def _placed(self, engine, book, order, exchange_id, status, fill_count) -> None:
        if exchange_id:
            self.exchange_id[order.order_id] = exchange_id
            self.by_exchange_id[exchange_id] = order
        executed = _centi(fill_count) - order.filled if fill_count is not None else 0
        if executed > 0:
            engine.unconfirmed[order.order_id] = executed  # its fills arrive on the fill channel
        if status == "resting":
            if order not in book.resting:
                book.resting.append(order)
                engine._reserve(book, order)
        elif status == "canceled":
            order.status, order.reason = (
                "canceled",
                "ioc remainder" if order.time_in_force == "ioc" else status,
            )
        engine.rec.order(engine, order, status or "sent", self.coid.get(order.order_id))

    def cancel(self, engine: LiveEngine, book: MarketBook, order: Order) -> bool:
        exchange_id = self.exchange_id.get(order.order_id)
        if exchange_id is None:
            return False  # outcome unknown: reconcile finds it (and the kill switch cancels it then)
        try:
            self.orders.cancel(exchange_id)
        except (OrderError, KalshiApiError, TransportError) as exc:
            _log.warning("cancel of %s failed: %s (reconcile will show its state)", exchange_id, exc)
            return False
        if order in book.resting:
            book.resting.remove(order)
        engine._release(order)
        order.status, order.reason = "canceled", "canceled by strategy"
        engine.rec.order(engine, order, "canceled", self.coid.get(order.order_id))
        return True

    # -- what the exchange says --------------------------------------------------------------------------------
    def order_update(
        self, engine: LiveEngine, exchange_id: str, coid: str | None, status: str | None
    ) -> None:
        order = self.by_exchange_id.get(exchange_id) or (self.by_coid.get(coid) if coid else None)
        if order is None or status in (None, "resting"):
            return
        book = engine.books[order.market_index]
        if order in book.resting:
            book.resting.remove(order)
            engine._release(order)
        if order.status == "open":
            order.status = "filled" if status == "executed" else "canceled"
            order.reason = order.reason or f"exchange: {status}"
            engine.rec.order(engine, order, status, self.coid.get(order.order_id))

    def wait_in_flight(self, grace_s: float, *, sleep=time.sleep) -> float:
        """Before deciding that an unanswered intent was never placed, wait until it is ``grace_s`` old.

        A request sent just before a crash may still be travelling (or queued on the exchange): looked up too
        early it is "not found", the intent is closed as never placed, and the order lands a moment later while
        the strategy places it again. Waiting out the HTTP read timeout (plus a margin) first is the same
        assumption the order module makes when it resolves a timed-out send by lookup. Returns the seconds waited.
        """
        rows = self.orders.journal.rows() if hasattr(self.orders.journal, "rows") else []
        mine = [r for r in pending_intents(rows) if self.ours(r.get("client_order_id"))]
        if not mine:
            return 0.0
        newest = max(r["ts"] for r in mine)
        wait = grace_s - (datetime.now(UTC) - newest).total_seconds()
        if wait <= 0:
            return 0.0
        _log.warning(
            "%d order(s) of this run were sent just before it stopped: waiting %.1f s for them to land before "
            "looking them up",
            len(mine),
            wait,
        )
        sleep(wait)
        return wait

    def reconcile(self, engine: LiveEngine, *, grace_s: float = 0.0) -> dict:
        """Make the engine agree with the exchange (see the module docstring); returns what changed."""
        waited = self.wait_in_flight(grace_s) if grace_s > 0 else 0.0
        resolved = self.orders.resolve_pending()
        missed, foreign = self.catch_up_fills(engine)
        balance = self.client.get("/portfolio/balance")
        engine.cash = int(balance["balance"]) * 1_000_000  # cents → 1e-8 $ units
        index = engine.index
        seen: set[str] = set()
        cursor_params = {"limit": 1000}
        for page in self.client.paginate("/portfolio/positions", cursor_params, data_key="market_positions"):
            for p in page.items:
                mi = index.get(p.get("ticker"))
                if mi is None:
                    continue
                seen.add(p["ticker"])
                self._set_position(engine, mi, _centi(p.get("position_fp")), p.get("market_exposure_dollars"))
        for b in engine.books:
            if b.ticker not in seen and b.pos:
                self._set_position(engine, b.index, 0, None)
        resting = [
            o
            for o in self.orders.list_orders(status="resting", limit=1000)
            if self.ours(o.get("client_order_id")) and o.get("ticker") in index
        ]
        live_ids = {o["order_id"] for o in resting}
        for b in engine.books:  # resting here but not there: filled or cancelled while we were away
            for order in list(b.resting):
                eid = self.exchange_id.get(order.order_id)
                if eid is None and order.order_id in self.unknown:
                    continue  # matched below by client_order_id
                if eid not in live_ids:
                    b.resting.remove(order)
                    engine._release(order)
                    order.status, order.reason = "canceled", "not resting on the exchange at reconcile"
        adopted = 0
        for o in resting:
            order = self.by_coid.get(o["client_order_id"])
            if order is None:
                order = self._adopt(engine, o)
                adopted += 1
            self.unknown.discard(order.order_id)
            self.exchange_id[order.order_id] = o["order_id"]
            self.by_exchange_id[o["order_id"]] = order
            book = engine.books[order.market_index]
            if order not in book.resting:
                book.resting.append(order)
                engine._reserve(book, order)
        for oid in list(self.unknown):  # not resting: it executed, was cancelled, or was never placed
            order = engine.orders[oid - 1]
            book = engine.books[order.market_index]
            if order in book.resting:
                book.resting.remove(order)
                engine._release(order)
            order.status = "canceled"
            order.reason = (
                "not resting at reconcile (executed, cancelled or never placed; positions are the exchange's)"
            )
            self.unknown.discard(oid)
        return {
            "resolved": len(resolved),
            "resting": len(resting),
            "adopted": adopted,
            "positions": len(seen),
            "waited_s": round(waited, 3),
            "missed_fills": missed,
            "foreign_fills": foreign,
        }

    def catch_up_fills(self, engine: LiveEngine) -> tuple[int, int]:
        """Fills of this run the WebSocket did not deliver (the runner was stopped, or the connection was down):
        ``GET /portfolio/fills`` from the last fill the run knows (``engine.fills_since_us``, less a second: the
        filter is in whole seconds), oldest first; each fill id not seen yet and belonging to one of this run's
        orders is applied once (``LiveEngine.live_fill``, ``via="rest"``: the strategy's ``on_fill``, the lake).
        The exchange's positions and balance, read right after, stay the word on the account. Fills of other
        orders (another run, a manual order) are not this strategy's: counted, left to the positions read.
        Returns (applied, foreign)."""
        since = engine.fills_since_us
        if since is None:
            return 0, 0
        rows: list[dict] = []
        params = {"min_ts": max(0, since // 1_000_000 - 1), "limit": 1000}
        for page in self.client.paginate("/portfolio/fills", params, data_key="fills"):
            rows.extend(page.items)
        rows.reverse()  # the exchange lists newest first
        rows.sort(key=lambda f: int(f.get("ts") or 0))  # stable: same-second fills keep their order
        fresh = [
            f
            for f in rows
            if (f.get("fill_id") or f.get("trade_id")) not in engine.fill_ids
            and (f.get("ticker") or f.get("market_ticker")) in engine.index
        ]
        pending: dict[str, int] = {}
        for f in fresh:
            pending[f["order_id"]] = pending.get(f["order_id"], 0) + _centi(f.get("count_fp"))
        applied = foreign = 0
        done: set[int] = set()
        engine.catching_up = True
        try:
            for f in fresh:
                order = self._order_of_fill(engine, f["order_id"], pending)
                fid = f.get("fill_id") or f.get("trade_id")
                if order is None:
                    foreign += 1
                    engine.fill_ids.add(fid)
                    continue
                side = f.get("book_side") or ("bid" if f.get("action") == "buy" else "ask")
                created = f.get("created_time")
                ts_us = (
                    int(datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp() * 1_000_000)
                    if created
                    else int(f.get("ts") or 0) * 1_000_000
                )
                engine.live_fill(
                    order,
                    order.market_index,
                    1 if side == "bid" else -1,
                    _centi(f.get("count_fp")),
                    dollars_to_micros(Decimal(str(f["yes_price_dollars"]))),
                    bool(f.get("is_taker")),
                    dollars_to_units(Decimal(str(f.get("fee_cost") or "0"))),
                    ts_us,
                    None,
                    fill_id=fid,
                    via="rest",
                )
                applied += 1
                if order.status == "filled" and order.order_id not in done:
                    done.add(order.order_id)
                    order.reason = "filled while away (fills caught up over REST)"
                    engine.rec.order(engine, order, "filled", self.coid.get(order.order_id))
        finally:
            engine.catching_up = False
        return applied, foreign

    def _order_of_fill(self, engine: LiveEngine, exchange_id: str, pending: dict[str, int]) -> Order | None:
        """This run's order behind a fill: known here, or (placed by an earlier session of the run and no longer
        resting) looked up on the exchange and taken in, its fills so far less the ``pending`` ones about to be
        applied. None when the order is not this run's."""
        order = self.by_exchange_id.get(exchange_id)
        if order is not None:
            return order
        try:
            o = self.orders.get_order(exchange_id)
        except (OrderError, KalshiApiError, TransportError) as exc:
            _log.warning(
                "order %s of a missed fill could not be read (%s): left to the positions read",
                exchange_id,
                exc,
            )
            return None
        if not self.ours(o.get("client_order_id")) or o.get("ticker") not in engine.index:
            return None
        order = self.by_coid.get(o["client_order_id"])
        if order is None:
            order = self._adopt(engine, o, already=pending.get(exchange_id, 0))
        self.exchange_id[order.order_id] = exchange_id
        self.by_exchange_id[exchange_id] = order
        return order

    def _set_position(self, engine: LiveEngine, mi: int, pos: int, exposure) -> None:
        b = engine.books[mi]
        b.pos = pos
        b.lots.clear()
        if pos:
            cost = Decimal(str(exposure)) if exposure is not None else None
            if cost is not None and cost > 0:
                per = cost / centi_to_contracts(abs(pos))
                avg = per if pos > 0 else 1 - per
                price = dollars_to_micros(avg.quantize(Decimal("0.000001")))
            else:
                price = b.mark or PRICE_SCALE // 2
            b.lots.append([abs(pos), price])
        old = b.value
        b.value = b.value_at(b.mark) if b.mark is not None else 0
        engine.positions_value += b.value - old

    def _adopt(self, engine: LiveEngine, o: dict, *, already: int = 0) -> Order:
        """An order of this run placed before a restart: give it a local id so ``ctx`` shows it (``already``:
        centi-contracts of its fills about to be applied, not counted as filled yet)."""
        mi = engine.index[o["ticker"]]
        side = o.get("book_side") or ("bid" if o.get("side") == "yes" else "ask")
        delta = 1 if side == "bid" else -1
        price = dollars_to_micros(Decimal(str(o["yes_price_dollars"])))
        filled = _centi(o.get("fill_count_fp"))
        remaining = _centi(o.get("remaining_count_fp"))
        count = filled + remaining
        filled = max(0, filled - already)
        order = Order(
            len(engine.orders) + 1,
            o["ticker"],
            "buy" if delta > 0 else "sell",
            "yes",
            delta,
            count,
            price,
            "gtc",
            engine.now,
            filled=filled,
            market_index=mi,
        )
        engine.orders.append(order)
        self.coid[order.order_id] = o["client_order_id"]
        self.by_coid[o["client_order_id"]] = order
        self.exchange_id[order.order_id] = o["order_id"]
        engine.rec.order(engine, order, "adopted", o["client_order_id"])
        return order
