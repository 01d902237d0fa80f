"""``LiveRunner``: one strategy session against the exchange of ``KALSHI_ENV`` (the state machine is drawn in
``kalshi_lake/live/__init__.py``). Single-threaded: the WebSocket client's loop runs in its own thread
(``SyncStream``); everything else — the engine, the strategy, orders, the lake — runs in the caller's thread, one
item at a time, so the strategy sees events in arrival order and never concurrently.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from kalshi_extract.errors import KalshiApiError, KalshiLakeError, TransportError
from kalshi_extract.ws import (
    Disconnected,
    Fill,
    Gap,
    MarketLifecycle,
    OrderbookDelta,
    OrderbookSnapshot,
    Reconnected,
    SubscriptionFailed,
    Trade,
    UserOrder,
)
from kalshi_lake.backtest.config import BacktestConfig
from kalshi_lake.backtest.events import Book
from kalshi_lake.backtest.money import (
    contracts_to_centi,
    dollars_to_micros,
    dollars_to_units,
    units_to_dollars,
)
from kalshi_lake.backtest.strategy import Strategy
from kalshi_lake.live.engine import LiveEngine
from kalshi_lake.live.limits import RiskGate, RiskLimits
from kalshi_lake.live.markets import LiveMarkets, Selection, load_markets
from kalshi_lake.live.record import LiveRecorder, new_session_id

_log = logging.getLogger(__name__)

MODES = ("paper", "live")


@dataclass
class RunOptions:
    """How a session runs (the CLI's options)."""

    mode: str = "paper"
    cash: Decimal = Decimal(1000)  # paper mode's starting cash (live: the account's balance)
    poll_s: float = 5.0  # REST book poll for a market whose WebSocket book is not whole (or is quiet)
    status_s: float = 10.0  # status line and lake flush
    cancel_on_stop: bool = True
    # live restart: an order sent within this many seconds before a crash may still land; wait that long before
    # looking it up (the HTTP read timeout, 30 s, plus a margin)
    inflight_grace_s: float = 35.0
    config: BacktestConfig = field(default_factory=BacktestConfig)  # the paper fill model's knobs

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be paper or live, not {self.mode!r}")


def run_key(strategy: Strategy, selection: Selection) -> str:
    """Stable across restarts of the same strategy, parameters and selection (prefixes client_order_ids)."""
    text = json.dumps([strategy.name, strategy.params, selection.as_dict()], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _us(ms: int | None) -> int | None:
    return None if ms is None else int(ms) * 1000


def _levels(levels) -> tuple[tuple[int, int], ...]:
    out = [(dollars_to_micros(Decimal(str(p))), contracts_to_centi(Decimal(str(q)))) for p, q in levels]
    return tuple(sorted(((p, q) for p, q in out if q > 0), reverse=True))


class LiveRunner:
    """Run ``strategy`` on ``selection`` (see the package docstring for the states and the safety rules)."""

    def __init__(
        self,
        settings: Any,
        client: Any,
        strategy: Strategy,
        selection: Selection,
        limits: RiskLimits,
        options: RunOptions,
        *,
        lake: Any = None,
        orders: Any = None,
        stop_file: str | None = None,
        stream_factory: Callable[[], Any] | None = None,
        clock=time.monotonic,
        on_status: Callable[[dict], None] | None = None,
    ) -> None:
        self.settings = settings
        self.client = client
        self.strategy = strategy
        self.selection = selection
        self.limits = limits
        self.options = options
        self.mode = options.mode
        self.lake = lake
        self._orders = orders
        self.clock = clock
        self.on_status = on_status
        self.run_key = run_key(strategy, selection)
        self.session_id = new_session_id()
        self.gate = RiskGate(limits, stop_file=stop_file, clock=clock)
        self.rec = LiveRecorder(
            lake, self.session_id, mode=self.mode, account=settings.account, run_key=self.run_key
        )
        self._stream_factory = stream_factory
        self.stream = None
        self.engine: LiveEngine | None = None
        self.state = "new"
        self.stop_reason: str | None = None
        self.reconciles: list[dict] = []
        self._next_status = 0.0
        self._polled: dict[int, float] = {}
        self._persisted_notional = 0

    # -- starting ---------------------------------------------------------------------------------------------
    def start(self) -> LiveRunner:
        """new → starting → syncing → running."""
        self.state = "starting"
        markets: LiveMarkets = load_markets(self.client, self.selection)
        cash = self.options.cash if self.mode == "paper" else Decimal(0)
        self.engine = eng = LiveEngine(
            markets,
            self.strategy,
            self.gate,
            self.rec,
            mode=self.mode,
            cash=cash,
            config=self.options.config,
            clock=self.clock,
        )
        self._server_clock("/exchange/status")
        if self.mode == "live":
            from kalshi_lake.live.desk import ExchangeDesk

            eng.desk = ExchangeDesk(self.client, self._orders, self.run_key)
            known, since = self.rec.known_fills(self.run_key)
            eng.fill_ids |= known
            eng.fills_since_us = since
            self.reconcile("start", grace_s=self.options.inflight_grace_s)
            if eng.fills_since_us is None:
                eng.fills_since_us = eng.now  # a fresh run key: its fills start now
        eng.roll_day()
        self.resume_day()
        self.rec.session(
            "started",
            run_key=self.run_key,
            strategy=self.strategy.name,
            env=self.settings.env,
            params=self.strategy.params,
            selection=self.selection.as_dict(),
            limits=self.limits.as_dict(),
        )
        self.status(record=True)
        self.rec.flush()  # the session and the day's counters are on disk before the first order can be sent
        self._persisted_notional = self.gate.notional_today
        self.state = "syncing"
        self._connect()
        if self.mode == "live" and self.stream is not None:
            # a fill between the start's reconcile and the fill subscription reached neither: once subscribed,
            # reconcile again (a fill the WebSocket delivers too is skipped by its id; positions are re-read)
            self.reconcile("subscribed")
        self.poll_books(force=True)
        self.pump(0.5)
        self.state = "running"
        eng.start()
        self.rec.flush()
        return self

    def resume_day(self) -> None:
        """Same run key, same UTC day: take the daily limits' counters from the lake, so a restart cannot reset
        the daily loss or the daily notional (``live_status``)."""
        eng = self.engine
        found = self.rec.day_counters(self.run_key, eng.day)
        if found is None:
            return
        start, notional = found
        eng.day_start_equity = start
        self.gate.notional_today = max(self.gate.notional_today, notional)
        _log.info("resumed %s's counters: start equity %s, notional %s", eng.day, start, notional)

    def _server_clock(self, path: str) -> Any:
        """GET ``path`` and move the engine's clock to the server's (the exchange's time, not ours)."""
        body, when = self.client.get_with_time(path)
        if when is not None:
            self.engine.at(int(when.timestamp()) * 1_000_000)
        return body

    def _connect(self) -> None:
        if self._stream_factory is None:
            return
        tickers = [m.ticker for m in self.engine.infos]
        try:
            self.stream = self._stream_factory()
            self.stream.subscribe(["orderbook_delta", "trade"], tickers)
            self.stream.subscribe("market_lifecycle_v2")
            if self.mode == "live":
                self.stream.subscribe(["fill", "user_orders"])
            self.engine.connected = True
            self.engine.heard = self.clock()
        except (KalshiApiError, TransportError) as exc:
            _log.warning("WebSocket unavailable (%s): REST polling only", exc)
            self.engine.connected = False

    def reconcile(self, why: str, *, grace_s: float = 0.0) -> None:
        summary = self.engine.desk.reconcile(self.engine, grace_s=grace_s)
        summary["why"] = why
        self.reconciles.append(summary)
        if summary["missed_fills"]:
            _log.warning(
                "%s: %d fill(s) arrived while away, caught up over REST", why, summary["missed_fills"]
            )
            self.rec.flush()

    # -- the loop -----------------------------------------------------------------------------------------------
    def run(self, *, seconds: float | None = None) -> dict:
        """running → stopping → stopped: handle items until the deadline, the kill switch or Ctrl-C."""
        deadline = None if seconds is None else self.clock() + seconds
        try:
            while self.state == "running":
                self.step(1.0)
                if deadline is not None and self.clock() >= deadline:
                    self.stop_reason = self.stop_reason or "time is up (--for)"
                    break
        except KeyboardInterrupt:
            self.stop_reason = "interrupted"
        return self.stop()

    def step(self, timeout: float) -> bool:
        """Handle one item (waiting up to ``timeout`` s), then the periodic work. False when nothing came."""
        got = False
        if self.stream is not None:
            try:
                item = self.stream.get(timeout=timeout)
            except TimeoutError:
                item = None
            except StopIteration:
                item, self.stream, self.engine.connected = None, None, False
            if item is not None:
                self.handle(item)
                got = True
        self.persist_counters()
        self.tick()
        return got

    def pump(self, quiet_s: float = 0.3, max_items: int = 1_000_000) -> int:
        """Handle items until none arrives for ``quiet_s`` (tests and the start-up sync)."""
        n = 0
        while n < max_items and self.state in ("syncing", "running") and self.step(quiet_s):
            n += 1
        return n

    def persist_counters(self) -> None:
        """After an order was accepted, the day's notional goes to disk at once (a crash cannot undo it)."""
        if self.engine is not None and self.gate.notional_today != self._persisted_notional:
            self._persisted_notional = self.gate.notional_today
            self.status(record=True)
            self.rec.flush()

    def tick(self) -> None:
        """Kill switch, REST fallback, status line and lake flush."""
        if self.state != "running":
            return
        if self.gate.stopped():
            self.stop_reason = f"kill switch ({self.gate.stop_file})"
            self.state = "stopping"
            return
        self.poll_books()
        now = self.clock()
        if now >= self._next_status:
            self._next_status = now + self.options.status_s
            self.status(record=True)
            self.rec.flush()

    def poll_books(self, force: bool = False) -> None:
        """REST fallback: snapshot each market whose WebSocket book is not whole, or whose feed is quiet."""
        eng = self.engine
        now = self.clock()
        quiet = not eng.connected or eng.heard is None or now - eng.heard >= self.options.poll_s
        for mi, b in enumerate(eng.books):
            if b.settled or not (force or quiet or not b.quotes.ws.whole):
                continue
            if not force and now - self._polled.get(mi, -1e18) < self.options.poll_s:
                continue
            self._polled[mi] = now
            try:
                body = self._server_clock(f"/markets/{b.ticker}/orderbook")
            except (KalshiApiError, TransportError) as exc:
                _log.warning("REST book of %s failed: %s", b.ticker, exc)
                continue
            ob = body.get("orderbook_fp") or {}
            book = Book(
                eng.now, b.ticker, _levels(ob.get("yes_dollars") or ()), _levels(ob.get("no_dollars") or ())
            )
            eng.rest_book(mi, book)

    # -- one item -----------------------------------------------------------------------------------------------
    def handle(self, item: Any) -> None:
        eng = self.engine
        eng.heard = self.clock()
        if isinstance(item, Trade):
            mi = eng.index.get(item.market_ticker)
            if mi is not None and item.trade_id not in eng.trade_ids:
                eng.trade_ids.add(item.trade_id)
                side = {"bid": 1, "ask": -1}.get(item.taker_book_side or "", 0)
                eng.trade(
                    mi,
                    _us(item.ts_ms),
                    dollars_to_micros(item.yes_price),
                    contracts_to_centi(item.count),
                    side,
                    bool(item.is_block_trade),
                )
        elif isinstance(item, OrderbookSnapshot):
            mi = eng.index.get(item.market_ticker)
            if mi is not None:
                eng.ws_snapshot(
                    mi, str(item.connection_id), _levels(item.yes), _levels(item.no), _us(item.ts_ms)
                )
        elif isinstance(item, OrderbookDelta):
            mi = eng.index.get(item.market_ticker)
            if mi is not None:
                eng.ws_delta(
                    mi,
                    str(item.connection_id),
                    item.side,
                    dollars_to_micros(item.price),
                    contracts_to_centi(item.delta),
                    _us(item.ts_ms),
                )
        elif isinstance(item, Fill):
            self._fill(item)
        elif isinstance(item, UserOrder):
            if eng.desk is not None:
                eng.desk.order_update(eng, item.order_id, item.client_order_id, item.status)
        elif isinstance(item, MarketLifecycle):
            mi = eng.index.get(item.market_ticker)
            value = item.data.get("settlement_value")
            if mi is not None and item.event_type == "settled" and value is not None:
                micros = dollars_to_micros(Decimal(str(value))) if "." in str(value) else int(value) * 10_000
                eng.settle(mi, str(item.data.get("result") or ""), micros, _us(item.ts_ms))
        elif isinstance(item, Gap):
            for t in item.markets:
                mi = eng.index.get(t)
                if mi is not None and item.channel == "orderbook_delta":
                    eng.ws_suspect(mi)
        elif isinstance(item, Disconnected):
            eng.connected = False
            for mi in range(len(eng.books)):
                eng.ws_suspect(mi)
        elif isinstance(item, Reconnected):
            eng.connected = True
            if eng.desk is not None:
                self.reconcile("reconnected")
        elif isinstance(item, SubscriptionFailed):
            _log.warning("subscription %s failed: %s", item.channel, item.error)

    def _fill(self, f: Fill) -> None:
        eng = self.engine
        mi = eng.index.get(f.market_ticker)
        if mi is None or f.trade_id in eng.fill_ids or f.count is None or f.yes_price is None:
            return
        desk = eng.desk
        coid = f.data.get("client_order_id")
        order = None
        if desk is not None:
            order = desk.by_exchange_id.get(f.order_id) or (desk.by_coid.get(coid) if coid else None)
        side = f.data.get("book_side") or ("bid" if f.data.get("action") == "buy" else "ask")
        post = f.data.get("post_position_fp")
        eng.live_fill(
            order,
            mi,
            1 if side == "bid" else -1,
            contracts_to_centi(f.count),
            dollars_to_micros(f.yes_price),
            bool(f.data.get("is_taker")),
            dollars_to_units(f.fee_cost or 0),
            _us(f.ts_ms),
            None if post is None else contracts_to_centi(Decimal(str(post))),
            fill_id=f.trade_id,
            via="websocket",
        )
        self.rec.flush()  # a fill the strategy was told of is on disk at once (a restart does not replay it)

    # -- status and stop ----------------------------------------------------------------------------------------
    def status(self, *, record: bool = False) -> dict:
        eng = self.engine
        ages = [eng.data_age(mi) for mi in range(len(eng.books))]
        known = [a for a in ages if a is not None]
        st = {
            "state": self.state,
            "mode": self.mode,
            "positions": {b.ticker: str(Decimal(b.pos).scaleb(-2)) for b in eng.books if b.pos},
            "open_orders": len(eng.open_orders()),
            "cash": units_to_dollars(eng.cash),
            "equity": units_to_dollars(eng.equity_units),
            "pnl_today": units_to_dollars(eng.equity_units - eng.day_start_equity),
            "data_age_s": max(known)
            if known and len(known) == len(ages)
            else (None if not known else max(known)),
            "limits_hit": dict(self.gate.hits),
            "feed": "websocket" if eng.connected else "rest",
            "orders": len(eng.orders),
            "fills": len(eng.fills),
        }
        if record:
            self.rec.status(eng, st)
        if self.on_status is not None:
            self.on_status(st)
        return st

    def stop(self, reason: str | None = None) -> dict:
        """stopping → stopped: cancel this run's resting orders, ``on_end``, the summary; returns the summary."""
        if self.state == "stopped":
            return self.summary
        self.stop_reason = reason or self.stop_reason or "stopped"
        self.state = "stopping"
        eng = self.engine
        killed = self.stop_reason.startswith("kill switch")
        canceled = 0
        if eng is not None:
            if self.options.cancel_on_stop or killed:
                if eng.desk is not None:
                    self.reconcile("stop")  # orders whose outcome was unknown are found and cancelled too
                for order in eng.open_orders():
                    canceled += bool(eng.cancel(order.order_id))
            eng.trigger = "end"
            self.strategy.on_end(eng.ctx)
        st = self.status(record=True) if eng is not None else {}
        self.summary = {
            **st,
            "reason": self.stop_reason,
            "canceled_at_stop": canceled,
            "session_id": self.session_id,
            "run_key": self.run_key,
        }
        self.rec.session(
            "killed" if killed else "stopped",
            run_key=self.run_key,
            strategy=self.strategy.name,
            env=self.settings.env,
            reason=self.stop_reason,
            summary=self.summary,
        )
        try:
            self.rec.flush()
        except KalshiLakeError as exc:
            _log.error("could not write the session's last rows to the lake: %s", exc)
        if self.stream is not None:
            self.stream.close()
            self.stream = None
        self.state = "stopped"
        return self.summary
