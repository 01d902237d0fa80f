"""What a live session leaves in the lake: ``live_sessions``, ``live_orders``, ``live_fills``, ``live_status``
(columns and meanings: ``kalshi_extract/lake/schemas.py``; fills mean what ``bt_fills`` rows mean).

Rows are buffered and appended (one atomic Parquet part per stream) at every ``flush`` — the runner flushes on
its tick, at reconnects and at stop. A crash loses at most the rows since the last flush; the order journal
(``order_events``, written before every send) stays the record of what reached the exchange.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from kalshi_extract.lake.schemas import LIVE_STREAMS, arrow_schema
from kalshi_lake.backtest.events import Fill, Order, us_to_datetime
from kalshi_lake.backtest.money import (
    PRICE_SCALE,
    centi_to_contracts,
    dollars_to_units,
    micros_to_dollars,
    units_to_dollars,
)

if TYPE_CHECKING:
    from kalshi_lake.live.engine import LiveEngine

__all__ = ["LiveRecorder", "new_session_id"]


def new_session_id() -> str:
    return f"live-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def _money(units: int) -> Decimal:
    return units_to_dollars(units).normalize() if units else Decimal(0)


def _now() -> datetime:
    return datetime.now(UTC)


class LiveRecorder:
    """Buffers a session's rows and appends them to the lake (``lake=None``: keep them in memory only)."""

    def __init__(
        self, lake: Any, session_id: str, *, mode: str, account: str = "default", run_key: str | None = None
    ) -> None:
        self.lake = lake
        self.run_key = run_key
        self.session_id = session_id
        self.mode = mode
        self.account = account
        self.rows: dict[str, list[dict]] = {s: [] for s in LIVE_STREAMS}
        self.written: dict[str, int] = dict.fromkeys(LIVE_STREAMS, 0)

    def _add(self, stream: str, row: dict) -> None:
        row["_account"] = self.account
        self.rows[stream].append(row)

    def session(
        self,
        event: str,
        *,
        run_key: str,
        strategy: str,
        env: str,
        reason: str | None = None,
        params: dict | None = None,
        selection: dict | None = None,
        limits: dict | None = None,
        summary: dict | None = None,
    ) -> None:
        self._add(
            "live_sessions",
            {
                "session_id": self.session_id,
                "run_key": run_key,
                "strategy": strategy,
                "mode": self.mode,
                "env": env,
                "event": event,
                "at": _now(),
                "reason": reason,
                "params": _json(params),
                "selection": _json(selection),
                "limits": _json(limits),
                "summary": _json(summary),
            },
        )

    def order(self, engine: LiveEngine, order: Order, event: str, client_order_id: str | None = None) -> None:
        desk = engine.desk
        coid = client_order_id or (desk.coid.get(order.order_id) if desk is not None else None)
        exchange_id = desk.exchange_id.get(order.order_id) if desk is not None else None
        priced = order.price > 0
        self._add(
            "live_orders",
            {
                "event_id": uuid.uuid4().hex,
                "session_id": self.session_id,
                "order_seq": order.order_id,
                "client_order_id": coid,
                "order_id": exchange_id,
                "ticker": order.ticker,
                "event": event,
                "ts": us_to_datetime(engine.now),
                "at": _now(),
                "action": order.action,
                "outcome_side": order.outcome,
                "book_side": ("bid" if order.delta > 0 else "ask") if order.delta else None,
                "count_fp": centi_to_contracts(order.count) if order.count else None,
                "filled_fp": centi_to_contracts(order.filled),
                "yes_price_dollars": micros_to_dollars(order.price) if priced else None,
                "time_in_force": order.time_in_force,
                "status": order.status,
                "reason": order.reason,
                "trigger": engine.trigger,
                "mode": self.mode,
            },
        )

    def fill(
        self, engine: LiveEngine, f: Fill, *, fill_id: str | None = None, via: str | None = None
    ) -> None:
        desk = engine.desk
        self._add(
            "live_fills",
            {
                "session_id": self.session_id,
                "fill_seq": f.seq,
                "order_seq": f.order_id,
                "client_order_id": desk.coid.get(f.order_id) if desk is not None else None,
                "ticker": f.ticker,
                "ts": us_to_datetime(f.ts),
                "at": _now(),
                "action": f.action,
                "outcome_side": f.outcome,
                "book_side": f.book_side,
                "count_fp": centi_to_contracts(f.count),
                "yes_price_dollars": micros_to_dollars(f.yes_price),
                "no_price_dollars": micros_to_dollars(PRICE_SCALE - f.yes_price),
                "is_taker": f.is_taker,
                "fee_cost": _money(f.fee),
                "realized_pnl_dollars": _money(f.realized),
                "position_fp": centi_to_contracts(f.position_after),
                "cash_dollars": _money(f.cash_after),
                "price_source": f.price_source,
                "quote_age_ms": None if f.quote_age_us is None else Decimal(f.quote_age_us).scaleb(-3),
                "mode": self.mode,
                "fill_id": fill_id,
                "via": via,
            },
        )

    def status(self, engine: LiveEngine, status: dict) -> None:
        self._add(
            "live_status",
            {
                "session_id": self.session_id,
                "at": _now(),
                "ts": us_to_datetime(engine.now),
                "cash_dollars": _money(engine.cash),
                "positions_value_dollars": _money(engine.positions_value),
                "equity_dollars": _money(engine.equity_units),
                "pnl_today_dollars": _money(engine.equity_units - engine.day_start_equity),
                "open_orders": status["open_orders"],
                "positions": _json(status["positions"]),
                "max_data_age_s": None
                if status["data_age_s"] is None
                else Decimal(str(round(status["data_age_s"], 3))),
                "limits_hit": _json(status["limits_hit"]),
                "feed": status["feed"],
                "mode": self.mode,
                "run_key": self.run_key,
                "day": engine.day,
                "day_start_equity_dollars": _money(engine.day_start_equity),
                "notional_today_dollars": _money(engine.gate.notional_today),
            },
        )

    def day_counters(self, run_key: str, day: str) -> tuple[int, int] | None:
        """The daily limits' counters a previous session of ``run_key`` left for ``day`` (UTC), or None.

        Returns (equity at the day's start, notional accepted today), in money units, taking the conservative
        value over every row of that day: the highest start equity (so today's loss counts from the best point)
        and the highest notional."""
        if self.lake is None or not self.lake.files("live_status"):
            return None
        rows = [
            r
            for r in self.lake.read("live_status").to_pylist()
            if (r.get("run_key"), r.get("day"), r.get("_account"), r.get("mode"))
            == (run_key, day, self.account, self.mode)
        ]
        if not rows:
            return None
        start = max(dollars_to_units(r["day_start_equity_dollars"] or 0) for r in rows)
        notional = max(dollars_to_units(r["notional_today_dollars"] or 0) for r in rows)
        return start, notional

    def known_fills(self, run_key: str) -> tuple[set[str], int | None]:
        """The exchange fills earlier live sessions of ``run_key`` recorded (their ``fill_id``s), and where a
        restart's catch-up starts (exchange time, µs): the newest of those fills, else the first status row of the
        run key (no fill of it can be older), else None (a fresh run key: nothing of it can have filled)."""
        if self.lake is None or not self.lake.files("live_sessions"):
            return set(), None
        sessions = {
            r["session_id"]
            for r in self.lake.read("live_sessions").to_pylist()
            if (r.get("run_key"), r.get("mode"), r.get("_account")) == (run_key, "live", self.account)
        }
        if not sessions:
            return set(), None
        prefix = f"kl{run_key}-"
        ids: set[str] = set()
        newest = None
        if self.lake.files("live_fills"):
            for r in self.lake.read("live_fills").to_pylist():
                ours = r["session_id"] in sessions or (r.get("client_order_id") or "").startswith(prefix)
                if ours and r.get("fill_id") and r.get("_account") == self.account:
                    ids.add(r["fill_id"])
                    ts = _ts_us(r["ts"])
                    newest = ts if newest is None else max(newest, ts)
        if newest is not None:
            return ids, newest
        first = None
        if self.lake.files("live_status"):
            for r in self.lake.read("live_status").to_pylist():
                if r["session_id"] in sessions and r.get("ts") is not None:
                    ts = _ts_us(r["ts"])
                    first = ts if first is None else min(first, ts)
        return ids, first

    def flush(self) -> None:
        """Append what is buffered (one part per stream); a lake write error propagates (the runner stops)."""
        for stream, rows in self.rows.items():
            if not rows or self.lake is None:
                continue
            table = pa.Table.from_pylist(rows, schema=_api_schema(stream))
            self.lake.append(stream, table, self.session_id, date_column="at")
            self.written[stream] += len(rows)
            self.rows[stream] = []

    def pending(self, stream: str) -> list[dict]:
        return self.rows[stream]


def _api_schema(stream: str) -> pa.Schema:
    full = arrow_schema(stream)
    return pa.schema([f for f in full if f.name not in ("_loaded_at", "_run_id", "_extra")])


def _ts_us(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp()) * 1_000_000 + value.microsecond


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
