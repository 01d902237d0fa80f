"""Run a backtest end to end: load from the lake → replay → metrics → (optionally) tables and plot."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa

from kalshi_lake.backtest.config import BacktestConfig
from kalshi_lake.backtest.data import ReplayData, load_replay_data
from kalshi_lake.backtest.engine import Engine, RunState
from kalshi_lake.backtest.metrics import MarketResult, Metrics, compute_metrics, market_results
from kalshi_lake.backtest.money import centi_to_contracts, micros_to_dollars, units_to_dollars
from kalshi_lake.backtest.strategy import Strategy

MONEY = pa.decimal128(22, 8)
PRICE = pa.decimal128(18, 6)
COUNT = pa.decimal128(18, 2)
TS = pa.timestamp("us", tz="UTC")


@dataclass
class BacktestResult:
    """Everything a run produced. Tables come out with DECIMAL money (see ``money``)."""

    run_id: str
    strategy: str
    params: dict
    config: BacktestConfig
    selection: dict
    created_at: datetime
    state: RunState
    metrics: Metrics
    markets: list[MarketResult] = field(default_factory=list)

    def fills_table(self) -> pa.Table:
        f = self.state.fills
        return pa.table(
            {
                "run_id": pa.array([self.run_id] * len(f), pa.string()),
                "fill_seq": pa.array([x.seq for x in f], pa.int64()),
                "ts": pa.array([x.ts for x in f], pa.int64()).cast(TS),
                "ticker": pa.array([x.ticker for x in f], pa.string()),
                "order_id": pa.array([x.order_id for x in f], pa.int64()),
                "action": pa.array([x.action for x in f], pa.string()),
                "outcome_side": pa.array([x.outcome for x in f], pa.string()),
                "book_side": pa.array([x.book_side for x in f], pa.string()),
                "count_fp": pa.array([centi_to_contracts(x.count) for x in f], COUNT),
                "yes_price_dollars": pa.array([micros_to_dollars(x.yes_price) for x in f], PRICE),
                "no_price_dollars": pa.array([micros_to_dollars(1_000_000 - x.yes_price) for x in f], PRICE),
                "is_taker": pa.array([x.is_taker for x in f], pa.bool_()),
                "fee_cost": pa.array([units_to_dollars(x.fee) for x in f], MONEY),
                "realized_pnl_dollars": pa.array([units_to_dollars(x.realized) for x in f], MONEY),
                "position_fp": pa.array([centi_to_contracts(x.position_after) for x in f], COUNT),
                "cash_dollars": pa.array([units_to_dollars(x.cash_after) for x in f], MONEY),
                "price_source": pa.array([x.price_source for x in f], pa.string()),
                "quote_age_ms": pa.array(
                    [None if x.quote_age_us is None else Decimal(x.quote_age_us).scaleb(-3) for x in f],
                    pa.decimal128(18, 3),
                ),
                "fee_terms": pa.array([x.fee_terms for x in f], pa.string()),
            }
        )

    def equity_table(self) -> pa.Table:
        e = self.state.equity
        return pa.table(
            {
                "run_id": pa.array([self.run_id] * len(e), pa.string()),
                "seq": pa.array(range(1, len(e) + 1), pa.int64()),
                "ts": pa.array([x[0] for x in e], pa.int64()).cast(TS),
                "cash_dollars": pa.array([units_to_dollars(x[1]) for x in e], MONEY),
                "positions_value_dollars": pa.array([units_to_dollars(x[2]) for x in e], MONEY),
                "equity_dollars": pa.array([units_to_dollars(x[1] + x[2]) for x in e], MONEY),
            }
        )

    def positions_table(self) -> pa.Table:
        m = self.markets
        return pa.table(
            {
                "run_id": pa.array([self.run_id] * len(m), pa.string()),
                "ticker": pa.array([x.ticker for x in m], pa.string()),
                "position_fp": pa.array([x.position for x in m], COUNT),
                "mark_dollars": pa.array([x.mark for x in m], PRICE),
                "realized_pnl_dollars": pa.array([x.realized for x in m], MONEY),
                "unrealized_pnl_dollars": pa.array([x.unrealized for x in m], MONEY),
                "fees_paid_dollars": pa.array([x.fees for x in m], MONEY),
                "pnl_dollars": pa.array([x.pnl for x in m], MONEY),
                "traded_dollars": pa.array([x.traded for x in m], MONEY),
                "fills": pa.array([x.fills for x in m], pa.int64()),
                "settled": pa.array([x.settled for x in m], pa.bool_()),
                "settlement_value_dollars": pa.array([x.settlement_value for x in m], PRICE),
            }
        )

    def summary(self) -> dict:
        """Metrics as a plain dict (Decimals kept)."""
        out = asdict(self.metrics)
        out["events_per_minute"] = self.metrics.events_per_minute
        return out


def run_backtest(
    strategy: Strategy,
    lake_root: str | None = None,
    *,
    data: ReplayData | None = None,
    series: list[str] | None = None,
    tickers: list[str] | None = None,
    events: list[str] | None = None,
    start=None,
    end=None,
    config: BacktestConfig | None = None,
    candle_interval: int | None = None,
) -> BacktestResult:
    """Replay the lake (or a pre-loaded ``data``) through ``strategy`` and compute its metrics."""
    config = config or BacktestConfig()
    if data is None:
        if lake_root is None:
            raise ValueError("run_backtest needs lake_root or data")
        data = load_replay_data(
            str(lake_root),
            series=series,
            tickers=tickers,
            events=events,
            start=start,
            end=end,
            include_candles=True,  # their bid/ask closes are quotes, even for strategies that ignore candles
            candle_interval=candle_interval,
        )
    state = Engine(data, strategy, config).run()
    now = datetime.now(UTC)
    selection = {
        "lake_root": str(lake_root) if lake_root is not None else None,
        "series": series,
        "tickers": tickers,
        "events": events,
        "start": _iso(start),
        "end": _iso(end),
        "markets": len(data.markets),
    }
    return BacktestResult(
        run_id=f"bt-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}",
        strategy=strategy.name,
        params=strategy.params,
        config=config,
        selection=selection,
        created_at=now,
        state=state,
        metrics=compute_metrics(state),
        markets=market_results(state),
    )


def _iso(value) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def to_json(value) -> str:
    """JSON with Decimals as strings (exact) for params/config columns."""

    def default(o):
        if isinstance(o, Decimal):
            return str(o)
        if isinstance(o, datetime):
            return o.isoformat()
        raise TypeError(f"cannot serialise {type(o).__name__}")

    return json.dumps(value, default=default, sort_keys=True)
